package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// change is one server-sent event: a committed revision and the kinds of
// data it changed ("compute", "index_score", "methodology"), or a new
// rank-uncertainty analysis ("uncertainty", with the hub's revision). Event
// "hello" carries only the revision the stream starts after.
type change struct {
	Revision uint64   `json:"revision"`
	Kinds    []string `json:"kinds,omitempty"`
	hello    bool
}

// events streams server-sent events from an in-process Watch: "hello"
// first, then one "change" per committed revision, and a comment every ping
// interval so that proxies keep an idle stream open. It ends with the
// request (the browser leaves), with Close, when a write fails, or when the
// watch ends (server shutdown, or this subscriber fell behind and was cut
// off); the browser's EventSource then reconnects by itself, hears "hello"
// and re-fetches what it missed.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	// An event stream outlives any write timeout meant for pages.
	_ = rc.SetWriteDeadline(time.Time{})
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out := make(chan change, 16)
	done := make(chan error, 1)
	// Every kind, rank-uncertainty analyses included (they are opt-in).
	req := &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE, pb.EventKind_EVENT_KIND_INDEX_SCORE,
		pb.EventKind_EVENT_KIND_METHODOLOGY, pb.EventKind_EVENT_KIND_UNCERTAINTY}}
	go func() { done <- h.srv.Watch(req, &watchStream{ctx: ctx, out: out}) }()
	// Ending this handler cancels the watch and waits for it, so the
	// goroutine never outlives the request.
	defer func() {
		cancel()
		if done != nil {
			<-done
		}
	}()
	ping := time.NewTicker(h.ping)
	defer ping.Stop()
	if !h.send(w, rc, "retry: 3000\n\n") {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.closing:
			return
		case err := <-done:
			done = nil
			if c := status.Code(err); c != codes.Canceled && c != codes.Unavailable {
				h.log.InfoContext(ctx, "dashboard event stream ended", slog.Any("error", err))
			}
			return
		case c := <-out:
			if !h.send(w, rc, c.encode()) {
				return
			}
		case <-ping.C:
			if !h.send(w, rc, ": ping\n\n") {
				return
			}
		}
	}
}

// send writes and flushes one message; false means the browser is gone.
func (h *Handler) send(w io.Writer, rc *http.ResponseController, msg string) bool {
	if _, err := io.WriteString(w, msg); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// encode is c in the event-stream format. The revision doubles as the
// event id, for anyone reading the stream with Last-Event-ID in mind.
func (c change) encode() string {
	data, _ := json.Marshal(c) // a number and strings: cannot fail
	if c.hello {
		return fmt.Sprintf("event: hello\ndata: %s\n\n", data)
	}
	return fmt.Sprintf("id: %d\nevent: change\ndata: %s\n\n", c.Revision, data)
}

// watchStream adapts an SSE request to pb.WatchService_WatchServer, so that
// the dashboard runs the server's own Watch handler in-process. Watch uses
// only Context, Send and SendHeader (for the revision the stream starts
// after, which becomes the "hello" event); SetHeader and SetTrailer are
// harmless no-ops, and the embedded nil grpc.ServerStream stands for the
// rest (SendMsg, RecvMsg), which Watch never calls.
type watchStream struct {
	grpc.ServerStream
	ctx context.Context
	out chan<- change
	// kinds collects the kinds of a revision sent in fragments, until the
	// last fragment completes it.
	kinds []string
}

func (s *watchStream) Context() context.Context { return s.ctx }

// Send turns a watch response into a change event: progress notifications
// are dropped (the ping keeps the stream alive), and a revision split into
// fragments becomes one event when its last fragment arrives. It blocks
// while the SSE writer is behind, which is what lets the hub cut off a
// browser that cannot keep up, rather than buffering without bound.
func (s *watchStream) Send(r *pb.WatchResponse) error {
	if r.GetProgressNotify() {
		return nil
	}
	for _, e := range r.GetEvents() {
		k := strings.ToLower(strings.TrimPrefix(e.GetKind().String(), "EVENT_KIND_"))
		if !slices.Contains(s.kinds, k) {
			s.kinds = append(s.kinds, k)
		}
	}
	if r.GetFragment() {
		return nil
	}
	c := change{Revision: r.GetRevision(), Kinds: s.kinds}
	s.kinds = nil
	return s.emit(c)
}

// SendHeader reads the revision the watch starts after and announces it.
func (s *watchStream) SendHeader(md metadata.MD) error {
	v := md.Get(server.StartAfterHeader)
	if len(v) == 0 {
		return nil
	}
	rev, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		return nil
	}
	return s.emit(change{Revision: rev, hello: true})
}

// SetHeader is a no-op: there is no gRPC response header to set.
func (s *watchStream) SetHeader(metadata.MD) error { return nil }

// SetTrailer is a no-op: there is no gRPC trailer to set.
func (s *watchStream) SetTrailer(metadata.MD) {}

func (s *watchStream) emit(c change) error {
	select {
	case s.out <- c:
		return nil
	case <-s.ctx.Done():
		return status.FromContextError(s.ctx.Err()).Err()
	}
}
