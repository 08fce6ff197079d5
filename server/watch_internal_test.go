package server

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// TestReplayStopsAtItsContext: a replay whose context ended (a WatchMany
// watch the client canceled, on a stream that still takes sends) sends
// nothing more and reports Canceled, rather than replaying the history to
// the end.
func TestReplayStopsAtItsContext(t *testing.T) {
	s := chainServer(t, io.Discard, Limits{})
	var last uint64
	for i, v := range []float64{1, 2, 3} {
		res, err := s.store.PutObservationsWith("test", []estimator.Observation{{Province: 440000, Year: 2024, Indicator: "industry.devices",
			Value: v, Unit: "10^4 units", Source: "test"}}, store.ObservationOptions{Replace: i > 0})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	// The hub must have published the history, or there is none to replay.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.hub.mu.Lock()
		published := s.hub.last
		s.hub.mu.Unlock()
		if published >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub at %d after 10 s, want %d", published, last)
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := s.hub.newWatcher(filter{}, 1)
	sent := 0
	err := s.replay(ctx, func(any, *pb.WatchResponse) error { sent++; return nil }, w, 1)
	s.hub.leave(w)
	if status.Code(err) != codes.Canceled || sent != 0 {
		t.Errorf("replay with an ended context: %v after %d responses, want Canceled after none", err, sent)
	}
}
