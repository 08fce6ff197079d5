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

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

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

func TestFilterResponses(t *testing.T) {
	ev := func(rev uint64, prov string, year int32) *pb.Event {
		return &pb.Event{Revision: rev, Kind: pb.EventKind_EVENT_KIND_INDEX_SCORE, Change: &pb.Event_IndexScore{
			IndexScore: &pb.IndexScoreChange{Province: &pb.Province{Code: prov}, Year: year}}}
	}
	meth := &pb.Event{Revision: 9, Kind: pb.EventKind_EVENT_KIND_METHODOLOGY, Change: &pb.Event_MethodologyVersion{MethodologyVersion: 2}}
	events := []*pb.Event{ev(9, "440000", 2024), ev(9, "110000", 2024), ev(9, "440000", 2023), ev(9, "310000", 2024), ev(9, "440000", 2022), meth}
	tests := []struct {
		name      string
		f         filter
		wantSizes []int // events per response; all but the last are fragments
	}{
		{"OK/All", filter{}, []int{6}},
		{"OK/Fragments", filter{maxEvents: 2}, []int{2, 2, 2}},
		{"OK/UnevenFragments", filter{maxEvents: 4}, []int{4, 2}},
		{"OK/ProvinceKeepsMethodology", filter{provinces: []string{"440000"}}, []int{4}},
		{"OK/Year", filter{years: []int32{2024}, maxEvents: 2}, []int{2, 2}},
		{"OK/KindCompute", filter{kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}}, nil},
		{"OK/KindMethodology", filter{kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_METHODOLOGY}, provinces: []string{"110000"}}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f.responses(9, events)
			if len(got) != len(tt.wantSizes) {
				t.Fatalf("%d responses, want %d", len(got), len(tt.wantSizes))
			}
			for i, r := range got {
				if len(r.GetEvents()) != tt.wantSizes[i] || r.GetRevision() != 9 || r.GetFragment() != (i < len(got)-1) {
					t.Errorf("response %d: %d events, revision %d, fragment %v", i, len(r.GetEvents()), r.GetRevision(), r.GetFragment())
				}
			}
		})
	}
}

func TestNewFilterErrInvalid(t *testing.T) {
	_, err := newFilter(&pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_UNSPECIFIED}, Provinces: []string{"Atlantis"}})
	var e *estimator.Error
	if !errors.As(err, &e) || len(e.Violations) != 2 || e.Violations[0].Field != "kinds[0]" || e.Violations[1].Field != "provinces[0]" {
		t.Fatalf("err = %v", err)
	}
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
