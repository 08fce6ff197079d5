package server

import (
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// OfferToWatchers queues one response for every live watcher, as the hub
// would, except that its encoded bytes are those of wire while its message
// is msg: a gRPC client that receives wire got the hub's bytes as they are,
// an in-process stream that receives msg got the message.
func (s *Server) OfferToWatchers(wire, msg *pb.WatchResponse) int {
	e := encodeResponse(wire)
	e.WatchResponse = msg
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for w := range s.hub.subs {
		w.offer([]*encodedResponse{e}, s.hub.bufSize)
	}
	return len(s.hub.subs)
}

// Hooks for the black-box watch tests (package server_test): compiled into
// the test binary only.

// WatchExpected is what a watch of req should deliver for changes: their
// events, converted as the hub converts them, that pass req's filters.
func WatchExpected(changes []store.Change, req *pb.WatchRequest) ([]*pb.Event, error) {
	f, err := newFilter(req)
	if err != nil {
		return nil, err
	}
	var out []*pb.Event
	for _, c := range changes {
		for _, e := range eventsOf(c) {
			if f.pass(e) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// SetWatchMaxEvents sets how many events one response carries, for watches
// opened afterwards, so that a test sees fragments with small revisions.
func (s *Server) SetWatchMaxEvents(n int) { s.hub.maxEvents.Store(int64(n)) }

// WatchSubscribers is how many live watchers the hub holds.
func (s *Server) WatchSubscribers() int { return s.hub.subscribers() }
