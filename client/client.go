// Package client is the Go library for computescale: a connection with the
// caller's token on every call, typed query helpers with a deadline on every
// unary call, and an ingest helper that batches records, waits for acks in
// order and resends unacknowledged batches after a transport failure (safe,
// because the server treats a re-sent identical record as a no-op).
package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// DefaultTimeout bounds every unary call made through the helpers.
const DefaultTimeout = 10 * time.Second

// Client is a connection to a computescale server. Its service stubs are
// exported for calls the helpers do not cover.
type Client struct {
	conn    *grpc.ClientConn
	timeout time.Duration
	// watches carries every Watch on one stream (watchmux.go); made on
	// the first Watch.
	watchOnce sync.Once
	watches   *watchMux

	Chips   pb.ChipServiceClient
	Ingest  pb.IngestServiceClient
	Compute pb.ComputeServiceClient
}

type options struct {
	token    string
	tls      *tls.Config
	timeout  time.Duration
	dialOpts []grpc.DialOption
	// dialTimeout, when set, makes New connect eagerly (dial.go).
	dialTimeout time.Duration
}

// Option configures New.
type Option func(*options)

// WithToken sends token as a bearer token on every call.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTLS dials with TLS; without it the connection is plaintext, which is
// meant for loopback and tests.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithTimeout sets the deadline of unary helper calls (default 10 s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithDialOptions adds raw grpc dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

// New connects lazily to addr (host:port), so that the first call dials,
// unless WithDialTimeout asks it to connect first. In cluster mode addr may
// list several nodes, "host:port,host:port,...": calls are spread over them
// round robin and fail over to the nodes that are up (endpoints.go).
func New(addr string, opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	// Wait-for-ready: a call made while the connection is re-establishing
	// (a server restart, a rolling deploy) waits for it within the call's
	// deadline instead of failing at once with Unavailable.
	serviceConfig, target := readRetryPolicy, addr
	var extra []grpc.DialOption
	if addrs := splitEndpoints(addr); len(addrs) > 1 {
		serviceConfig = roundRobin(readRetryPolicy)
		target, extra = multiTarget(addrs, o.tls != nil)
	}
	dial := append([]grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
		grpc.WithDefaultServiceConfig(serviceConfig),
	}, extra...)
	dial = append(dial, o.dialOpts...)
	if o.tls != nil {
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(o.tls)))
	} else {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if o.token != "" {
		dial = append(dial, grpc.WithPerRPCCredentials(bearer{token: o.token, secure: o.tls != nil}))
	}
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		return nil, fmt.Errorf("computescale client for %s: %w", addr, err)
	}
	c := &Client{
		conn: conn, timeout: o.timeout,
		Chips: pb.NewChipServiceClient(conn), Ingest: pb.NewIngestServiceClient(conn),
		Compute: pb.NewComputeServiceClient(conn),
	}
	if o.dialTimeout > 0 {
		if err := c.connect(addr, o.dialTimeout); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return c, nil
}

// readRetryPolicy retries the read-only RPCs on UNAVAILABLE. A call sent on a
// connection that the server has just closed (a restart, a drain) fails that
// way although nothing was done, and reads are safe to repeat. Writes are
// not retried here: the ingest helper resends whole batches itself, where
// the protocol makes it safe.
const readRetryPolicy = `{"methodConfig": [{
  "name": [
    {"service": "computescale.v1.ComputeService"},
    {"service": "computescale.v1.ChipService", "method": "GetChipSpec"},
    {"service": "computescale.v1.ChipService", "method": "ListChipSpecs"},
    {"service": "computescale.v1.IndexService", "method": "GetIndex"},
    {"service": "computescale.v1.IndexService", "method": "ListIndex"},
    {"service": "computescale.v1.IndexService", "method": "GetMethodology"},
    {"service": "computescale.v1.IndexService", "method": "EvaluateWeights"},
    {"service": "computescale.v1.IndexService", "method": "AnalyzeRelationship"}
  ],
  "retryPolicy": {
    "maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "1s",
    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]
  }
}]}`

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn returns the underlying connection, e.g. for the health service.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// unary gives ctx the client's deadline unless it already has a sooner one.
func (c *Client) unary(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeout)
}

type bearer struct {
	token  string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only for plaintext connections, which
// New makes only when no TLS config was given (loopback, tests).
func (b bearer) RequireTransportSecurity() bool { return b.secure }
