package client

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// WithDialTimeout makes New connect before it returns, for at most d, and
// fail at once when the connection cannot be made (refused, a TLS handshake
// that fails, a name that does not resolve) with the transport's reason.
// Without it New connects lazily and calls wait for the connection within
// their own deadline (WithTimeout), so a wrong address or certificate shows
// only when that deadline expires, as a bare DeadlineExceeded. The two are
// separate, as in etcd's client: a short dial timeout for an interactive
// command, a call timeout sized for the work.
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// connect waits for the connection to be ready, for at most d. The first
// failed attempt ends the wait: a command line wants the reason now, and a
// later attempt would fail the same way.
func (c *Client) connect(addr string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c.conn.Connect()
	for {
		s := c.conn.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			return fmt.Errorf("connect to %s: %w", addr, c.connectionError(ctx))
		}
		if !c.conn.WaitForStateChange(ctx, s) {
			return fmt.Errorf("connect to %s: no connection within the dial timeout of %s", addr, d)
		}
	}
}

// connectionError returns grpc's record of why the connection failed: a
// call that does not wait for readiness fails at once with Unavailable and
// the last connection error ("connection error: desc = ... tls: ..."). Any
// method would do; the health check needs no token.
func (c *Client) connectionError(ctx context.Context) error {
	_, err := healthpb.NewHealthClient(c.conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(false))
	if err == nil {
		return fmt.Errorf("the connection failed, then recovered")
	}
	return err
}
