package server

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// StartAfterHeader is the response-header key carrying the revision a watch
// starts after: every passing event above it will be sent. It gives a client
// that asked for "from now on" (start_revision 0) a position to resume from
// even when the stream breaks before its first response.
const StartAfterHeader = "computescale-watch-after"

// Watch replays the change log from start_revision, then follows the hub.
func (s *Server) Watch(req *pb.WatchRequest, stream pb.WatchService_WatchServer) error {
	ctx := stream.Context()
	f, err := newFilter(req)
	if err == nil {
		err = s.checkStartRevision(req.GetStartRevision())
	}
	if err != nil {
		return s.toError(ctx, err)
	}
	next := req.GetStartRevision()
	w := s.hub.newWatcher(f, next)
	defer s.hub.leave(w)
	if next == 0 {
		_, last := s.hub.join(w, math.MaxUint64) // from now on: live at once
		if err := sendStartAfter(stream, last); err != nil {
			return err
		}
	} else {
		w.lastSent.Store(next - 1)
		if err := sendStartAfter(stream, next-1); err != nil {
			return err
		}
		send := func(msg any, r *pb.WatchResponse) error { return s.send(stream, w, msg, r) }
		if err := s.replay(ctx, send, w, next); err != nil {
			return err
		}
	}
	return s.follow(ctx, stream, w, req.GetProgressNotify())
}

func sendStartAfter(stream pb.WatchService_WatchServer, rev uint64) error {
	return stream.SendHeader(metadata.Pairs(StartAfterHeader, strconv.FormatUint(rev, 10)))
}

// replay sends the log from next until the watcher can join the live set;
// send sends one response (msg is r or r encoded) on the watcher's stream.
func (s *Server) replay(ctx context.Context, send func(msg any, r *pb.WatchResponse) error, w *watcher, next uint64) error {
	for {
		// A WatchMany cancel ends only this watch's context: its stream
		// still takes sends, so the replay must look for itself.
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		joined, last := s.hub.join(w, next)
		if joined {
			return nil
		}
		// Changes fails with a CompactedError if anything from next on is
		// gone, compacted before or during the read; revisions may have
		// gaps, so the first entry need not be next.
		changes, err := s.store.Changes(next, 256)
		if oldest, ok := store.IsCompacted(err); ok {
			return compacted(oldest)
		}
		if err != nil {
			return s.replayError(ctx, err)
		}
		if len(changes) == 0 {
			return compacted(s.store.OldestRevision())
		}
		var batch *pb.WatchResponse
		flush := func() error {
			if batch == nil {
				return nil
			}
			err := send(batch, batch)
			batch = nil
			return err
		}
		for _, c := range changes {
			if c.Revision > last {
				break // the hub has not published it yet: leave it to live
			}
			resps := w.filter.responses(c.Revision, eventsOf(c))
			if len(resps) == 1 && (batch == nil || len(batch.Events)+len(resps[0].Events) <= w.filter.perResponse()) {
				if batch == nil {
					batch = &pb.WatchResponse{}
				}
				batch.Events, batch.Revision = append(batch.Events, resps[0].Events...), c.Revision
			} else {
				if err := flush(); err != nil {
					return err
				}
				for _, r := range resps {
					if err := send(r, r); err != nil {
						return err
					}
				}
			}
			next = c.Revision + 1
		}
		if err := flush(); err != nil {
			return err
		}
	}
}

// replayError maps a failed log read: during shutdown the store closes under
// a replay, which is the server going away (Unavailable, so clients resume
// elsewhere or later), not an internal error.
func (s *Server) replayError(ctx context.Context, err error) error {
	if s.hub.isClosed() {
		return unavailable()
	}
	return s.toError(ctx, err)
}

// follow sends live responses until the client leaves, the hub cuts the
// watcher off, or the server stops. With progress, an idle stream hears the
// hub's revision every progress interval.
func (s *Server) follow(ctx context.Context, stream pb.WatchService_WatchServer, w *watcher, progress bool) error {
	defer w.end(watchDone, nil) // also stops the progress timer re-arming
	stopCtx := context.AfterFunc(ctx, func() { w.end(watchCanceled, nil) })
	defer stopCtx()
	if progress && s.progressEvery > 0 {
		defer w.startProgress(s.progressEvery)()
	}
	sentSinceTick := false
	var run []*encodedResponse
	for {
		var st watchState
		var tick bool
		run, st, tick = w.next(run)
		switch st {
		case watchCut:
			return cutOff(w)
		case watchStopped:
			return unavailable()
		case watchCanceled, watchDone:
			return status.FromContextError(ctx.Err()).Err()
		}
		if tick {
			last, empty := s.hub.caughtUp(w)
			if len(run) == 0 && !sentSinceTick && empty && last >= w.lastSent.Load() {
				// Everything up to last is sent: it is also the position
				// to report should the watcher be cut later.
				p := &pb.WatchResponse{Revision: last, ProgressNotify: true}
				if err := s.send(stream, w, p, p); err != nil {
					return err
				}
			}
			sentSinceTick = false
		}
		if len(run) == 0 {
			<-w.wake
			continue
		}
		msg, r := coalesce(run)
		clear(run) // the queue no longer holds them; neither should run
		if err := s.send(stream, w, msg, r); err != nil {
			return err
		}
		sentSinceTick = true
	}
}

// startProgress sets w.tick and wakes w every interval while w is live; it
// returns what stops it.
func (w *watcher) startProgress(every time.Duration) (stop func()) {
	// The timer re-arms itself while the watcher is live; t is read and
	// written under w.mu only.
	var t *time.Timer
	w.mu.Lock()
	t = time.AfterFunc(every, func() {
		w.mu.Lock()
		live := w.state == watchLive
		if live {
			w.tick = true
			t.Reset(every)
		}
		w.mu.Unlock()
		if live {
			w.poke()
		}
	})
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		t.Stop()
		w.mu.Unlock()
	}
}

// send sends r; msg is r, or r already encoded (encodedResponse). Only a
// gRPC stream is handed msg, whose codec sends the encoded bytes as they
// are; any other implementation (the dashboard runs Watch in-process with
// an adapter that implements Send alone) gets r through Send.
func (s *Server) send(stream pb.WatchService_WatchServer, w *watcher, msg any, r *pb.WatchResponse) error {
	var err error
	if g, ok := stream.(*grpc.GenericServerStream[pb.WatchRequest, pb.WatchResponse]); ok {
		err = g.SendMsg(msg)
	} else {
		err = stream.Send(r)
	}
	if err != nil {
		return err
	}
	if !r.GetFragment() {
		w.lastSent.Store(r.GetRevision())
	}
	return nil
}

// cutOff is the status of a watcher the hub dropped (state watchCut).
func cutOff(w *watcher) error {
	if w.cutErr != nil {
		return w.cutErr
	}
	return slowSubscriber(w.lastSent.Load())
}

func unavailable() error {
	return status.Error(codes.Unavailable, "server shutting down; resume from the last revision received + 1")
}

func compacted(oldest uint64) error {
	return withInfo(codes.OutOfRange, fmt.Sprintf("revision compacted: the oldest retained revision is %d; re-read the totals and watch from there", oldest),
		"REVISION_COMPACTED", map[string]string{"oldest_revision": strconv.FormatUint(oldest, 10)})
}

func slowSubscriber(last uint64) error {
	return withInfo(codes.ResourceExhausted, fmt.Sprintf("subscriber too slow: cut off after revision %d; resume from %d", last, last+1),
		"SUBSCRIBER_TOO_SLOW", map[string]string{"last_sent_revision": strconv.FormatUint(last, 10)})
}

func withInfo(code codes.Code, msg, reason string, md map[string]string) error {
	st := status.New(code, msg)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{Reason: reason, Domain: "computescale.v1", Metadata: md}); err == nil {
		st = d
	}
	return st.Err()
}
