package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Limits are the server's explicit bounds; zero values take the defaults.
type Limits struct {
	MaxConcurrentStreams uint32        // per connection (default 256)
	ConnectionTimeout    time.Duration // TLS/HTTP2 handshake (default 10 s)
	// CallsPerSecond bounds RPCs (unary calls and stream opens) per caller,
	// with a burst of as many; 0 means no bound.
	CallsPerSecond float64
	// IngestRecordsPerSecond bounds records and observations per caller.
	// A batch waits for its share (backpressure through the stream) up to
	// MaxIngestWait, and is rejected with RESOURCE_EXHAUSTED beyond it.
	// 0 means no bound.
	IngestRecordsPerSecond float64
	MaxIngestWait          time.Duration // default 5 s
}

func (l Limits) withDefaults() Limits {
	if l.MaxConcurrentStreams == 0 {
		l.MaxConcurrentStreams = 256
	}
	if l.ConnectionTimeout <= 0 {
		l.ConnectionTimeout = 10 * time.Second
	}
	if l.MaxIngestWait <= 0 {
		l.MaxIngestWait = 5 * time.Second
	}
	return l
}

// serverOptions are the transport limits. Keepalive enforcement refuses
// clients that ping more often than every 10 s (a misbehaving client cannot
// keep the server busy with pings), while the server itself pings idle
// connections every 30 s and drops peers that do not answer in 10 s, so dead
// connections (and their watch streams) are noticed.
func (l Limits) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(l.MaxConcurrentStreams),
		grpc.ConnectionTimeout(l.ConnectionTimeout),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	}
}

// callerLimiters keeps one token bucket per caller name. Callers come from
// the token file, so the map is bounded by it.
type callerLimiters struct {
	mu    sync.Mutex
	per   rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newCallerLimiters(perSecond float64, burst int) *callerLimiters {
	if perSecond <= 0 {
		return nil
	}
	return &callerLimiters{per: rate.Limit(perSecond), burst: max(burst, 1), m: map[string]*rate.Limiter{}}
}

func (c *callerLimiters) get(name string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[name]
	if !ok {
		l = rate.NewLimiter(c.per, c.burst)
		c.m[name] = l
	}
	return l
}

// Limit implements the go-grpc-middleware ratelimit.Limiter per caller; it
// runs after auth, so the caller is known (public methods pass).
func (c *callerLimiters) Limit(ctx context.Context) error {
	if c == nil {
		return nil
	}
	id, ok := IdentityFrom(ctx)
	if !ok {
		return nil
	}
	if !c.get(id.Name).Allow() {
		return status.Errorf(codes.ResourceExhausted, "rate limit: caller %s may make %g calls a second", id.Name, float64(c.per))
	}
	return nil
}

// waitRecords takes n tokens from the caller's ingest bucket, waiting at most
// maxWait; a batch larger than the burst can never fit and is refused.
func (c *callerLimiters) waitRecords(ctx context.Context, name string, n int, maxWait time.Duration) error {
	if c == nil {
		return nil
	}
	l := c.get(name)
	r := l.ReserveN(time.Now(), n)
	if !r.OK() {
		return status.Errorf(codes.ResourceExhausted, "rate limit: a batch of %d is over caller %s's burst of %d", n, name, c.burst)
	}
	delay := r.Delay()
	if delay > maxWait {
		r.Cancel()
		return status.Errorf(codes.ResourceExhausted, "rate limit: caller %s is over %g records a second; retry in %s", name, float64(c.per), delay.Round(time.Millisecond))
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return fmt.Errorf("waiting for the ingest rate limit: %w", ctx.Err())
	}
}
