package server

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
)

// callLogOptions configure go-grpc-middleware's logging interceptor: one
// line per call, when it finishes, with method, code, duration and caller.
//
// The empty timestamp format makes the middleware's per-call
// "grpc.start_time" (and "grpc.request.deadline") cost nothing: formatting
// them is most of its start-of-call work besides the fields themselves.
// logCall leaves the start time out (it is the line's time minus
// grpc.duration) and formats the deadline itself, only when there is one.
func (s *Server) callLogOptions() []logging.Option {
	return []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithDurationField(durationSeconds),
		logging.WithTimestampFormat(""),
	}
}

// durationSeconds logs grpc.duration as a number of seconds (a float), the
// unit Prometheus and most log pipelines expect, rather than the middleware's
// Go duration string ("1.2ms"), which a JSON consumer cannot sum or compare.
func durationSeconds(d time.Duration) logging.Fields {
	return logging.Fields{"grpc.duration", d.Seconds()}
}

// Fields of the middleware that logCall leaves out or replaces.
const (
	startTimeField = "grpc.start_time"
	deadlineField  = "grpc.request.deadline"
)

// logCall is the logging interceptor's Logger. It hands the record to the
// slog handler itself rather than through slog.Logger.Log, which would
// capture the caller's program counter (a stack walk per call, for a source
// location that would always point into the middleware) and grow the
// record's attributes one at a time. The method's own fields go to a
// handler that has them already formatted (methodLog). It also leaves out
// the middleware's fields that carry nothing here: "protocol" and
// "grpc.component" are the same on every line of a gRPC server, and
// "grpc.start_time" is the line's own time minus grpc.duration. ctx is the
// one the call arrived with, so its deadline is the caller's.
func (s *Server) logCall(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
	h := s.log.Handler()
	level := slog.Level(lvl)
	if !h.Enabled(ctx, level) {
		return
	}
	var m methodKey
	var buf [16]slog.Attr
	attrs := buf[:0]
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		switch k {
		case logging.SystemTag[0], logging.ComponentFieldKey, startTimeField, deadlineField:
			continue
		case logging.ServiceFieldKey:
			if m.service, _ = fields[i+1].(string); m.service != "" {
				continue
			}
		case logging.MethodFieldKey:
			if m.method, _ = fields[i+1].(string); m.method != "" {
				continue
			}
		case logging.MethodTypeFieldKey:
			if m.typ, _ = fields[i+1].(string); m.typ != "" {
				continue
			}
		}
		attrs = append(attrs, slog.Any(k, fields[i+1]))
	}
	if m.service != "" && m.method != "" && m.typ != "" {
		h = s.methodLog(h, m)
	} else if m != (methodKey{}) {
		// Not the middleware's usual fields: no shortcut, nothing lost.
		attrs = append(attrs, slog.String(logging.ServiceFieldKey, m.service), slog.String(logging.MethodFieldKey, m.method), slog.String(logging.MethodTypeFieldKey, m.typ))
	}
	if d, ok := ctx.Deadline(); ok {
		attrs = append(attrs, slog.String(deadlineField, d.Format(time.RFC3339)))
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs...)
	_ = h.Handle(ctx, r)
}

// methodKey names a method as the logging middleware's fields do.
type methodKey struct{ service, method, typ string }

// methodLog returns base with the method's fields attached by WithAttrs,
// which formats them once instead of on every line; the line reads the same
// (they come first either way). Only registered methods reach the
// interceptors, so there are as many entries as methods. The map is copied
// on write: reads, one per call, take no lock.
func (s *Server) methodLog(base slog.Handler, m methodKey) slog.Handler {
	if h, ok := (*s.methodLogs.Load())[m]; ok {
		return h
	}
	h := base.WithAttrs([]slog.Attr{
		slog.String(logging.ServiceFieldKey, m.service),
		slog.String(logging.MethodFieldKey, m.method),
		slog.String(logging.MethodTypeFieldKey, m.typ),
	})
	for {
		old := s.methodLogs.Load()
		if _, ok := (*old)[m]; ok {
			return h
		}
		n := make(map[methodKey]slog.Handler, len(*old)+1)
		maps.Copy(n, *old)
		n[m] = h
		if s.methodLogs.CompareAndSwap(old, &n) {
			return h
		}
	}
}
