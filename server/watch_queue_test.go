package server

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestWatcherQueue: the hub may queue at most bufSize unsent responses; one
// more cuts the watcher off, and the cut-off wins over what is still queued.
func TestWatcherQueue(t *testing.T) {
	h := &hub{bufSize: 3}
	w := h.newWatcher(filter{}, 0)
	r := func(rev uint64) *encodedResponse { return encodeResponse(testResponseAt(rev)) }
	if !w.offer([]*encodedResponse{r(1), r(2)}, h.bufSize) {
		t.Fatal("2 of 3 refused")
	}
	if got, st, _ := w.next(nil); len(got) != 2 || got[1].Revision != 2 || st != watchLive {
		t.Fatalf("next = %v, %d", got, st)
	}
	if !w.offer([]*encodedResponse{r(3), r(4), r(5)}, h.bufSize) {
		t.Fatal("3 unsent of 3 refused")
	}
	if w.unsent() != 3 {
		t.Fatalf("unsent %d, want 3", w.unsent())
	}
	if w.offer([]*encodedResponse{r(6)}, h.bufSize) {
		t.Fatal("a fourth unsent response was queued")
	}
	if got, st, _ := w.next(nil); len(got) != 0 || st != watchCut || !w.isCut() {
		t.Fatalf("after the cut: next = %v, %d", got, st)
	}
	if w.offer([]*encodedResponse{r(7)}, h.bufSize) {
		t.Fatal("a cut watcher took more")
	}
}

// TestWatcherQueueStaysSmall: a watcher that is always one response behind
// never empties its queue; the sent prefix must be reused, not grown.
func TestWatcherQueueStaysSmall(t *testing.T) {
	w := (&hub{bufSize: 256}).newWatcher(filter{}, 0)
	// Fragments are taken one at a time (complete revisions would be
	// coalesced and empty the queue).
	f := testResponseAt(1)
	f.Fragment = true
	e := encodeResponse(f)
	w.offer([]*encodedResponse{e}, 256)
	for range 10_000 {
		if !w.offer([]*encodedResponse{e}, 256) {
			t.Fatal("refused")
		}
		if got, _, _ := w.next(nil); len(got) != 1 {
			t.Fatal("nothing queued")
		}
	}
	if w.unsent() != 1 || cap(w.queue) > 8 {
		t.Fatalf("unsent %d, capacity %d", w.unsent(), cap(w.queue))
	}
}

// TestWatcherEndFirstReasonWins: a watcher the hub cut off for compacted
// history keeps that reason when the client then leaves or the hub stops.
func TestWatcherEndFirstReasonWins(t *testing.T) {
	w := (&hub{bufSize: 4}).newWatcher(filter{}, 0)
	gap := errors.New("compacted")
	w.end(watchCut, gap)
	w.end(watchStopped, nil)
	w.end(watchCanceled, nil)
	if _, st, _ := w.next(nil); st != watchCut || cutOff(w) != gap {
		t.Fatalf("state %d, error %v", st, cutOff(w))
	}
	select {
	case <-w.wake:
	default:
		t.Fatal("end did not wake the watcher")
	}
}

func testResponseAt(rev uint64) *pb.WatchResponse {
	r := testResponse()
	r.Revision = rev
	for _, e := range r.Events {
		e.Revision = rev
	}
	return r
}

// TestWatcherCoalesces: a watcher that is behind takes its queued complete
// revisions as one response, up to one response's worth of events, in
// order, each event with its own revision; a fragment goes alone; the
// coalesced bytes are the shared responses' bytes and decode to the merged
// content.
func TestWatcherCoalesces(t *testing.T) {
	h := &hub{bufSize: 64}
	h.maxEvents.Store(7) // testResponse has 2 events a revision: 3 revisions a run
	w := h.newWatcher(filter{}, 0)
	var queued []*encodedResponse
	for rev := uint64(1); rev <= 5; rev++ {
		queued = append(queued, encodeResponse(testResponseAt(rev)))
	}
	frag := testResponseAt(6)
	frag.Fragment = true
	queued = append(queued, encodeResponse(frag), encodeResponse(testResponseAt(6)), encodeResponse(testResponseAt(7)))
	if !w.offer(queued, h.bufSize) {
		t.Fatal("refused")
	}
	type want struct {
		revs []uint64 // revision of each event
		last uint64
		frag bool
	}
	for i, wt := range []want{
		{[]uint64{1, 1, 2, 2, 3, 3}, 3, false},
		{[]uint64{4, 4, 5, 5}, 5, false}, // the fragment that follows goes alone
		{[]uint64{6, 6}, 6, true},
		{[]uint64{6, 6, 7, 7}, 7, false},
	} {
		run, st, _ := w.next(nil)
		if st != watchLive || len(run) == 0 {
			t.Fatalf("run %d: state %d, %d responses", i, st, len(run))
		}
		msg, r := coalesce(run)
		bufs, _, ok := wireParts(msg)
		if !ok {
			t.Fatalf("run %d: not sent from the shared bytes", i)
		}
		var got pb.WatchResponse
		if err := proto.Unmarshal(bufs.Materialize(), &got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&got, r) {
			t.Errorf("run %d: wire %v, message %v", i, &got, r)
		}
		var revs []uint64
		for _, e := range got.Events {
			revs = append(revs, e.Revision)
		}
		if !slices.Equal(revs, wt.revs) || got.Revision != wt.last || got.Fragment != wt.frag {
			t.Errorf("run %d: event revisions %v, revision %d, fragment %t; want %v, %d, %t", i, revs, got.Revision, got.Fragment, wt.revs, wt.last, wt.frag)
		}
	}
	if run, _, _ := w.next(nil); len(run) != 0 {
		t.Fatalf("%d responses left", len(run))
	}

	// An event older than the run's last (a rank-uncertainty analysis of an
	// earlier revision) is not merged behind it.
	older := testResponseAt(9)
	for _, e := range older.Events {
		e.Revision = 8
	}
	w.offer([]*encodedResponse{encodeResponse(testResponseAt(9)), encodeResponse(older), encodeResponse(testResponseAt(10))}, h.bufSize)
	for i, want := range []int{1, 2} {
		if run, _, _ := w.next(nil); len(run) != want {
			t.Fatalf("after an older event, run %d has %d responses, want %d", i, len(run), want)
		}
	}
}
