package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// TestWatchStartTooFarAhead: a start_revision more than
// server.WatchAheadMargin beyond the current revision is InvalidArgument
// naming start_revision, not a silent wait; exactly the margin ahead still
// waits (as a start a little ahead does, TestWatchStartAhead).
func TestWatchStartTooFarAhead(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	rev := e.revision()
	recv := func(start uint64) error {
		c, cancel := context.WithTimeout(ctx(t), 500*time.Millisecond)
		defer cancel()
		st, err := watchStub(e.reader).Watch(c, &pb.WatchRequest{StartRevision: start})
		if err == nil {
			_, err = st.Recv() // the refusal, or nothing until the deadline
		}
		return err
	}
	err := recv(rev + server.WatchAheadMargin + 1)
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("start %d ahead: %v, want InvalidArgument", server.WatchAheadMargin+1, err)
	}
	wantViolation(t, err, "start_revision")
	if err := recv(rev + server.WatchAheadMargin); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("start exactly the margin ahead: %v, want a watch still waiting at the deadline", err)
	}
}
