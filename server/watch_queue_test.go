package server

import (
	"errors"
	"testing"

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
	if got, st, _ := w.next(); got == nil || got.Revision != 1 || st != watchLive {
		t.Fatalf("next = %v, %d", got, st)
	}
	if !w.offer([]*encodedResponse{r(3), r(4)}, h.bufSize) {
		t.Fatal("3 unsent of 3 refused")
	}
	if w.unsent() != 3 {
		t.Fatalf("unsent %d, want 3", w.unsent())
	}
	if w.offer([]*encodedResponse{r(5)}, h.bufSize) {
		t.Fatal("a fourth unsent response was queued")
	}
	if got, st, _ := w.next(); got != nil || st != watchCut || !w.isCut() {
		t.Fatalf("after the cut: next = %v, %d", got, st)
	}
	if w.offer([]*encodedResponse{r(6)}, h.bufSize) {
		t.Fatal("a cut watcher took more")
	}
}

// TestWatcherQueueStaysSmall: a watcher that is always one response behind
// never empties its queue; the sent prefix must be reused, not grown.
func TestWatcherQueueStaysSmall(t *testing.T) {
	w := (&hub{bufSize: 256}).newWatcher(filter{}, 0)
	e := encodeResponse(testResponseAt(1))
	w.offer([]*encodedResponse{e}, 256)
	for range 10_000 {
		if !w.offer([]*encodedResponse{e}, 256) {
			t.Fatal("refused")
		}
		if got, _, _ := w.next(); got == nil {
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
	if _, st, _ := w.next(); st != watchCut || cutOff(w) != gap {
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
	return r
}
