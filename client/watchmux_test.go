package client

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestMuxSubOverflow: a watch whose callback falls maxQueued responses
// behind refuses more, still hands out everything it queued, in order, and
// then ResourceExhausted, which Watch treats as a cut-off to resume from.
func TestMuxSubOverflow(t *testing.T) {
	sub := &muxSub{id: 1, wake: make(chan struct{}, 1)}
	resp := func(rev uint64) *pb.WatchManyResponse {
		return &pb.WatchManyResponse{WatchId: 1, Result: &pb.WatchManyResponse_Response{Response: &pb.WatchResponse{Revision: rev}}}
	}
	// Take some first, so that the queue's sent prefix is reused.
	for rev := uint64(1); rev <= 10; rev++ {
		if !sub.push(resp(rev)) {
			t.Fatalf("push %d refused", rev)
		}
	}
	for rev := uint64(1); rev <= 5; rev++ {
		if r, err := sub.next(context.Background()); err != nil || r.GetResponse().GetRevision() != rev {
			t.Fatalf("next = %v, %v; want revision %d", r, err, rev)
		}
	}
	rev := uint64(11)
	for ; sub.push(resp(rev)); rev++ {
		if rev > 10+maxQueued {
			t.Fatal("never refused")
		}
	}
	if queued := rev - 6; queued != maxQueued {
		t.Fatalf("refused with %d queued, want %d", queued, maxQueued)
	}
	if sub.push(resp(rev + 1)) {
		t.Fatal("an overflowed watch took more")
	}
	for want := uint64(6); want < rev; want++ {
		r, err := sub.next(context.Background())
		if err != nil || r.GetResponse().GetRevision() != want {
			t.Fatalf("next = %v, %v; want revision %d", r, err, want)
		}
	}
	_, err := sub.next(context.Background())
	if status.Code(err) != codes.ResourceExhausted || !resumable(err) {
		t.Fatalf("after the queue: %v, want a resumable ResourceExhausted", err)
	}
}
