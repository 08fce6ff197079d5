package server

import (
	"context"
	"log/slog"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
)

// callLogOptions configure go-grpc-middleware's logging interceptor: one
// line per call, when it finishes, with method, code, duration and caller.
func (s *Server) callLogOptions() []logging.Option {
	return []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithDurationField(logging.DurationToDurationField),
	}
}

// logCall is the logging interceptor's Logger.
func (s *Server) logCall(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
	s.log.Log(ctx, slog.Level(lvl), msg, fields...)
}
