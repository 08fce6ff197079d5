package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// everyKindOfWrite commits one write of each kind that logs a change, a group
// of two shipment batches among them, with scores moving.
func everyKindOfWrite(t *testing.T, db *store.DB) {
	t.Helper()
	putObs(t, db, "stats", false, fullYear(2024)...)
	ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a"), general("g2", beijing, q(2024, 2), 3, "cpu-a"))
	a := db.NewPending("acme", mustValid(t, general("g3", guangdong, q(2024, 3), 4, "cpu-b")), false)
	b := db.NewPending("zeta", mustValid(t, general("z1", beijing, q(2024, 3), 2, "cpu-a")), false)
	db.CommitGroup(a, b)
	for _, p := range []*store.Batch{a, b} {
		if _, err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Retract("acme", []string{"g2"}, false); err != nil {
		t.Fatal(err)
	}
	spec := cpuSpec("cpu-a")
	spec.Source = "revised datasheet"
	if _, err := db.PutChip(spec); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutMethodology(weightedMethodology()); err != nil {
		t.Fatal(err)
	}
}

// sameChanges fails unless got and want are the same changes: same revision,
// time and log encoding (scores hold NaN, which DeepEqual never matches).
func sameChanges(t *testing.T, what string, got, want []store.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d changes, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, errG := store.EncodeChange(got[i])
		w, errW := store.EncodeChange(want[i])
		if errG != nil || errW != nil || got[i].Revision != want[i].Revision || !reflect.DeepEqual(got[i].Time, want[i].Time) || !bytes.Equal(g, w) {
			t.Errorf("%s: change %d =\n%+v\nwant\n%+v", what, i, got[i], want[i])
		}
	}
}

// drain reads sub until it has every change up to rev.
func drain(t *testing.T, sub store.Subscription, rev uint64, limit int) []store.Change {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []store.Change
	for len(out) == 0 || out[len(out)-1].Revision < rev {
		cs, err := sub.Next(ctx, limit)
		if err != nil {
			t.Fatalf("Next after %d changes: %v", len(out), err)
		}
		if limit > 0 && len(cs) > limit {
			t.Fatalf("Next(%d) returned %d changes", limit, len(cs))
		}
		out = append(out, cs...)
	}
	return out
}

// TestSubscribeDeliversTheLog: what the commit path hands subscribers in
// memory is exactly what the change log on disk holds (and what a reopened
// store reads), for every kind of write, a group commit included; and
// Changes answers the same from memory as from disk.
func TestSubscribeDeliversTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := openDB(t, path)
	seedChips(t, db)
	sub := db.Subscribe(1)
	everyKindOfWrite(t, db)
	rev := db.Revision()
	live := drain(t, sub, rev, 0)
	disk, err := db.LogChanges(0)
	if err != nil {
		t.Fatal(err)
	}
	sameChanges(t, "Subscribe vs log", live, disk)
	for i, c := range live {
		if c.Revision != uint64(i+1) {
			t.Fatalf("change %d has revision %d, want %d", i, c.Revision, i+1)
		}
	}
	if rev < 9 || live[len(live)-1].Methodology == 0 || len(live[len(live)-1].Scores) == 0 {
		t.Fatalf("the writes should log 9 or more revisions, the last a methodology with scores: %+v", live[len(live)-1])
	}
	mem, err := db.Changes(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameChanges(t, "Changes(4) vs log", mem, disk[3:])
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := openDB(t, path)
	again, err := reopened.Changes(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameChanges(t, "after reopening", again, live)
}

// seedChips stores the chips seed stores, in a store opened by the test.
func seedChips(t *testing.T, db *store.DB) {
	t.Helper()
	for _, spec := range []estimator.ChipSpec{cpuSpec("cpu-a"), cpuSpec("cpu-b"), gpuSpec("gpu-a")} {
		if _, err := db.PutChip(spec); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSubscribeBehindTheWindow: a subscriber further behind than the feed's
// memory window reads the log on disk, then joins the window, with every
// revision once and in order whatever its limit; Changes does the same.
func TestSubscribeBehindTheWindow(t *testing.T) {
	db := seed(t)
	db.SetFeedWindow(3)
	for i := range 12 {
		ingest(t, db, "acme", false, general(fmt.Sprint("r", i), guangdong, q(2024, 1), 1, "cpu-a"))
	}
	rev := db.Revision()
	disk, err := db.LogChanges(0)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 1, 2, 5} {
		got := drain(t, db.Subscribe(2), rev, limit)
		sameChanges(t, fmt.Sprint("from 2, limit ", limit), got, disk[1:])
	}
	// Writes that come while a subscriber is on disk reach it too.
	sub := db.Subscribe(1)
	first, err := sub.Next(context.Background(), 4)
	if err != nil || len(first) != 4 {
		t.Fatalf("Next = %d changes, %v", len(first), err)
	}
	for i := range 5 {
		ingest(t, db, "acme", false, general(fmt.Sprint("s", i), guangdong, q(2024, 1), 1, "cpu-a"))
	}
	rest := drain(t, sub, db.Revision(), 0)
	all, _ := db.LogChanges(0)
	sameChanges(t, "across later writes", append(first, rest...), all)
	got, err := db.Changes(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameChanges(t, "Changes(3)", got, all[2:])
}

// TestSubscribeCompacted: a subscription or a read positioned below the
// oldest retained revision fails with a CompactedError naming it, in memory
// as on disk; Changes(0) reads what is retained.
func TestSubscribeCompacted(t *testing.T) {
	db := seed(t) // revisions 1-3
	for i := range 5 {
		ingest(t, db, "acme", false, general(fmt.Sprint("r", i), guangdong, q(2024, 1), 1, "cpu-a"))
	}
	behind := db.Subscribe(2)
	if _, err := db.Compact(6); err != nil {
		t.Fatal(err)
	}
	if db.OldestRevision() != 6 {
		t.Fatalf("OldestRevision = %d, want 6", db.OldestRevision())
	}
	for name, err := range map[string]error{
		"Subscribe(2).Next": func() error { _, err := behind.Next(context.Background(), 0); return err }(),
		"Changes(5)":        func() error { _, err := db.Changes(5, 0); return err }(),
		"Changes(1)":        func() error { _, err := db.Changes(1, 0); return err }(),
	} {
		if oldest, ok := store.IsCompacted(err); !ok || oldest != 6 {
			t.Errorf("%s: %v, want compacted with oldest 6", name, err)
		}
	}
	if cs, err := db.Changes(0, 0); err != nil || len(cs) != 3 || cs[0].Revision != 6 {
		t.Errorf("Changes(0) = %d changes, %v; want revisions 6-8", len(cs), err)
	}
	if cs := drain(t, db.Subscribe(6), 8, 0); len(cs) != 3 {
		t.Errorf("Subscribe(6) delivered %d changes, want 3", len(cs))
	}
	st := db.Stats()
	if st.Revision != 8 || st.OldestRevision != 6 || st.ChangeLogEntries != 3 {
		t.Errorf("Stats = %+v, want revision 8, oldest 6, 3 entries", st)
	}
}

// TestSubscribeWaits: Next waits for the next commit, not for a write that
// commits nothing; it ends with ctx, and with EUnavailable when the store
// closes.
func TestSubscribeWaits(t *testing.T) {
	db := seed(t)
	sub := db.Subscribe(db.Revision() + 1)
	got := make(chan []store.Change, 1)
	go func() {
		cs, err := sub.Next(context.Background(), 0)
		if err != nil {
			t.Error(err)
		}
		got <- cs
	}()
	if _, err := db.PutChip(cpuSpec("cpu-a")); err != nil { // unchanged: no revision
		t.Fatal(err)
	}
	res := ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 1, "cpu-a"))
	select {
	case cs := <-got:
		if len(cs) != 1 || cs[0].Revision != res.Revision || cs[0].Kind != store.ChangeIngest {
			t.Errorf("Next = %+v, want the ingest at %d", cs, res.Revision)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after a commit")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := sub.Next(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next with nothing committed = %v, want the context's deadline", err)
	}
	closed := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background(), 0)
		closed <- err
	}()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if estimator.ErrorCode(err) != estimator.EUnavailable {
			t.Errorf("Next on a closed store = %v, want unavailable", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return when the store closed")
	}
}

// TestSubscribeConcurrentWriters: writes of different kinds from several
// goroutines reach a subscriber in revision order with no gap and no
// repeat, and Revision is never behind a write that has returned.
func TestSubscribeConcurrentWriters(t *testing.T) {
	db := seed(t)
	db.SetFeedWindow(8) // some reads fall behind the window
	from := db.Revision() + 1
	sub := db.Subscribe(from)
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []uint64
	ack := func(rev uint64, err error) {
		if err != nil {
			t.Error(err)
			return
		}
		if got := db.Revision(); got < rev {
			t.Errorf("Revision %d after a write at %d returned", got, rev)
		}
		mu.Lock()
		acked = append(acked, rev)
		mu.Unlock()
	}
	wg.Go(func() {
		for i := range n {
			res, err := db.IngestShipments("acme", mustValid(t, general(fmt.Sprint("a", i), guangdong, q(2024, 1), 1, "cpu-a")), false)
			ack(res.Revision, err)
		}
	})
	wg.Go(func() {
		for i := range n {
			res, err := db.PutObservations("stats", []estimator.Observation{obs(beijing, 2024, observedLeaves()[0], float64(i+1))}, true)
			ack(res.Revision, err)
		}
	})
	wg.Go(func() {
		for i := range n {
			spec := gpuSpec("gpu-a")
			spec.Source = fmt.Sprint("datasheet ", i)
			res, err := db.PutChip(spec)
			ack(res.Revision, err)
		}
	})
	var got []store.Change
	done := make(chan struct{})
	go func() {
		defer close(done)
		got = drain(t, sub, from+3*n-1, 3)
	}()
	wg.Wait()
	<-done
	if len(got) != 3*n {
		t.Fatalf("%d changes delivered, want %d", len(got), 3*n)
	}
	seen := map[uint64]bool{}
	for i, c := range got {
		if c.Revision != from+uint64(i) {
			t.Fatalf("change %d has revision %d, want %d (in order, no gap, no repeat)", i, c.Revision, from+uint64(i))
		}
		seen[c.Revision] = true
	}
	for _, rev := range acked {
		if !seen[rev] {
			t.Errorf("acknowledged revision %d not delivered", rev)
		}
	}
}

// TestBackupAndStats: Backup writes a file that opens as a store at the
// revision it reports, with the same cells; Stats reports the file, the
// group commits and the read transactions.
func TestBackupAndStats(t *testing.T) {
	db := seed(t)
	ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a"))
	var buf bytes.Buffer
	info, err := db.Backup(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if info.Revision != db.Revision() || info.Size != int64(buf.Len()) {
		t.Errorf("Backup = %+v, want revision %d and %d bytes", info, db.Revision(), buf.Len())
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored := openDB(t, path)
	if restored.Revision() != info.Revision || !reflect.DeepEqual(allCells(t, restored), allCells(t, db)) {
		t.Errorf("restored store at %d with cells %v, want %d with %v", restored.Revision(), allCells(t, restored), info.Revision, allCells(t, db))
	}
	st := db.Stats()
	if st.FileBytes <= 0 || st.PageWrites <= 0 || st.CommitGroups != 1 || st.CommitGroupBatches != 1 || st.Revision != 4 {
		t.Errorf("Stats = %+v", st)
	}
	before := st.ReadTxs
	allCells(t, db)
	if got := db.Stats().ReadTxs; got != before+1 {
		t.Errorf("ReadTxs %d after one read, want %d", got, before+1)
	}
}

// TestSubscribeRealClock: with the wall clock (monotonic reading, local
// zone), a change from memory still equals the one decoded from the log.
func TestSubscribeRealClock(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "store.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seedChips(t, db)
	ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a"))
	live := drain(t, db.Subscribe(1), db.Revision(), 0)
	disk, err := db.LogChanges(0)
	if err != nil {
		t.Fatal(err)
	}
	sameChanges(t, "wall clock", live, disk)
}

// BenchmarkCommittedChange is what the watch hub pays to learn one committed
// revision: "log" is how it did before Subscribe (a read transaction on the
// change log and decoding the entry), "feed" is Subscribe handing over the
// change the commit already had in memory. Each change carries the cells of
// a 100-record batch and the scores it moved.
func BenchmarkCommittedChange(b *testing.B) {
	db := seed(b)
	putObs(b, db, "stats", false, fullYear(2024)...)
	rng := rand.New(rand.NewPCG(3, 4))
	first := db.Revision() + 1
	const n = 64
	for i := range n {
		recs := make([]estimator.Record, 100)
		for j := range recs {
			recs[j] = randomRecord(rng, "")
			recs[j].ID = fmt.Sprint("c", i, "-", j)
			recs[j].Period = q(2024, 1+j%4)
		}
		if _, err := db.IngestShipments("bench", recs, false); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("log", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if cs, err := db.LogChangesLimit(first+uint64(i%n), 1); err != nil || len(cs) != 1 {
				b.Fatal(cs, err)
			}
			i++
		}
	})
	b.Run("feed", func(b *testing.B) {
		ctx := context.Background()
		i := 0
		var sub store.Subscription
		for b.Loop() {
			if i%n == 0 {
				sub = db.Subscribe(first)
			}
			if cs, err := sub.Next(ctx, 1); err != nil || len(cs) != 1 {
				b.Fatal(cs, err)
			}
			i++
		}
	})
}
