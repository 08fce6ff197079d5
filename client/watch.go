package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// ErrStopWatch, returned by a Watch callback, ends the watch; Watch then
// returns nil.
var ErrStopWatch = errors.New("stop watch")

// CompactedError is Watch's error when the revision it needed is no longer
// retained (the server answered OutOfRange): events between the caller's
// position and Oldest are gone for good, so resuming blindly would hide a
// gap. The caller re-reads the totals it keeps (which reflect every revision
// up to now) and watches again from Oldest, or from the revision those reads
// report + 1.
type CompactedError struct {
	Oldest uint64 // the oldest revision the server still retains
	Err    error  // the server's status
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("watch: history compacted; re-read the totals and watch again from revision %d", e.Oldest)
}

func (e *CompactedError) Unwrap() error { return e.Err }

// watchHeader is the response header where the server says which revision
// a stream starts after (server.StartAfterHeader).
const watchHeader = "computescale-watch-after"

// WatchOption tunes Watch.
type WatchOption func(*watchOptions)

type watchOptions struct {
	ownStream  bool
	retries    int
	minBackoff time.Duration
	maxBackoff time.Duration
	onResume   func(from uint64, err error)
}

// WithWatchOwnStream gives the watch a Watch stream of its own instead of a
// place on the Client's shared WatchMany stream. Delivery, resume and errors
// are the same either way; a stream of its own costs the server a stream and
// a goroutine, and its flow control is its own.
func WithWatchOwnStream() WatchOption { return func(o *watchOptions) { o.ownStream = true } }

// WithWatchRetries bounds how many times in a row Watch reopens the stream
// without receiving anything in between (default 10); any response received
// resets the count.
func WithWatchRetries(n int) WatchOption { return func(o *watchOptions) { o.retries = n } }

// WithWatchBackoff sets the wait before the first reopen and its cap; each
// failed reopen in a row doubles it (default 100 ms up to 5 s).
func WithWatchBackoff(first, ceiling time.Duration) WatchOption {
	return func(o *watchOptions) { o.minBackoff, o.maxBackoff = first, ceiling }
}

// WithWatchResumeHook calls fn before each reopen with the revision the new
// stream starts at and the error that ended the previous one (logging,
// metrics, tests).
func WithWatchResumeHook(fn func(from uint64, err error)) WatchOption {
	return func(o *watchOptions) { o.onResume = fn }
}

// Watch streams the server's events matching req to fn, in revision order,
// until ctx ends (it returns ctx's error), fn returns ErrStopWatch (nil), fn
// returns another error (that error), or the stream fails in a way a reopen
// cannot cure.
//
// When the stream ends with Unavailable (server restart, shutdown, network)
// or ResourceExhausted (this subscriber fell behind and was cut off), Watch
// reopens it from the revision after the last one it has delivered whole,
// with bounded exponential backoff, so fn sees no gap and no duplicate. A
// revision split into fragments and cut in the middle is resent whole by the
// server; Watch drops the events of it fn already has. Progress
// notifications are passed to fn and also advance the position.
//
// History older than the server retains ends the watch with a
// *CompactedError, never silently: only the caller knows how to rebuild its
// state (re-read the totals), after which it calls Watch again.
//
// With start_revision 0 ("from now on") the position is the revision the
// server reports in the stream's header, so even a break before the first
// event loses nothing. req is not modified.
//
// All watches of a Client share one WatchMany stream (each under its own
// id, with its own filter, position and resume), unless
// WithWatchOwnStream is given or the server lacks WatchMany. A response may
// carry several consecutive revisions when the watch was behind; each
// event keeps its revision.
func (c *Client) Watch(ctx context.Context, req *pb.WatchRequest, fn func(*pb.WatchResponse) error, opts ...WatchOption) error {
	o := watchOptions{retries: 10, minBackoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	r := &watchRun{stub: pb.NewWatchServiceClient(c.conn), req: req, fn: fn, opts: o}
	if !o.ownStream {
		c.watchOnce.Do(func() { c.watches = &watchMux{stub: r.stub} })
		r.mux = c.watches
	}
	if start := req.GetStartRevision(); start > 0 {
		r.next, r.known = start, true
	}
	return r.run(ctx)
}

// WatchChan is Watch delivering on a channel: the response channel is
// closed when the watch ends, and the error it ended with (nil when ctx
// was canceled) is then sent on the error channel. The caller must keep
// reading responses until the channel closes, or cancel ctx.
func (c *Client) WatchChan(ctx context.Context, req *pb.WatchRequest, opts ...WatchOption) (<-chan *pb.WatchResponse, <-chan error) {
	out, errc := make(chan *pb.WatchResponse), make(chan error, 1)
	go func() {
		defer close(out)
		err := c.Watch(ctx, req, func(r *pb.WatchResponse) error {
			select {
			case out <- r:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}, opts...)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			err = nil
		}
		errc <- err
	}()
	return out, errc
}

// watchRun is one Watch call across its streams. Its position is next (every
// revision before it was delivered whole) and partial (how many events of
// revision next were delivered, when a fragmented revision was cut).
type watchRun struct {
	stub pb.WatchServiceClient
	mux  *watchMux // nil: a stream of its own
	req  *pb.WatchRequest
	fn   func(*pb.WatchResponse) error
	opts watchOptions

	next    uint64
	known   bool // next is meaningful (false only before a "from now" start)
	partial int
	skip    int  // events of revision next still to drop on this stream
	got     bool // the current stream delivered something
}

func (r *watchRun) run(ctx context.Context) error {
	failures := 0
	for {
		err := r.stream(ctx)
		var cb callbackError
		switch {
		case errors.As(err, &cb) && errors.Is(cb.err, ErrStopWatch):
			return nil
		case errors.As(err, &cb):
			return cb.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		if !resumable(err) {
			return r.final(err)
		}
		if r.got {
			failures = 0
		}
		if failures++; failures > r.opts.retries {
			return fmt.Errorf("watch: gave up after %d reopens without progress: %w", r.opts.retries, err)
		}
		r.adopt(err)
		if r.opts.onResume != nil {
			r.opts.onResume(r.next, err)
		}
		select {
		case <-time.After(r.backoff(failures)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// backoff is the wait before reopen number failures: doubling from
// minBackoff up to maxBackoff, then spread by ±20 % at random (gRPC's
// connection-backoff rule, its doc/connection-backoff.md), so that the
// watchers a server restart cut off all at once do not all come back in
// the same instant.
func (r *watchRun) backoff(failures int) time.Duration {
	d := r.opts.minBackoff
	for i := 1; i < failures && d < r.opts.maxBackoff; i++ {
		d *= 2
	}
	return jitter(min(d, r.opts.maxBackoff), rand.Float64())
}

// backoffJitter is the share by which a wait is spread either way.
const backoffJitter = 0.2

// jitter spreads d by ±backoffJitter; u is uniform in [0, 1).
func jitter(d time.Duration, u float64) time.Duration {
	return time.Duration(float64(d) * (1 + backoffJitter*(2*u-1)))
}

// resumable reports whether reopening the stream can cure err. A clean end of
// stream (the server never ends a watch with OK) counts as a transport break.
func resumable(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted:
		return true
	}
	return false
}

// callbackError carries fn's error out of a stream, so that it is told apart
// from the stream's own (fn may well return a status error).
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// final turns a stream error that ends the watch into Watch's result.
func (r *watchRun) final(err error) error {
	if status.Code(err) == codes.OutOfRange {
		if v, ok := errorInfo(err, "oldest_revision"); ok {
			return &CompactedError{Oldest: v, Err: err}
		}
	}
	return fmt.Errorf("watch: %w", err)
}

// adopt takes the server's last_sent_revision when the client has no
// position of its own. Otherwise its own count wins: every response the
// server sent precedes the status on the stream, so the client has seen at
// least as much as the server reports.
func (r *watchRun) adopt(err error) {
	if v, ok := errorInfo(err, "last_sent_revision"); ok && !r.known {
		r.next, r.known, r.partial = v+1, true, 0
	}
}

// request is the watch request from the current position.
func (r *watchRun) request() *pb.WatchRequest {
	req := &pb.WatchRequest{Kinds: r.req.GetKinds(), Provinces: r.req.GetProvinces(), Years: r.req.GetYears(),
		StartRevision: r.req.GetStartRevision(), ProgressNotify: r.req.GetProgressNotify()}
	if r.known {
		req.StartRevision = r.next
	}
	return req
}

// stream runs one stream (or one watch on the shared stream) from the
// current position until it fails.
func (r *watchRun) stream(ctx context.Context) error {
	if r.mux != nil && !r.mux.isUnsupported() {
		err := r.shared(ctx)
		if status.Code(err) != codes.Unimplemented || r.got {
			return err
		}
		r.mux.setUnsupported() // an older server: a stream per watch
	}
	return r.own(ctx)
}

// shared runs the watch on the Client's WatchMany stream until it ends.
func (r *watchRun) shared(ctx context.Context) error {
	r.got = false
	sub, err := r.mux.register(r.request())
	if err != nil {
		return err
	}
	defer r.mux.unregister(sub)
	r.skip = r.partial
	for {
		resp, err := sub.next(ctx)
		if err != nil {
			return err
		}
		switch {
		case resp.GetCreated() != nil:
			if !r.known {
				r.next, r.known, r.partial = resp.GetCreated().GetStartAfter()+1, true, 0
			}
		case resp.GetEnded() != nil:
			return status.ErrorProto(resp.GetEnded())
		default:
			r.got = true
			if out := r.accept(resp.GetResponse()); out != nil {
				if err := r.fn(out); err != nil {
					return callbackError{err}
				}
			}
		}
	}
}

// own runs the watch on a Watch stream of its own until it fails.
func (r *watchRun) own(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.got = false
	st, err := r.stub.Watch(ctx, r.request())
	if err != nil {
		return err
	}
	r.skip = r.partial
	if !r.known {
		// A failed stream has no header; Recv reports why.
		if md, err := st.Header(); err == nil {
			r.learnStart(md)
		}
	}
	for {
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		r.got = true
		if out := r.accept(resp); out != nil {
			if err := r.fn(out); err != nil {
				return callbackError{err}
			}
		}
	}
}

func (r *watchRun) learnStart(md metadata.MD) {
	if v := md.Get(watchHeader); len(v) == 1 {
		if after, err := strconv.ParseUint(v[0], 10, 64); err == nil {
			r.next, r.known, r.partial = after+1, true, 0
		}
	}
}

// accept advances the position past resp and returns what of it fn has not
// seen yet: resp itself, resp without the events already delivered before a
// resume, or nil when nothing is new.
func (r *watchRun) accept(resp *pb.WatchResponse) *pb.WatchResponse {
	if resp.GetProgressNotify() {
		r.complete(resp.GetRevision())
		return resp
	}
	events := resp.GetEvents()
	kept := events[:0:0]
	for _, e := range events {
		switch {
		case e.GetKind() == pb.EventKind_EVENT_KIND_UNCERTAINTY:
			// Not a committed change: stamped with the revision it reflects,
			// which may be below the position, and never replayed, so never
			// a duplicate of the revision sequence.
		case r.known && e.GetRevision() < r.next:
			continue // delivered whole already
		case r.known && e.GetRevision() == r.next && r.skip > 0:
			r.skip--
			continue // delivered before the stream broke mid-revision
		}
		kept = append(kept, e)
	}
	if resp.GetFragment() {
		if rev := resp.GetRevision(); !r.known || rev > r.next {
			r.next, r.known, r.partial, r.skip = rev, true, 0, 0
		}
		r.partial += len(kept)
	} else {
		r.complete(resp.GetRevision())
	}
	if len(kept) == 0 {
		return nil
	}
	if len(kept) < len(events) {
		resp.Events = kept
	}
	return resp
}

// complete records that every revision up to rev was delivered whole.
func (r *watchRun) complete(rev uint64) {
	if !r.known || rev >= r.next {
		r.next, r.known, r.partial, r.skip = rev+1, true, 0, 0
	}
}

// errorInfo reads a numeric metadata entry of the status's ErrorInfo.
func errorInfo(err error, key string) (uint64, bool) {
	st, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			if v, err := strconv.ParseUint(info.GetMetadata()[key], 10, 64); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}
