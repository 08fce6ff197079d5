package server

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// WatchMany carries many watches on one stream. Each watch is a watcher as
// for Watch, with the same replay, hub, queue, coalescing, progress and
// cut-off, but without a goroutine of its own once it is live: the stream's
// handler goroutine sends for every watch that has something to send (its
// ready list), so an idle watch costs its watcher and nothing else. A
// watch's replay runs in a goroutine of its own until the watch joins the
// live set, so that a long replay does not hold up the others.
//
// All sends of a stream go through sendMu; a watch's responses are sent by
// its replay goroutine first, then (served set) by the handler only, so
// they stay in order. Every response of a watch after "created" and before
// "ended" comes from the shared encoded bytes with a per-watch prefix.
func (s *Server) WatchMany(stream pb.WatchService_WatchManyServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	m := &watchMux{s: s, stream: stream, ctx: ctx, wake: make(chan struct{}, 1), watches: map[uint64]*watcher{}}
	defer m.teardown(cancel)
	go m.receive()
	return m.serve()
}

// muxWatch is a watcher's state as one watch of a WatchMany stream.
type muxWatch struct {
	// Under the stream's mu.
	inReady bool // on the ready list
	served  bool // the replay is over: the handler sends for it

	// The handler's goroutine only (set before served).
	cancel        context.CancelFunc // ends its replay
	stopProgress  func()
	sentSinceTick bool
}

type watchMux struct {
	s       *Server
	stream  pb.WatchService_WatchManyServer
	ctx     context.Context
	wake    chan struct{} // capacity 1: the ready list or fatal changed
	replays sync.WaitGroup

	mu        sync.Mutex
	readyList []*watcher
	watches   map[uint64]*watcher // created and not ended
	fatal     error               // ends the stream (the client broke the protocol)
	closing   bool                // the handler is returning: no more watches

	sendMu sync.Mutex
	closed bool // under sendMu: the stream is done, nothing more is sent
}

// ready queues w for the handler; the hub calls it (through poke) under
// its lock, so it only appends and wakes.
func (m *watchMux) ready(w *watcher) {
	m.mu.Lock()
	if !w.inReady {
		w.inReady = true
		m.readyList = append(m.readyList, w)
	}
	m.mu.Unlock()
	m.poke()
}

func (m *watchMux) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// serve sends for ready watches until the client leaves, breaks the
// protocol, or the server stops.
func (m *watchMux) serve() error {
	var batch []*watcher
	var run []*encodedResponse
	for {
		m.mu.Lock()
		batch, m.readyList = m.readyList, batch[:0]
		for _, w := range batch {
			w.inReady = false
		}
		fatal := m.fatal
		m.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		if len(batch) == 0 {
			select {
			case <-m.wake:
			case <-m.ctx.Done():
				return status.FromContextError(m.ctx.Err()).Err()
			}
			continue
		}
		for i, w := range batch {
			var err error
			if run, err = m.flush(w, run); err != nil {
				return err
			}
			batch[i] = nil
		}
	}
}

// flush sends what w has queued (one coalesced run; more puts it back on
// the ready list, so that one busy watch does not starve the others), its
// progress notification, or its end.
func (m *watchMux) flush(w *watcher, run []*encodedResponse) ([]*encodedResponse, error) {
	m.mu.Lock()
	served := w.served
	m.mu.Unlock()
	if !served {
		return run, nil // its replay goroutine hands it over with a poke
	}
	run, st, tick := w.next(run)
	switch st {
	case watchCut:
		return run, m.end(w, cutOff(w))
	case watchCanceled:
		return run, m.end(w, status.Error(codes.Canceled, "watch canceled by the client"))
	case watchStopped:
		return run, unavailable()
	case watchDone:
		return run, nil // ended already
	}
	if tick {
		last, empty := m.s.hub.caughtUp(w)
		if len(run) == 0 && !w.sentSinceTick && empty && last >= w.lastSent.Load() {
			p := &pb.WatchResponse{Revision: last, ProgressNotify: true}
			if err := m.send(w, p, p); err != nil {
				return run, err
			}
		}
		w.sentSinceTick = false
	}
	if len(run) == 0 {
		return run, nil
	}
	msg, r := coalesce(run)
	clear(run)
	if err := m.send(w, msg, r); err != nil {
		return run, err
	}
	w.sentSinceTick = true
	if w.unsent() > 0 {
		m.ready(w)
	}
	return run, nil
}

// end ends one watch: it leaves the hub and the stream, and its last
// response carries err's status.
func (m *watchMux) end(w *watcher, err error) error {
	w.mu.Lock()
	w.state = watchDone
	w.mu.Unlock()
	m.release(w)
	m.mu.Lock()
	delete(m.watches, w.id) // before "ended": the client may reuse the id then
	m.mu.Unlock()
	return m.sendControl(&pb.WatchManyResponse{WatchId: w.id, Result: &pb.WatchManyResponse_Ended{Ended: status.Convert(err).Proto()}})
}

// release stops what w holds: its progress timer, its replay, its place in
// the hub.
func (m *watchMux) release(w *watcher) {
	if w.stopProgress != nil {
		w.stopProgress()
		w.stopProgress = nil
	}
	if w.cancel != nil {
		w.cancel()
	}
	m.s.hub.leave(w)
}

// receive reads the client's requests until the stream ends.
func (m *watchMux) receive() {
	for {
		req, err := m.stream.Recv()
		if err != nil {
			// io.EOF: the client sends nothing more but still listens. A
			// message that did not decode (InvalidArgument, malformed.go)
			// ends the stream with that status; a broken transport ends
			// the stream's context anyway.
			if !errors.Is(err, io.EOF) {
				m.fail(err)
			}
			return
		}
		switch r := req.GetRequest().(type) {
		case *pb.WatchManyRequest_Create:
			m.create(r.Create)
		case *pb.WatchManyRequest_Cancel:
			m.mu.Lock()
			w := m.watches[r.Cancel.GetWatchId()]
			m.mu.Unlock()
			if w != nil {
				// The handler sends "ended" once it sees the state. A
				// replay still running stops at its context.
				w.end(watchCanceled, nil)
				w.cancel()
			}
		default:
			m.fail(status.Error(codes.InvalidArgument, "watch request: set create or cancel"))
			return
		}
	}
}

func (m *watchMux) fail(err error) {
	m.mu.Lock()
	if m.fatal == nil {
		m.fatal = err
	}
	m.mu.Unlock()
	m.poke()
}

// create starts a watch: its replay (or, from now on, its join) runs in a
// goroutine of its own, which hands the watch over to the handler when it
// is live or has failed.
func (m *watchMux) create(c *pb.WatchCreate) {
	req := c.GetRequest()
	f, ferr := newFilter(req)
	if ferr == nil {
		ferr = m.s.checkStartRevision(req.GetStartRevision())
	}
	w := m.s.hub.newWatcher(f, req.GetStartRevision())
	w.mux, w.id, w.wake = m, c.GetWatchId(), nil
	ctx, cancel := context.WithCancel(m.ctx)
	w.cancel = cancel
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		cancel()
		return
	}
	if _, dup := m.watches[w.id]; dup {
		m.mu.Unlock()
		cancel()
		m.fail(status.Errorf(codes.InvalidArgument, "watch id %d is in use: an id can be reused once its watch ended", w.id))
		return
	}
	m.watches[w.id] = w
	m.replays.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.replays.Done()
		var err error
		if ferr != nil {
			err = m.s.toError(ctx, ferr)
		} else {
			err = m.start(ctx, w, req)
		}
		if err != nil {
			w.end(watchCut, err) // the first reason wins: a cancel stays a cancel
		} else if req.GetProgressNotify() && m.s.progressEvery > 0 {
			w.stopProgress = w.startProgress(m.s.progressEvery)
		}
		m.mu.Lock()
		w.served = true
		m.mu.Unlock()
		m.ready(w)
	}()
}

// start sends "created" and replays from the start revision, as Watch does.
func (m *watchMux) start(ctx context.Context, w *watcher, req *pb.WatchRequest) error {
	next := req.GetStartRevision()
	if next == 0 {
		_, last := m.s.hub.join(w, math.MaxUint64)
		return m.sendCreated(w, last)
	}
	w.lastSent.Store(next - 1)
	if err := m.sendCreated(w, next-1); err != nil {
		return err
	}
	return m.s.replay(ctx, func(msg any, r *pb.WatchResponse) error { return m.send(w, msg, r) }, w, next)
}

func (m *watchMux) sendCreated(w *watcher, after uint64) error {
	return m.sendControl(&pb.WatchManyResponse{WatchId: w.id, Result: &pb.WatchManyResponse_Created{Created: &pb.WatchCreated{StartAfter: after}}})
}

// errStreamClosed is a send after the handler returned.
var errStreamClosed = errors.New("watch stream closed")

// send sends r for w; msg is r, r encoded, or a coalesced run. Encoded
// bytes go out as they are behind the watch's id and the submessage's tag
// and length.
func (m *watchMux) send(w *watcher, msg any, r *pb.WatchResponse) error {
	out := &pb.WatchManyResponse{WatchId: w.id, Result: &pb.WatchManyResponse_Response{Response: r}}
	var wire any = out
	if bufs, size, ok := wireParts(msg); ok {
		var prefix []byte
		if w.id != 0 {
			prefix = protowire.AppendTag(prefix, 1, protowire.VarintType)
			prefix = protowire.AppendVarint(prefix, w.id)
		}
		prefix = protowire.AppendTag(prefix, 2, protowire.BytesType)
		prefix = protowire.AppendVarint(prefix, uint64(size))
		wire = &wireMessage{Message: out, bufs: append(mem.BufferSlice{mem.SliceBuffer(prefix)}, bufs...)}
	}
	if err := m.sendMsg(wire, out); err != nil {
		return err
	}
	if !r.GetFragment() {
		w.lastSent.Store(r.GetRevision())
	}
	return nil
}

func (m *watchMux) sendControl(out *pb.WatchManyResponse) error { return m.sendMsg(out, out) }

// sendMsg sends wire (out, or out as encoded parts) on the stream, as
// Server.send does for Watch.
func (m *watchMux) sendMsg(wire any, out *pb.WatchManyResponse) error {
	m.sendMu.Lock()
	defer m.sendMu.Unlock()
	if m.closed {
		return errStreamClosed
	}
	if g, ok := m.stream.(*grpc.GenericServerStream[pb.WatchManyRequest, pb.WatchManyResponse]); ok {
		return g.SendMsg(wire)
	}
	return m.stream.Send(out)
}

// teardown runs when the handler returns: nothing more is sent, replays
// end, and every watch leaves the hub.
func (m *watchMux) teardown(cancel context.CancelFunc) {
	m.sendMu.Lock()
	m.closed = true
	m.sendMu.Unlock()
	cancel()
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	m.replays.Wait()
	m.mu.Lock()
	ws := make([]*watcher, 0, len(m.watches))
	for _, w := range m.watches {
		ws = append(ws, w)
	}
	m.watches = nil
	m.mu.Unlock()
	for _, w := range ws {
		w.end(watchDone, nil)
		m.release(w)
	}
}
