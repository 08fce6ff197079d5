// Package server is computescale's gRPC layer: thin handlers that check a
// request, convert it to the domain (package estimator), call the store, and
// convert back; the interceptors that authenticate, log and recover; and the
// single mapping from domain errors to gRPC statuses (errors.go).
package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// Defaults for Config's limits.
const (
	DefaultMaxBatchRecords = 10_000
	DefaultMaxRecvMsgBytes = 32 << 20
)

// Config is what a Server needs; zero values take the defaults.
type Config struct {
	Store           *store.DB
	Tokens          *Tokens
	Logger          *slog.Logger
	Factors         estimator.Factors // FP32-equivalent conversion; zero means DefaultFactors
	MaxBatchRecords int               // records per ingest batch
	MaxRecvMsgBytes int               // largest request message
	Now             func() time.Time  // clock, for the "up to next year" rule
}

// Server implements the computescale.v1 services.
type Server struct {
	pb.UnimplementedChipServiceServer
	pb.UnimplementedIngestServiceServer
	pb.UnimplementedComputeServiceServer

	store    *store.DB
	tokens   *Tokens
	log      *slog.Logger
	factors  estimator.Factors
	maxBatch int
	maxRecv  int
	now      func() time.Time
	health   *health.Server
}

// New returns a Server for cfg.
func New(cfg Config) *Server {
	s := &Server{
		store: cfg.Store, tokens: cfg.Tokens, log: cfg.Logger, factors: cfg.Factors,
		maxBatch: cfg.MaxBatchRecords, maxRecv: cfg.MaxRecvMsgBytes, now: cfg.Now,
		health: health.NewServer(),
	}
	if s.tokens == nil {
		s.tokens = NewTokens()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.factors == (estimator.Factors{}) {
		s.factors = estimator.DefaultFactors()
	}
	if s.maxBatch <= 0 {
		s.maxBatch = DefaultMaxBatchRecords
	}
	if s.maxRecv <= 0 {
		s.maxRecv = DefaultMaxRecvMsgBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	// NOT_SERVING until Serve says otherwise: probes must not route traffic
	// to a server that is still starting.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s
}

// GRPCServer builds a *grpc.Server with every computescale service, health
// and reflection registered. Interceptors run outermost first: logging (so it
// sees the final code and duration of every call, including refusals), auth,
// then recovery (innermost, so a handler's panic becomes an Internal status
// that logging still reports).
func (s *Server) GRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithDurationField(logging.DurationToDurationField),
	}
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		s.log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	recoverOpt := recovery.WithRecoveryHandlerContext(func(ctx context.Context, p any) error {
		s.log.ErrorContext(ctx, "panic in handler", slog.Any("panic", p))
		return status.Error(codes.Internal, "internal error")
	})
	opts := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.maxRecv),
		grpc.ChainUnaryInterceptor(
			logging.UnaryServerInterceptor(logger, logOpts...),
			auth.UnaryServerInterceptor(s.authenticate),
			recovery.UnaryServerInterceptor(recoverOpt),
		),
		grpc.ChainStreamInterceptor(
			logging.StreamServerInterceptor(logger, logOpts...),
			auth.StreamServerInterceptor(s.authenticate),
			recovery.StreamServerInterceptor(recoverOpt),
		),
	}, extra...)
	g := grpc.NewServer(opts...)
	pb.RegisterChipServiceServer(g, s)
	pb.RegisterIngestServiceServer(g, s)
	pb.RegisterComputeServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	return g
}

// SetServing flips the health status that probes see.
func (s *Server) SetServing(serving bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	for _, svc := range []string{pb.ChipService_ServiceDesc.ServiceName, pb.IngestService_ServiceDesc.ServiceName, pb.ComputeService_ServiceDesc.ServiceName} {
		s.health.SetServingStatus(svc, st)
	}
}

// maxYear is the latest year a record may carry: next year, so that vendors
// can file forward-dated contracts but typos like 2204 are refused.
func (s *Server) maxYear() int { return s.now().Year() + 1 }
