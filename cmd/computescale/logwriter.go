package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logWriter buffers the server's log lines. Unbuffered, every line is one
// write syscall, made under the slog handler's lock, so at thousands of calls
// a second (one line each) the log costs more than many of the calls. Lines
// go out when the buffer fills, every interval, at once for a line at error
// level (flushOnError), and on Close: a crash or SIGKILL can lose at most the
// last interval's lines below error level.
type logWriter struct {
	mu     sync.Mutex
	out    io.Writer
	buf    *bufio.Writer // nil once closed: lines then go straight to out
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

const logBufferSize = 64 << 10

// newLogWriter starts flushing to out every interval.
func newLogWriter(out io.Writer, interval time.Duration) *logWriter {
	l := &logWriter{out: out, buf: bufio.NewWriterSize(out, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				l.Flush()
			case <-l.stop:
				return
			}
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		return l.out.Write(p)
	}
	return l.buf.Write(p)
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf == nil {
		return nil
	}
	return l.buf.Flush()
}

// Close flushes and stops the flusher; later lines are written unbuffered,
// so that a goroutine still logging during shutdown loses nothing.
func (l *logWriter) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	err := l.buf.Flush()
	l.buf = nil
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	return err
}

// flushOnError is a slog handler that flushes its logWriter after each
// record at error level or above, so that an error is never held back.
type flushOnError struct {
	slog.Handler
	w *logWriter
}

func (h flushOnError) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelError {
		if ferr := h.w.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushOnError) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnError{h.Handler.WithAttrs(attrs), h.w}
}

func (h flushOnError) WithGroup(name string) slog.Handler {
	return flushOnError{h.Handler.WithGroup(name), h.w}
}
