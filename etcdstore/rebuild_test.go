package etcdstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/etcdstore"
	"github.com/computescale/computescale/store"
)

// loadDemo writes the bundled catalog, the demo methodology, observations
// and shipments through s, in batches, and returns the last revision.
func loadDemo(t *testing.T, s *etcdstore.Store, recs []estimator.Record) uint64 {
	t.Helper()
	for _, spec := range catalog.Chips() {
		if _, err := s.PutChip(spec); err != nil {
			t.Fatalf("PutChip %s: %v", spec.ID, err)
		}
	}
	if _, err := s.PutMethodology(demodata.Methodology()); err != nil {
		t.Fatalf("PutMethodology: %v", err)
	}
	obs := demodata.Observations()
	for len(obs) > 0 {
		n := min(1000, len(obs))
		if _, err := s.PutObservationsWith("stats", obs[:n], store.ObservationOptions{}); err != nil {
			t.Fatalf("PutObservations: %v", err)
		}
		obs = obs[n:]
	}
	var last uint64
	for len(recs) > 0 {
		n := min(1000, len(recs))
		res, err := s.SubmitShipments("demo", recs[:n], false).Wait()
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		last = res.Revision
		recs = recs[n:]
	}
	return last
}

// sameView fails unless two nodes hold the same cells and bit-identical
// stored scores in every index year.
func sameView(t *testing.T, what string, a, b *etcdstore.Store) {
	t.Helper()
	if d := cmp.Diff(cells(t, a), cells(t, b)); d != "" {
		t.Fatalf("%s: cells differ (-A +B):\n%s", what, d)
	}
	years, err := a.View().IndexYears()
	if err != nil {
		t.Fatal(err)
	}
	if len(years) == 0 {
		t.Fatalf("%s: no index years: the comparison would be empty", what)
	}
	for _, y := range years {
		sa, _, err := a.View().StoredScores(y)
		if err != nil {
			t.Fatal(err)
		}
		sb, _, err := b.View().StoredScores(y)
		if err != nil {
			t.Fatal(err)
		}
		if len(sa) == 0 {
			t.Fatalf("%s: no scores in %d", what, y)
		}
		// cmp compares float64 with ==: bit-identical but for -0/NaN,
		// which scores never are.
		if d := cmp.Diff(sa, sb); d != "" {
			t.Fatalf("%s: scores of %d differ (-A +B):\n%s", what, y, d)
		}
	}
}

// TestRebuildAfterCompaction loads the demo data through node A while node
// B is down for the second half, compacts etcd past B's view, and restarts
// B: it rebuilds from a snapshot and holds the cells and scores of A (which
// applied every write one by one) bit for bit, then follows on.
func TestRebuildAfterCompaction(t *testing.T) {
	c := startCluster(t)
	dir := t.TempDir()
	a := openNode(t, c, filepath.Join(dir, "a.db"))
	defer a.Close()
	bPath := filepath.Join(dir, "b.db")
	b := openNode(t, c, bPath)

	recs := demodata.Shipments()
	half := len(recs) / 2
	loadDemo(t, a, recs[:half])
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.WaitRevision(ctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	sameView(t, "following", a, b)
	b.Close()

	var last uint64
	rest := recs[half:]
	for len(rest) > 0 {
		n := min(1000, len(rest))
		res, err := a.SubmitShipments("demo", rest[:n], false).Wait()
		if err != nil {
			t.Fatal(err)
		}
		last, rest = res.Revision, rest[n:]
	}
	if _, err := a.Retract("demo", []string{recs[0].ID, recs[half].ID}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client().Compact(ctx, int64(last)); err != nil {
		t.Fatalf("compact etcd: %v", err)
	}

	b = openNode(t, c, bPath)
	defer b.Close()
	if b.Revision() != a.Revision() {
		t.Fatalf("rebuilt B at revision %d, A at %d", b.Revision(), a.Revision())
	}
	if got := b.OldestRevision(); got != b.View().Revision() {
		t.Fatalf("rebuilt B retains history from %d; want only its rebuild revision %d", got, b.View().Revision())
	}
	sameView(t, "rebuilt", a, b)

	// B follows again after the rebuild.
	more := recs[:3]
	for i := range more {
		more[i].ID += "-again"
	}
	res, err := a.SubmitShipments("demo", more, false).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRevision(ctx, res.Revision); err != nil {
		t.Fatal(err)
	}
	sameView(t, "following after the rebuild", a, b)
}

// TestRebuildWhileRunning cuts a running node off etcd (its only member is
// stopped), writes and compacts etcd past its view through another node,
// and brings the member back: the node's watch hears of the compaction,
// rebuilds in place, and serves what the other node serves.
func TestRebuildWhileRunning(t *testing.T) {
	c := startCluster(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: []string{c.Endpoint(0)}, Path: filepath.Join(dir, "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := openNode(t, c, filepath.Join(dir, "b.db"))
	defer b.Close()
	recs := demodata.Shipments()[:3000]
	loadDemo(t, b, recs[:1000])
	if err := a.WaitRevision(ctx, b.Revision()); err != nil {
		t.Fatal(err)
	}
	before := a.Revision()

	c.Stop(0)
	var last uint64
	for i := 1000; i < len(recs); i += 500 {
		res, err := b.SubmitShipments("demo", recs[i:i+500], false).Wait()
		if err != nil {
			t.Fatal(err)
		}
		last = res.Revision
	}
	if _, err := b.Client().Compact(ctx, int64(last)); err != nil {
		t.Fatalf("compact: %v", err)
	}
	if a.Revision() != before {
		t.Fatalf("A moved from %d to %d with its only member stopped", before, a.Revision())
	}
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitRevision(ctx, last); err != nil {
		t.Fatal(err)
	}
	if got := a.OldestRevision(); got <= before {
		t.Fatalf("A's history starts at %d: it did not rebuild (its view was at %d)", got, before)
	}
	sameView(t, "rebuilt while running", a, b)
}

// TestRebuildHidesPartialView pauses a live rebuild after its fresh view is
// open and before it is filled, and reads there as a client with
// min_revision would: WaitRevision passes on the old applied revision, so
// every read must either fail (the client retries) or answer with at least
// what that revision held, never from the empty view.
func TestRebuildHidesPartialView(t *testing.T) {
	c := startCluster(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: []string{c.Endpoint(0)}, Path: filepath.Join(dir, "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := openNode(t, c, filepath.Join(dir, "b.db"))
	defer b.Close()
	recs := demodata.Shipments()[:700]
	loadDemo(t, b, recs[:500])
	if err := a.WaitRevision(ctx, b.Revision()); err != nil {
		t.Fatal(err)
	}
	before := a.Revision()
	wantCells := cells(t, a)
	if len(wantCells) == 0 {
		t.Fatal("no cells before the rebuild: the check would be empty")
	}
	chip := catalog.Chips()[0].ID

	paused := make(chan struct{})
	var once sync.Once
	etcdstore.SetRebuildHook(a, func() {
		once.Do(func() {
			defer close(paused)
			wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
			defer wcancel()
			if err := a.WaitRevision(wctx, before); err != nil {
				t.Errorf("mid-rebuild WaitRevision(%d): %v; want it to pass (Revision never goes down)", before, err)
			}
			if got := a.Revision(); got < before {
				t.Errorf("mid-rebuild Revision() = %d, below %d", got, before)
			}
			if _, err := a.Chip(chip); err != nil && estimator.ErrorCode(err) == estimator.ENotFound {
				t.Errorf("mid-rebuild Chip(%s) answered NotFound from a view missing revision %d", chip, before)
			}
			if got, _, err := a.View().AllCells(); err == nil {
				if d := cmp.Diff(wantCells, got); d != "" {
					t.Errorf("mid-rebuild read answered from a partial view (-want +got):\n%s", d)
				}
			}
		})
	})

	c.Stop(0)
	// Two writes: etcd compacts below the last one, so A's next revision
	// is gone only if there is one in between.
	var res store.IngestResult
	for i := 500; i < len(recs); i += 100 {
		res, err = b.SubmitShipments("demo", recs[i:i+100], false).Wait()
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Client().Compact(ctx, int64(res.Revision)); err != nil {
		t.Fatalf("compact: %v", err)
	}
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-paused:
	case <-ctx.Done():
		t.Fatal("A never rebuilt: the mid-rebuild reads did not run")
	}
	if err := a.WaitRevision(ctx, res.Revision); err != nil {
		t.Fatal(err)
	}
	sameView(t, "rebuilt while running", a, b)
}
