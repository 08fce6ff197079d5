package client

import (
	"testing"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestAcceptKeepsUncertainty: an analysis event carries the (older)
// revision it reflects in a response at the current position; the resume
// logic must pass it on, while still dropping a replayed committed event.
func TestAcceptKeepsUncertainty(t *testing.T) {
	r := &watchRun{known: true, next: 10}
	resp := &pb.WatchResponse{Revision: 9, Events: []*pb.Event{
		{Revision: 5, Kind: pb.EventKind_EVENT_KIND_UNCERTAINTY},
		{Revision: 8, Kind: pb.EventKind_EVENT_KIND_COMPUTE},
	}}
	got := r.accept(resp)
	if len(got.GetEvents()) != 1 || got.GetEvents()[0].GetKind() != pb.EventKind_EVENT_KIND_UNCERTAINTY || r.next != 10 {
		t.Fatalf("accepted %v, position %d; want the analysis alone and the position kept at 10", got.GetEvents(), r.next)
	}
}
