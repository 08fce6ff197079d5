// Package server is computescale's gRPC layer: thin handlers that check a
// request, convert it to the domain (package estimator), call the store, and
// convert back; the interceptors that authenticate, log and recover; and the
// single mapping from domain errors to gRPC statuses (errors.go).
package server

import (
	"context"
	"fmt"
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
	MaxBatchRecords int              // records per ingest batch
	MaxRecvMsgBytes int              // largest request message
	Now             func() time.Time // clock, for the "up to next year" rule
	// WatchBuffer is how many responses a watcher may fall behind before it
	// is cut off (default 256).
	WatchBuffer int
	// ProgressInterval is how often an idle watch with progress_notify hears
	// the current revision (default 10 s).
	ProgressInterval time.Duration
	// WatchRetention is how many revisions of watch history to keep; older
	// entries are compacted once a minute. 0 keeps everything.
	WatchRetention uint64
}

// Server implements the computescale.v1 services.
type Server struct {
	pb.UnimplementedChipServiceServer
	pb.UnimplementedIngestServiceServer
	pb.UnimplementedComputeServiceServer
	pb.UnimplementedIndexServiceServer
	pb.UnimplementedWatchServiceServer
	pb.UnimplementedAdminServiceServer

	store    *store.DB
	tokens   *Tokens
	log      *slog.Logger
	maxBatch int
	maxRecv  int
	now      func() time.Time
	health   *health.Server

	hub           *hub
	progressEvery time.Duration
}

// New returns a Server for cfg; Close stops what it starts.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, tokens: cfg.Tokens, log: cfg.Logger,
		maxBatch: cfg.MaxBatchRecords, maxRecv: cfg.MaxRecvMsgBytes, now: cfg.Now,
		health: health.NewServer(), progressEvery: cfg.ProgressInterval,
	}
	if s.tokens == nil {
		s.tokens = NewTokens()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
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
	if s.progressEvery <= 0 {
		s.progressEvery = 10 * time.Second
	}
	if cfg.WatchBuffer <= 0 {
		cfg.WatchBuffer = 256
	}
	h, err := newHub(s.store, s.log, cfg.WatchBuffer, cfg.WatchRetention)
	if err != nil {
		return nil, fmt.Errorf("start watch hub: %w", err)
	}
	s.hub = h
	s.store.OnCommit(h.notify)
	// NOT_SERVING until Serve says otherwise: probes must not route traffic
	// to a server that is still starting.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// Close ends every watch stream with Unavailable and stops the hub. Call it
// before grpc's GracefulStop, which would otherwise wait for those streams.
func (s *Server) Close() {
	s.SetServing(false)
	s.store.OnCommit(func() {})
	s.hub.close()
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
	pb.RegisterIndexServiceServer(g, s)
	pb.RegisterWatchServiceServer(g, s)
	pb.RegisterAdminServiceServer(g, s)
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
	for _, svc := range []string{pb.ChipService_ServiceDesc.ServiceName, pb.IngestService_ServiceDesc.ServiceName, pb.ComputeService_ServiceDesc.ServiceName, pb.IndexService_ServiceDesc.ServiceName,
		pb.WatchService_ServiceDesc.ServiceName, pb.AdminService_ServiceDesc.ServiceName} {
		s.health.SetServingStatus(svc, st)
	}
}

// maxYear is the latest year a record may carry: next year, so that vendors
// can file forward-dated contracts but typos like 2204 are refused.
func (s *Server) maxYear() int { return s.now().Year() + 1 }
