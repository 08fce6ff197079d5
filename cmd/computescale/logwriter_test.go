package main

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// countingBuffer is the log's destination, read while the flusher writes.
type countingBuffer struct {
	lockedBuffer
	writes int
}

func (b *countingBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.writes++
	b.mu.Unlock()
	return b.lockedBuffer.Write(p)
}

func TestLogWriterHoldsInfoAndFlushesErrorsAndClose(t *testing.T) {
	out := &countingBuffer{}
	cfg := serveConfig{logFormat: "json", logLevel: "info", logFlush: time.Hour}
	log, closeLog, err := cfg.logger(out)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("first")
	log.Warn("second")
	if got := out.String(); got != "" {
		t.Fatalf("info and warn lines written before a flush: %q", got)
	}
	log.Error("third")
	got := out.String()
	for _, want := range []string{`"msg":"first"`, `"msg":"second"`, `"msg":"third"`} {
		if !strings.Contains(got, want) {
			t.Errorf("after an error line, %s is missing from %q", want, got)
		}
	}
	out.mu.Lock()
	writes := out.writes
	out.mu.Unlock()
	if writes != 1 {
		t.Errorf("%d writes for three lines, want 1", writes)
	}
	log.With("k", "v").Info("fourth")
	log.WithGroup("g").Error("fifth") // the wrapper survives With and WithGroup
	if !strings.Contains(out.String(), `"msg":"fifth"`) {
		t.Errorf("an error through WithGroup was held back: %q", out.String())
	}
	log.Info("sixth")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"msg":"sixth"`) {
		t.Errorf("Close did not flush: %q", out.String())
	}
	log.Info("seventh") // after Close: written at once, not lost
	if !strings.Contains(out.String(), `"msg":"seventh"`) {
		t.Errorf("a line after Close was lost: %q", out.String())
	}
	if err := closeLog(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLogWriterFlushesPeriodically(t *testing.T) {
	out := &countingBuffer{}
	cfg := serveConfig{logFormat: "text", logLevel: "info", logFlush: 10 * time.Millisecond}
	log, closeLog, err := cfg.logger(out)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				log.Info("line", "g", i, "j", j)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < 400 {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, %d of 400 lines written", strings.Count(out.String(), "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogUnbufferedWithoutInterval(t *testing.T) {
	out := &countingBuffer{}
	cfg := serveConfig{logFormat: "text", logLevel: "info"}
	log, closeLog, err := cfg.logger(out)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	log.Info("now")
	if !strings.Contains(out.String(), "msg=now") {
		t.Errorf("with no flush interval a line waited: %q", out.String())
	}
}
