package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// yearObservations observes every non-derived leaf of year in every
// province; Beijing's values are multiplied by k, so that a second call with
// another k moves the scores.
func yearObservations(year int, k float64) []estimator.Observation {
	var out []estimator.Observation
	for i, p := range estimator.Provinces() {
		for j, ind := range estimator.Indicators() {
			if ind.Derived {
				continue
			}
			v := float64((i*7+j*13)%31 + 1)
			if p.Code == 110000 {
				v *= k
			}
			out = append(out, estimator.Observation{Province: p.Code, Year: year, Indicator: ind.Code, Value: v, Unit: ind.Unit, Source: "test"})
		}
	}
	return out
}

// TestUncertaintyWorkerFollowsWrites: a write moves a year's scores, and the
// worker publishes that year's analysis stamped with the write's revision;
// a write that lands while the worker computes (after it read its snapshot)
// gives a result stamped with the earlier revision, then one with the newer.
// The kept result answers a default request only while it is current.
func TestUncertaintyWorkerFollowsWrites(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "u.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := New(Config{Store: db, KeepUncertainty: true, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var (
		mu        sync.Mutex
		published []uncertaintyEntry
		second    uint64
		once      sync.Once
	)
	got := make(chan struct{}, 16)
	srv.uncertainty.publish = func(e uncertaintyEntry) {
		mu.Lock()
		published = append(published, e)
		mu.Unlock()
		got <- struct{}{}
	}
	srv.afterSnapshot = func(rev uint64) {
		once.Do(func() { // the first analysis: a write lands while it computes
			res, err := db.PutObservationsWith("nbs", yearObservations(2024, 3), store.ObservationOptions{Replace: true, Force: true})
			if err != nil {
				t.Errorf("second write: %v", err)
			}
			mu.Lock()
			second = res.Revision
			mu.Unlock()
		})
	}
	first, err := db.PutObservations("nbs", yearObservations(2024, 1), false)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case <-got:
		case <-time.After(15 * time.Second):
			t.Fatal("no analysis published within 15 s")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(published) != 2 || published[0].rev != first.Revision || published[1].rev != second || second <= first.Revision {
		t.Fatalf("published at revisions %v, want %d then %d", revs(published), first.Revision, second)
	}
	for _, e := range published {
		if e.u.Year != 2024 || !e.kept || e.u.Samples != DefaultUncertaintySamples {
			t.Errorf("published %+v", e.u)
		}
	}
	if e, ok := srv.uncertainty.current(2024, 0, srv.revision()); !ok || e.rev != second {
		t.Errorf("current kept result: %v at %d, want the second write's %d", ok, e.rev, second)
	}
	if _, ok := srv.uncertainty.current(2024, 0, srv.revision()+1); ok {
		t.Error("a kept result answered for a revision it was not valid through")
	}
}

func revs(es []uncertaintyEntry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.rev)
	}
	return out
}

func TestKeptUncertaintyAdvance(t *testing.T) {
	k := newKeptUncertainty()
	k.put(uncertaintyEntry{u: estimator.Uncertainty{Year: 2023}, rev: 5})
	k.put(uncertaintyEntry{u: estimator.Uncertainty{Year: 2024}, rev: 5})
	// Revision 7 moved 2024 only; revision 4 "moved" 2023 before its result.
	k.advance(8, map[int32]uint64{2024: 7, 2023: 4}, false)
	if _, ok := k.current(2023, 0, 8); !ok {
		t.Error("2023 already included the change: it should be current through 8")
	}
	if _, ok := k.current(2024, 0, 5); ok {
		t.Error("2024 was moved at 7 and must be stale")
	}
	if k.put(uncertaintyEntry{u: estimator.Uncertainty{Year: 2023}, rev: 3}) {
		t.Error("an older result replaced a newer one")
	}
	k.advance(9, nil, true)
	if _, ok := k.current(2023, 0, 5); ok {
		t.Error("a new methodology must make every kept year stale")
	}
}
