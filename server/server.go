// Package server is computescale's gRPC layer: thin handlers that check a
// request, convert it to the domain (package estimator), call the store, and
// convert back; the interceptors that authenticate, log and recover; and the
// single mapping from domain errors to gRPC statuses (errors.go).
package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/ratelimit"
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
	Store           store.Store
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
	Limits         Limits
	// KeepUncertainty runs the worker that keeps every touched year's
	// default rank-uncertainty analysis current after writes
	// (uncertainty_worker.go); off, analyses are computed on demand only.
	KeepUncertainty bool
	// ReadWaitLimit bounds how long a read in cluster mode waits for this
	// node to apply its min_revision (or etcd's current revision) before it
	// is UNAVAILABLE; 0 means 5 s. Single-node mode never waits.
	ReadWaitLimit time.Duration
}

// Server implements the computescale.v1 services.
type Server struct {
	pb.UnimplementedChipServiceServer
	pb.UnimplementedIngestServiceServer
	pb.UnimplementedComputeServiceServer
	pb.UnimplementedIndexServiceServer
	pb.UnimplementedWatchServiceServer
	pb.UnimplementedAdminServiceServer

	store    store.Store
	tokens   *Tokens
	log      *slog.Logger
	maxBatch int
	maxRecv  int
	now      func() time.Time
	health   *health.Server

	hub           *hub
	draining      chan struct{} // closed by Close: ingest streams end
	closeOnce     sync.Once
	progressEvery time.Duration
	limits        Limits
	calls         *callerLimiters // RPCs per caller
	records       *callerLimiters // ingested records per caller
	metrics       *metrics
	scores        *revCache[scoreKey, scoreEntry]
	totals        *revCache[totalsKey, *pb.ComputeTotals]
	indexes       *revCache[indexKey, *pb.IndexScore]
	uncertainties *revCache[uncertaintyKey, uncertaintyEntry] // on-demand analyses
	uncertainty   *keptUncertainty                            // the kept ones (uncertainty_worker.go)
	analysing     chan struct{}                               // one analysis at a time
	// afterSnapshot, if set (tests), runs after an analysis has read its
	// inputs and before it computes.
	afterSnapshot func(rev uint64)
	stopWorkers   context.CancelFunc
	workers       sync.WaitGroup
	seen          atomic.Uint64                              // see revision (cache.go)
	methodLogs    atomic.Pointer[map[methodKey]slog.Handler] // see methodLog (calllog.go)
	readWait      time.Duration                              // see awaitRevision (cluster.go)
}

// New returns a Server for cfg; Close stops what it starts.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store: cfg.Store, tokens: cfg.Tokens, log: cfg.Logger,
		maxBatch: cfg.MaxBatchRecords, maxRecv: cfg.MaxRecvMsgBytes, now: cfg.Now,
		health: health.NewServer(), progressEvery: cfg.ProgressInterval, limits: cfg.Limits.withDefaults(),
		draining: make(chan struct{}), readWait: cfg.ReadWaitLimit,
		scores:  newRevCache[scoreKey, scoreEntry](64),
		totals:  newRevCache[totalsKey, *pb.ComputeTotals](1024),
		indexes: newRevCache[indexKey, *pb.IndexScore](1024),
	}
	if s.tokens == nil {
		s.tokens = NewTokens()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.methodLogs.Store(&map[methodKey]slog.Handler{})
	if s.maxBatch <= 0 {
		s.maxBatch = DefaultMaxBatchRecords
	}
	if s.maxRecv <= 0 {
		s.maxRecv = DefaultMaxRecvMsgBytes
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.readWait <= 0 {
		s.readWait = 5 * time.Second
	}
	if s.progressEvery <= 0 {
		s.progressEvery = 10 * time.Second
	}
	if cfg.WatchBuffer <= 0 {
		cfg.WatchBuffer = 256
	}
	s.hub = newHub(s.store, s.log, cfg.WatchBuffer, cfg.WatchRetention)
	s.uncertainties = newRevCache[uncertaintyKey, uncertaintyEntry](16)
	s.uncertainty = newKeptUncertainty()
	s.uncertainty.publish = func(e uncertaintyEntry) { s.hub.offerUncertainty(uncertaintyEvent(e)) }
	s.hub.latest = func() []*pb.Event {
		var out []*pb.Event
		for _, e := range s.uncertainty.latest() {
			out = append(out, uncertaintyEvent(e))
		}
		return out
	}
	s.analysing = make(chan struct{}, 1)
	ctx, stop := context.WithCancel(context.Background())
	s.stopWorkers = stop
	s.calls = newCallerLimiters(s.limits.CallsPerSecond, int(max(s.limits.CallsPerSecond, 1)))
	// The burst admits one full batch, so any legal batch can pass.
	s.records = newCallerLimiters(s.limits.IngestRecordsPerSecond, max(int(s.limits.IngestRecordsPerSecond), s.maxBatch))
	s.metrics = newMetrics(s)
	if cfg.KeepUncertainty { // last: the worker observes metrics
		from := s.store.Revision() + 1
		s.workers.Go(func() { s.runUncertainty(ctx, from) })
	}
	// NOT_SERVING until Serve says otherwise: probes must not route traffic
	// to a server that is still starting.
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	return s, nil
}

// Close turns health NOT_SERVING, ends every watch stream with Unavailable,
// lets each ingest stream finish the batch in hand (its ack goes out) and
// end with Unavailable, and stops the hub. Call it
// before grpc's GracefulStop, which would otherwise wait for those streams.
func (s *Server) Close() {
	s.SetServing(false)
	s.closeOnce.Do(func() { close(s.draining) })
	s.stopWorkers()
	s.workers.Wait()
	s.hub.close()
}

// GRPCServer builds a *grpc.Server with every computescale service, health
// and reflection registered; extra carries transport credentials. The
// interceptors run outermost first:
//
//  1. metrics, so every call is counted with its final code, refusals too;
//  2. logging, one line per call with method, code, duration and caller;
//  3. auth, which attaches the caller (and names it to the logger);
//  4. the malformed-request check (malformed.go): a request the codec
//     could not decode is InvalidArgument, not grpc's Internal;
//  5. the per-caller rate limit, which needs the caller;
//  6. recovery, innermost, so a handler's panic becomes Internal and is
//     still logged and counted by the layers above.
//
// Request validation is not an interceptor: the handlers check requests
// against the domain's rules (estimator), so that there is one definition of
// a valid record, shared with the store and the tools.
func (s *Server) GRPCServer(extra ...grpc.ServerOption) *grpc.Server {
	opts := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(s.maxRecv),
		s.codecOption(), // watch responses marshalled once per filter, not per stream (codec.go)
		grpc.ChainUnaryInterceptor(s.unaryInterceptors()...),
		grpc.ChainStreamInterceptor(s.streamInterceptors()...),
	}, s.limits.serverOptions()...)
	opts = append(opts, extra...)
	g := grpc.NewServer(opts...)
	pb.RegisterChipServiceServer(g, s)
	pb.RegisterIngestServiceServer(g, s)
	pb.RegisterComputeServiceServer(g, s)
	pb.RegisterIndexServiceServer(g, s)
	pb.RegisterWatchServiceServer(g, s)
	pb.RegisterAdminServiceServer(g, s)
	healthpb.RegisterHealthServer(g, s.health)
	reflection.Register(g)
	s.metrics.initialize(g)
	return g
}

// unaryInterceptors and streamInterceptors are the chain of GRPCServer, in
// its order; the benchmarks run the same slices in process.
func (s *Server) unaryInterceptors() []grpc.UnaryServerInterceptor {
	is := []grpc.UnaryServerInterceptor{
		s.metrics.unary.UnaryServerInterceptor(),
		logging.UnaryServerInterceptor(logging.LoggerFunc(s.logCall), s.callLogOptions()...),
		auth.UnaryServerInterceptor(s.authenticate),
		rejectMalformedUnary,
		ratelimit.UnaryServerInterceptor(s.calls),
	}
	if w, ok := s.store.(revisionWaiter); ok {
		is = append(is, s.awaitRevision(w)) // cluster mode (cluster.go)
	}
	return append(is, recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(s.recovered)))
}

func (s *Server) streamInterceptors() []grpc.StreamServerInterceptor {
	return []grpc.StreamServerInterceptor{
		s.metrics.stream.StreamServerInterceptor(),
		logging.StreamServerInterceptor(logging.LoggerFunc(s.logCall), s.callLogOptions()...),
		auth.StreamServerInterceptor(s.authenticate),
		rejectMalformedStream,
		ratelimit.StreamServerInterceptor(s.calls),
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(s.recovered)),
	}
}

// recovered turns a handler's panic into Internal, logged with the panic
// value but never shown to the caller.
func (s *Server) recovered(ctx context.Context, p any) error {
	s.log.ErrorContext(ctx, "panic in handler", slog.Any("panic", p))
	return status.Error(codes.Internal, "internal error")
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
