package server

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// TestHubSharesEncodedResponses: watchers with one filter receive the very
// same encoded response (one marshal per filter and revision), watchers with
// another filter their own, and the bytes decode to what the filter passes.
func TestHubSharesEncodedResponses(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := newHub(db, slog.New(slog.DiscardHandler), 4, 0)
	defer h.close()
	all := []*watcher{h.newWatcher(filter{}, 0), h.newWatcher(filter{}, 0)}
	meth := h.newWatcher(filter{kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_METHODOLOGY}}, 0)
	for _, w := range append(all, meth) {
		if joined, _ := h.join(w, ^uint64(0)); !joined {
			t.Fatal("not joined")
		}
	}
	r := testResponse()
	h.offer(r.Revision, r.Events)
	a, b, m := pop(t, all[0]), pop(t, all[1]), pop(t, meth)
	if a != b {
		t.Error("watchers with the same filter got different responses")
	}
	if a == m {
		t.Error("watchers with different filters got the same response")
	}
	for _, tc := range []struct {
		e    *encodedResponse
		want int
	}{{a, 2}, {m, 1}} {
		var back pb.WatchResponse
		if err := proto.Unmarshal(tc.e.data, &back); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&back, tc.e.WatchResponse) || len(back.Events) != tc.want || back.Revision != 7 {
			t.Errorf("decoded %v, want %v with %d events", &back, tc.e.WatchResponse, tc.want)
		}
	}
}

func pop(t *testing.T, w *watcher) *encodedResponse {
	t.Helper()
	run, st, _ := w.next(nil)
	if len(run) != 1 || st != watchLive {
		t.Fatalf("watcher: %d responses taken (state %d), want 1", len(run), st)
	}
	return run[0]
}

// TestHubCutsWatchersOnCompactionGap: an admin Compact up to the newest
// revision may drop entries the hub has not read yet; live watchers must end
// with OutOfRange rather than silently miss them.
func TestHubCutsWatchersOnCompactionGap(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rev := db.Revision()
	// A hub whose loop does not run: the test steps it by hand.
	h := &hub{store: db, log: slog.New(slog.DiscardHandler), bufSize: 16, last: rev, subs: map[*watcher]struct{}{}}
	sub := db.Subscribe(rev + 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w := h.newWatcher(filter{}, 0)
	if joined, _ := h.join(w, math.MaxUint64); !joined {
		t.Fatal("not joined")
	}
	var last uint64
	for i, v := range []float64{1, 2, 3} {
		res, err := db.PutObservations("test", []estimator.Observation{{Province: 440000, Year: 2024, Indicator: "industry.devices",
			Value: v, Unit: "10^4 units", Source: "test"}}, i > 0)
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	if _, err := db.Compact(last); err != nil {
		t.Fatal(err)
	}
	h.step(ctx, &sub)
	if !w.isCut() {
		t.Fatal("watcher still live after a gap")
	}
	h.step(ctx, &sub) // what the compaction left
	st := status.Convert(cutOff(w))
	if st.Code() != codes.OutOfRange || oldestOf(st) != last {
		t.Errorf("status %v (oldest %d), want OutOfRange with oldest %d", st, oldestOf(st), last)
	}
	if h.last != last || h.subscribers() != 0 {
		t.Errorf("hub at %d with %d watchers, want %d and 0", h.last, h.subscribers(), last)
	}
}

func oldestOf(st *status.Status) uint64 {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			v, _ := strconv.ParseUint(info.GetMetadata()["oldest_revision"], 10, 64)
			return v
		}
	}
	return 0
}

// endingStore ends every subscription with Unavailable after its first
// delivery, as an implementation that replaces the view it reads would.
type endingStore struct {
	*store.DB
	subscribed atomic.Int32
}

type endingSub struct {
	store.Subscription
	left int
}

func (s *endingSub) Next(ctx context.Context, limit int) ([]store.Change, error) {
	if s.left == 0 {
		return nil, estimator.Errorf(estimator.EUnavailable, "view replaced")
	}
	s.left--
	return s.Subscription.Next(ctx, limit)
}

func (s *endingStore) Subscribe(from uint64) store.Subscription {
	s.subscribed.Add(1)
	return &endingSub{Subscription: s.DB.Subscribe(from), left: 1}
}

// TestHubResubscribes: when the store ends the hub's subscription with
// Unavailable, the hub subscribes again from its position, and a live
// watcher hears every revision once, in order, and stays live.
func TestHubResubscribes(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &endingStore{DB: db}
	h := newHub(st, slog.New(slog.DiscardHandler), 64, 0)
	defer h.close()
	w := h.newWatcher(filter{}, 0)
	if joined, _ := h.join(w, math.MaxUint64); !joined {
		t.Fatal("not joined")
	}
	const writes = 6
	var want []uint64
	for range writes {
		// Every new methodology version is an event for every watcher.
		res, err := db.PutMethodology(estimator.DefaultMethodology())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, res.Revision)
		time.Sleep(5 * time.Millisecond) // let some writes end a subscription each
	}
	var got []uint64
	deadline := time.After(10 * time.Second)
	for len(got) < writes {
		run, state, _ := w.next(nil)
		if state != watchLive {
			t.Fatalf("watcher ended (state %d) after %v", state, got)
		}
		for _, r := range run {
			if !r.Fragment {
				got = append(got, r.Revision)
			}
		}
		if len(run) == 0 {
			select {
			case <-w.wake:
			case <-deadline:
				t.Fatalf("revisions %v after 10s, want %v", got, want)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("watcher heard %v, want %v", got, want)
	}
	if n := st.subscribed.Load(); n < 2 {
		t.Errorf("%d subscriptions, want the hub to have subscribed again", n)
	}
}

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
