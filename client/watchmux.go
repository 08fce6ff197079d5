package client

import (
	"context"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// watchMux carries every Watch of a Client on one WatchMany stream (etcd's
// model): each watch is created under a fresh id and its responses are
// routed to it by id. The stream opens with the first watch and closes when
// the last one leaves; when it breaks, every watch on it sees the error and
// resumes (on a new stream) from its own position, exactly as a watch on a
// stream of its own does. A server without WatchMany (Unimplemented) makes
// the Client use a stream per watch from then on.
type watchMux struct {
	stub pb.WatchServiceClient

	mu          sync.Mutex
	cur         *muxStream // nil: none open
	nextID      uint64
	unsupported bool
}

// muxStream is one WatchMany stream.
type muxStream struct {
	st     grpc.BidiStreamingClient[pb.WatchManyRequest, pb.WatchManyResponse]
	cancel context.CancelFunc
	sendMu sync.Mutex
	subs   map[uint64]*muxSub // under watchMux.mu; nil once broken
}

// maxQueued bounds the responses waiting for one watch's callback. The
// reader of a shared stream never waits for a callback (that would stall
// every watch of the stream); a watch whose callback falls this far behind
// is canceled and resumed from its position instead, as the server does
// with a subscriber that falls behind on a stream of its own.
const maxQueued = 1024

// muxSub is one watch's place on a stream.
type muxSub struct {
	id   uint64
	s    *muxStream
	wake chan struct{} // capacity 1

	mu    sync.Mutex
	queue []*pb.WatchManyResponse
	head  int
	err   error // the stream broke or the watch overflowed; after the queue
}

func (m *watchMux) isUnsupported() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.unsupported
}

func (m *watchMux) setUnsupported() {
	m.mu.Lock()
	m.unsupported = true
	m.mu.Unlock()
}

// register creates a watch of req on the current stream, opening one if
// needed.
func (m *watchMux) register(req *pb.WatchRequest) (*muxSub, error) {
	m.mu.Lock()
	if m.cur == nil {
		// The stream outlives any one watch's context: it ends when its
		// last watch leaves or it breaks.
		ctx, cancel := context.WithCancel(context.Background())
		st, err := m.stub.WatchMany(ctx)
		if err != nil {
			m.mu.Unlock()
			cancel()
			return nil, err
		}
		m.cur = &muxStream{st: st, cancel: cancel, subs: map[uint64]*muxSub{}}
		go m.receive(m.cur)
	}
	s := m.cur
	m.nextID++
	sub := &muxSub{id: m.nextID, s: s, wake: make(chan struct{}, 1)}
	s.subs[sub.id] = sub
	m.mu.Unlock()
	err := s.send(&pb.WatchManyRequest{Request: &pb.WatchManyRequest_Create{Create: &pb.WatchCreate{WatchId: sub.id, Request: req}}})
	// A failed send means a broken stream: its reader reports why (Recv
	// has the status) to every watch on it, this one included.
	_ = err
	return sub, nil
}

// unregister removes sub from its stream and cancels it on the server
// (unless the server ended it already); the last watch to leave closes the
// stream.
func (m *watchMux) unregister(sub *muxSub) {
	s := sub.s
	m.mu.Lock()
	_, live := s.subs[sub.id]
	delete(s.subs, sub.id)
	closeIt := s.subs != nil && len(s.subs) == 0 && m.cur == s
	if closeIt {
		m.cur = nil
	}
	m.mu.Unlock()
	switch {
	case closeIt:
		s.cancel()
	case live:
		_ = s.send(&pb.WatchManyRequest{Request: &pb.WatchManyRequest_Cancel{Cancel: &pb.WatchCancel{WatchId: sub.id}}})
	}
}

func (s *muxStream) send(req *pb.WatchManyRequest) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.st.Send(req)
}

// receive routes s's responses to their watches until s breaks, then hands
// the error to every watch still on it.
func (m *watchMux) receive(s *muxStream) {
	for {
		resp, err := s.st.Recv()
		if err != nil {
			m.mu.Lock()
			if m.cur == s {
				m.cur = nil
			}
			subs := s.subs
			s.subs = nil
			m.mu.Unlock()
			s.cancel()
			for _, sub := range subs {
				sub.fail(err)
			}
			return
		}
		m.mu.Lock()
		sub := s.subs[resp.GetWatchId()]
		if sub != nil && resp.GetEnded() != nil {
			delete(s.subs, sub.id) // the server forgot it: no cancel
		}
		m.mu.Unlock()
		if sub == nil {
			continue // a watch that left; its last responses are moot
		}
		if !sub.push(resp) {
			m.unregister(sub)
		}
	}
}

// push queues resp for the watch; false when the watch overflowed (it is
// then failed with ResourceExhausted after what it has queued).
func (sub *muxSub) push(resp *pb.WatchManyResponse) bool {
	sub.mu.Lock()
	ok := sub.err == nil
	if ok && len(sub.queue)-sub.head >= maxQueued {
		sub.err = status.Errorf(codes.ResourceExhausted, "watch callback too slow: %d responses waiting; resuming from the last revision delivered", maxQueued)
		ok = false
	}
	if ok {
		if sub.head > 0 && len(sub.queue) == cap(sub.queue) {
			n := copy(sub.queue, sub.queue[sub.head:])
			clear(sub.queue[n:])
			sub.queue, sub.head = sub.queue[:n], 0
		}
		sub.queue = append(sub.queue, resp)
	}
	sub.mu.Unlock()
	sub.poke()
	return ok
}

func (sub *muxSub) fail(err error) {
	sub.mu.Lock()
	if sub.err == nil {
		sub.err = err
	}
	sub.mu.Unlock()
	sub.poke()
}

func (sub *muxSub) poke() {
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// next is the watch's next response, or the error that ended it once
// everything queued before it was taken.
func (sub *muxSub) next(ctx context.Context) (*pb.WatchManyResponse, error) {
	for {
		sub.mu.Lock()
		if sub.head < len(sub.queue) {
			r := sub.queue[sub.head]
			sub.queue[sub.head] = nil
			sub.head++
			if sub.head == len(sub.queue) {
				sub.queue, sub.head = sub.queue[:0], 0
			}
			sub.mu.Unlock()
			return r, nil
		}
		err := sub.err
		sub.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
