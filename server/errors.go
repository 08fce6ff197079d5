package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/estimator"
)

var codeOf = map[estimator.Code]codes.Code{
	estimator.EInvalid:            codes.InvalidArgument,
	estimator.ENotFound:           codes.NotFound,
	estimator.EAlreadyExists:      codes.AlreadyExists,
	estimator.EPermissionDenied:   codes.PermissionDenied,
	estimator.EUnauthenticated:    codes.Unauthenticated,
	estimator.EFailedPrecondition: codes.FailedPrecondition,
	estimator.EResourceExhausted:  codes.ResourceExhausted,
	estimator.EOutOfRange:         codes.OutOfRange,
	estimator.EUnavailable:        codes.Unavailable,
	estimator.EDataLoss:           codes.DataLoss,
}

// toStatus is the one place that maps domain errors to gRPC statuses. Field
// violations travel as google.rpc.BadRequest details. Errors the domain did
// not classify become Internal with a generic message, and are logged here,
// so internal detail (paths, bbolt messages) never reaches a caller.
func (s *Server) toStatus(ctx context.Context, err error) *status.Status {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	var e *estimator.Error
	if !errors.As(err, &e) || codeOf[e.Code] == codes.OK {
		s.log.ErrorContext(ctx, "internal error", slog.Any("error", err))
		return status.New(codes.Internal, "internal error")
	}
	st := status.New(codeOf[e.Code], e.Message)
	if len(e.Violations) == 0 {
		return st
	}
	br := &errdetails.BadRequest{}
	for _, v := range e.Violations {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
	}
	if withDetails, derr := st.WithDetails(br); derr == nil {
		return withDetails
	}
	return st
}

func (s *Server) toError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return s.toStatus(ctx, err).Err()
}

// toProtoStatus is toStatus for statuses carried inside a stream response.
func (s *Server) toProtoStatus(ctx context.Context, err error) *spb.Status {
	return s.toStatus(ctx, err).Proto()
}

func invalid(msg string, vs ...estimator.FieldViolation) error {
	return estimator.Invalid(msg, vs)
}
