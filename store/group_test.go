package store_test

import (
	"reflect"
	"sync"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// TestCommitGroup commits good, rejected and resent batches of two vendors as
// one group and checks each got what it would have alone: the rejected ones
// their error and nothing stored, the others their own revision and
// change-log entry in submission order, and the scores, recomputed once,
// logged with the group's last revision.
func TestCommitGroup(t *testing.T) {
	db := indexDB(t, 2023, 2024)
	base := revision(t, db)
	good := []estimator.Record{general("n1", guangdong, q(2024, 2), 7, "cpu-a")}
	a := db.NewPending("acme", mustValid(t, good...), false)
	b := db.NewPending("acme", mustValid(t, general("n2", guangdong, q(2024, 2), 1, "no-such-chip")), false)
	c := db.NewPending("acme", mustValid(t, general("n1", guangdong, q(2024, 2), 8, "cpu-a")), false)
	d := db.NewPending("zeta", mustValid(t, general("z1", beijing, q(2023, 4), 3, "cpu-b")), false)
	e := db.NewPending("acme", mustValid(t, good...), false)
	db.CommitGroup(a, b, c, d, e)

	res := func(p store.Pending) store.IngestResult {
		t.Helper()
		r, err := p.Wait()
		if err != nil {
			t.Fatalf("batch failed: %v", err)
		}
		return r
	}
	if got := res(a); got != (store.IngestResult{Revision: base + 1, Created: 1}) {
		t.Errorf("a = %+v, want created at %d", got, base+1)
	}
	_, err := b.Wait()
	wantError(t, err, estimator.EInvalid, "records[0].components[0].chip_id")
	_, err = c.Wait()
	wantError(t, err, estimator.EAlreadyExists, "records[0].record_id")
	dr := res(d)
	if dr.Revision != base+2 || dr.Created != 1 || dr.ScoresChanged == 0 {
		t.Errorf("d = %+v, want created at %d with the group's score changes", dr, base+2)
	}
	if got := res(e); got != (store.IngestResult{Revision: base + 2, Unchanged: 1}) {
		t.Errorf("e = %+v, want unchanged at %d", got, base+2)
	}
	changes, err := db.Changes(base+1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Actor != "acme" || changes[1].Actor != "zeta" {
		t.Fatalf("change log after the group = %+v, want acme then zeta", changes)
	}
	if len(changes[0].Scores) != 0 || len(changes[1].Scores) != dr.ScoresChanged {
		t.Errorf("scores logged %d and %d, want 0 and %d", len(changes[0].Scores), len(changes[1].Scores), dr.ScoresChanged)
	}
	verifyClean(t, db)
	for _, y := range []int{2023, 2024} {
		sameScores(t, "after the group", storedScores(t, db, y), freshScores(t, db, y, 0))
	}

	// The same batches one by one leave the same cells and scores.
	one := indexDB(t, 2023, 2024)
	ingest(t, one, "acme", false, good...)
	ingest(t, one, "zeta", false, general("z1", beijing, q(2023, 4), 3, "cpu-b"))
	if got, want := allCells(t, db), allCells(t, one); !reflect.DeepEqual(got, want) {
		t.Errorf("cells after the group = %v\nwant, as one by one, %v", got, want)
	}
	for _, y := range []int{2023, 2024} {
		sameScores(t, "group vs one by one", storedScores(t, db, y), storedScores(t, one, y))
	}
}

// TestCommitGroupOverflow refuses the batch whose cells would overflow and
// commits its neighbours.
func TestCommitGroupOverflow(t *testing.T) {
	db := newDB(t)
	huge := gpuSpec("huge")
	huge.Kind, huge.Rates = estimator.KindCPU, []estimator.Rate{{Precision: estimator.FP32, PeakFLOPS: 1e15}}
	if _, err := db.PutChip(huge); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutChip(cpuSpec("cpu-a")); err != nil {
		t.Fatal(err)
	}
	big := func(id string) estimator.Record {
		r := general(id, guangdong, q(2024, 1), estimator.MaxUnits, "huge")
		r.Components[0].Count = 5
		return r
	}
	first := db.NewPending("acme", mustValid(t, big("b1")), false)
	second := db.NewPending("acme", mustValid(t, big("b2")), false)
	third := db.NewPending("acme", mustValid(t, general("g1", beijing, q(2024, 1), 2, "cpu-a")), false)
	db.CommitGroup(first, second, third)
	if _, err := first.Wait(); err != nil {
		t.Fatal(err)
	}
	_, err := second.Wait()
	wantError(t, err, estimator.EResourceExhausted)
	if r, err := third.Wait(); err != nil || r.Created != 1 {
		t.Fatalf("third = %+v, %v; want created", r, err)
	}
	if _, err := db.Record("acme", "b2"); err == nil {
		t.Error("the refused batch's record is stored")
	}
	verifyClean(t, db)
}

// TestSubmitPipelined submits a vendor's batches without waiting, from
// several vendors at once, and checks that each vendor's batches applied in
// the order submitted and that every batch has its own revision.
func TestSubmitPipelined(t *testing.T) {
	db := seed(t)
	base := revision(t, db)
	const vendors, batches = 4, 20
	revs := make(chan uint64, vendors*batches)
	var wg sync.WaitGroup
	for v := range vendors {
		vendor := string(rune('a'+v)) + "corp"
		wg.Go(func() {
			var pending []store.Pending
			for i := range batches {
				// Every batch replaces the same record: only order decides
				// which units are left.
				r := general("r", guangdong, q(2024, 1), int64(i+1), "cpu-a")
				pending = append(pending, db.SubmitShipments(vendor, mustValid(t, r), true))
			}
			for i, p := range pending {
				res, err := p.Wait()
				if err != nil {
					t.Errorf("%s batch %d: %v", vendor, i, err)
					return
				}
				revs <- res.Revision
			}
			if rec, err := db.Record(vendor, "r"); err != nil || rec.Units != batches {
				t.Errorf("%s record = %+v, %v; want the last batch's %d units", vendor, rec, err, batches)
			}
		})
	}
	wg.Wait()
	close(revs)
	seen := map[uint64]bool{}
	for r := range revs {
		if seen[r] {
			t.Errorf("revision %d given to two batches", r)
		}
		seen[r] = true
	}
	if got, want := revision(t, db), base+vendors*batches; got != want {
		t.Errorf("revision = %d, want %d (one per batch)", got, want)
	}
	verifyClean(t, db)
}

// TestCloseCommitsSubmitted: Close commits what was submitted before it, and
// refuses later batches with EUnavailable.
func TestCloseCommitsSubmitted(t *testing.T) {
	path := t.TempDir() + "/c.db"
	db := openDB(t, path)
	if _, err := db.PutChip(cpuSpec("cpu-a")); err != nil {
		t.Fatal(err)
	}
	var pending []store.Pending
	for i := range 10 {
		r := general("r"+string(rune('0'+i)), guangdong, q(2024, 1), 1, "cpu-a")
		pending = append(pending, db.SubmitShipments("acme", mustValid(t, r), false))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range pending {
		if _, err := p.Wait(); err != nil {
			t.Errorf("batch %d submitted before Close: %v", i, err)
		}
	}
	_, err := db.IngestShipments("acme", mustValid(t, general("late", guangdong, q(2024, 1), 1, "cpu-a")), false)
	wantError(t, err, estimator.EUnavailable)
	db = openDB(t, path)
	if got := len(allCells(t, db)); got != 1 {
		t.Errorf("cells after reopen = %d, want 1", got)
	}
	if rec, err := db.Record("acme", "r9"); err != nil || rec.Units != 1 {
		t.Errorf("r9 after reopen = %+v, %v", rec, err)
	}
}

// TestPreparedStale: a chip written between a batch's preparation and its
// commit makes the committer derive the batch again, so the stored
// contributions follow the catalog the batch commits with.
func TestPreparedStale(t *testing.T) {
	db := seed(t)
	p := db.NewPending("acme", mustValid(t,
		general("s1", guangdong, q(2024, 1), 4, "cpu-a"),
		aiServer("s2", beijing, q(2024, 2), 2, "gpu-a", "cpu-a")), false)
	faster := cpuSpec("cpu-a")
	faster.ClockHz *= 3
	if _, err := db.PutChip(faster); err != nil {
		t.Fatal(err)
	}
	db.CommitGroup(p)
	if r, err := p.Wait(); err != nil || r.Created != 2 {
		t.Fatalf("stale batch = %+v, %v; want 2 created", r, err)
	}
	verifyClean(t, db) // re-derives every record against the current catalog

	// A resend prepared now, after the chip write, is unchanged.
	again := db.NewPending("acme", mustValid(t,
		general("s1", guangdong, q(2024, 1), 4, "cpu-a"),
		aiServer("s2", beijing, q(2024, 2), 2, "gpu-a", "cpu-a")), false)
	before := allCells(t, db)
	db.CommitGroup(again)
	if r, err := again.Wait(); err != nil || r.Unchanged != 2 {
		t.Fatalf("resend = %+v, %v; want 2 unchanged", r, err)
	}
	if after := allCells(t, db); !reflect.DeepEqual(after, before) {
		t.Errorf("a resend moved cells: %v, want %v", after, before)
	}
	verifyClean(t, db)
}
