package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/etcdstore"
	"github.com/computescale/computescale/internal/etcdembed"
	"github.com/computescale/computescale/store"
)

const guangdong uint32 = 440000

func cpuSpec(id string) estimator.ChipSpec {
	return estimator.ChipSpec{
		ID: id, Vendor: "Acme", Model: "C2", Kind: estimator.KindCPU, Cores: 2, ClockHz: 1e9,
		Rates:  []estimator.Rate{{Precision: estimator.FP32, FlopsPerCycle: 8}, {Precision: estimator.FP64, FlopsPerCycle: 4}},
		Source: "test sheet",
	}
}

func general(id string, units int64) estimator.Record {
	return estimator.Record{ID: id, Province: guangdong, Period: estimator.Period{Year: 2024, Quarter: 2},
		Class: estimator.ClassGeneral, Units: units, Components: []estimator.Component{{ChipID: "cpu", Count: 2}}}
}

// startCluster starts an etcd whose limits fit computescale's batches.
func startCluster(t *testing.T) *etcdembed.Cluster {
	t.Helper()
	return startClusterWith(t, etcdembed.Options{MaxTxnOps: 10000, MaxRequestBytes: 16 << 20})
}

// startClusterWith starts an etcd with o in a fresh directory, closed when
// the test ends.
func startClusterWith(t *testing.T, o etcdembed.Options) *etcdembed.Cluster {
	t.Helper()
	o.Dir = t.TempDir()
	c, err := etcdembed.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func openNode(t *testing.T, c *etcdembed.Cluster, path string) *etcdstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: c.Endpoints(), Path: path})
	if err != nil {
		t.Fatalf("open node %s: %v", path, err)
	}
	return s
}

// twoNodes opens nodes A and B on one cluster, each with its own file;
// they close when the test ends.
func twoNodes(t *testing.T) (a, b *etcdstore.Store) {
	t.Helper()
	c := startCluster(t)
	dir := t.TempDir()
	a = openNode(t, c, filepath.Join(dir, "a.db"))
	t.Cleanup(func() { a.Close() })
	b = openNode(t, c, filepath.Join(dir, "b.db"))
	t.Cleanup(func() { b.Close() })
	return a, b
}

func cells(t *testing.T, s *etcdstore.Store) []estimator.Cell {
	t.Helper()
	cs, _, err := s.View().AllCells()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func batch(from, n int) []estimator.Record {
	recs := make([]estimator.Record, n)
	for i := range recs {
		recs[i] = general(fmt.Sprintf("r%05d", from+i), int64(1+(from+i)%7))
	}
	return recs
}

// TestNodesAgree ingests through node A and reads through node B after
// waiting for A's ack revision: the same cells, the same revision, and a
// changed resend refused on either node.
func TestNodesAgree(t *testing.T) {
	a, b := twoNodes(t)

	if _, err := a.PutChip(cpuSpec("cpu")); err != nil {
		t.Fatalf("PutChip: %v", err)
	}
	res, err := a.SubmitShipments("acme", batch(0, 200), false).Wait()
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if res.Created != 200 || res.Revision == 0 {
		t.Fatalf("ingest result %+v", res)
	}
	if a.Revision() < res.Revision {
		t.Fatalf("A acked %d but has applied only %d", res.Revision, a.Revision())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.WaitRevision(ctx, res.Revision); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(cells(t, a), cells(t, b)); d != "" {
		t.Fatalf("cells differ between nodes (-A +B):\n%s", d)
	}
	if len(cells(t, b)) == 0 {
		t.Fatal("node B has no cells")
	}
	if ra, rb := a.View().Revision(), b.View().Revision(); ra != rb || ra != res.Revision {
		t.Fatalf("view revisions A %d, B %d, ack %d", ra, rb, res.Revision)
	}

	// An identical resend through B changes nothing.
	again, err := b.SubmitShipments("acme", batch(0, 200), false).Wait()
	if err != nil || again.Unchanged != 200 || again.Created != 0 {
		t.Fatalf("identical resend: %+v, %v", again, err)
	}
	// A changed resend is AlreadyExists on either node; nothing moves.
	changed := batch(0, 3)
	changed[2].Units = 999
	for name, s := range map[string]*etcdstore.Store{"A": a, "B": b} {
		_, err := s.SubmitShipments("acme", changed, false).Wait()
		if estimator.ErrorCode(err) != estimator.EAlreadyExists {
			t.Fatalf("changed resend through %s: %v, want AlreadyExists", name, err)
		}
	}
	// Another vendor's record with the same id is its own.
	other, err := b.SubmitShipments("bolt", changed, false).Wait()
	if err != nil || other.Created != 3 {
		t.Fatalf("other vendor: %+v, %v", other, err)
	}
	if err := a.WaitRevision(ctx, other.Revision); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(cells(t, a), cells(t, b)); d != "" {
		t.Fatalf("cells differ after the second vendor (-A +B):\n%s", d)
	}
	// A retraction through B.
	rr, err := b.Retract("bolt", []string{"r00000", "r00001"}, false)
	if err != nil || rr.Retracted != 2 {
		t.Fatalf("retract: %+v, %v", rr, err)
	}
	if _, err := a.Retract("bolt", []string{"r00000"}, false); estimator.ErrorCode(err) != estimator.ENotFound {
		t.Fatalf("retract missing: %v, want NotFound", err)
	}
}

// TestEtcdDefaultLimits runs on an etcd with its default --max-txn-ops
// (128): a batch that fits is stored (its reads go in chunks), a larger one
// is ResourceExhausted naming the flag, and nothing of it is stored.
func TestEtcdDefaultLimits(t *testing.T) {
	c := startClusterWith(t, etcdembed.Options{Members: 1})
	s := openNode(t, c, filepath.Join(t.TempDir(), "a.db"))
	defer s.Close()
	if _, err := s.PutChip(cpuSpec("cpu")); err != nil {
		t.Fatal(err)
	}
	if res, err := s.SubmitShipments("acme", batch(0, 120), false).Wait(); err != nil || res.Created != 120 {
		t.Fatalf("120 records: %+v, %v", res, err)
	}
	_, err := s.SubmitShipments("acme", batch(1000, 300), false).Wait()
	var de *estimator.Error
	if !errors.As(err, &de) || de.Code != estimator.EResourceExhausted || !strings.Contains(de.Message, "--max-txn-ops") {
		t.Fatalf("300 records: %v, want ResourceExhausted naming --max-txn-ops", err)
	}
	if _, err := s.View().Record("acme", batch(1000, 1)[0].ID); estimator.ErrorCode(err) != estimator.ENotFound {
		t.Fatalf("a record of the refused batch: %v, want NotFound", err)
	}
	// An identical resend of the first batch needs reads only: a no-op.
	if res, err := s.SubmitShipments("acme", batch(0, 120), false).Wait(); err != nil || res.Unchanged != 120 {
		t.Fatalf("resend: %+v, %v", res, err)
	}
}

// TestObservationBounds checks the plausibility bounds in cluster mode: a
// value far above the largest stored one is refused through any node, with
// replace and force it is stored, and both nodes then agree.
func TestObservationBounds(t *testing.T) {
	a, b := twoNodes(t)
	code := estimator.Indicators()[0].Code
	first := []estimator.Observation{{Province: guangdong, Year: 2024, Indicator: code, Value: 10, Unit: "u", Source: "s"}}
	if _, err := a.PutObservationsWith("stats", first, store.ObservationOptions{}); err != nil {
		t.Fatal(err)
	}
	wild := []estimator.Observation{{Province: 110000, Year: 2024, Indicator: code, Value: 10 * 1000, Unit: "u", Source: "s"}}
	if _, err := b.PutObservationsWith("stats", wild, store.ObservationOptions{}); estimator.ErrorCode(err) != estimator.EInvalid {
		t.Fatalf("implausible value through B: %v, want Invalid", err)
	}
	res, err := b.PutObservationsWith("stats", wild, store.ObservationOptions{Replace: true, Force: true})
	if err != nil || res.Created != 1 {
		t.Fatalf("forced: %+v, %v", res, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.WaitRevision(ctx, res.Revision); err != nil {
		t.Fatal(err)
	}
	oa, _, err := a.Observations(2024)
	if err != nil {
		t.Fatal(err)
	}
	ob, _, err := b.Observations(2024)
	if err != nil {
		t.Fatal(err)
	}
	if len(oa) != 2 {
		t.Fatalf("A holds %d observations of 2024, want 2", len(oa))
	}
	if d := cmp.Diff(oa, ob); d != "" {
		t.Fatalf("observations differ (-A +B):\n%s", d)
	}
}

// TestRefusesSingleNodeFile points a node at an existing single-node
// database: it refuses to start rather than replace the file, which stays.
func TestRefusesSingleNodeFile(t *testing.T) {
	c := startClusterWith(t, etcdembed.Options{Members: 1})
	path := filepath.Join(t.TempDir(), "single.db")
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutChip(cpuSpec("cpu")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = etcdstore.Open(ctx, etcdstore.Options{Endpoints: c.Endpoints(), Path: path})
	if estimator.ErrorCode(err) != estimator.EFailedPrecondition {
		t.Fatalf("Open on a single-node file: %v, want FailedPrecondition", err)
	}
	db, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Chip("cpu"); err != nil {
		t.Fatalf("the single-node file lost its chip: %v", err)
	}
}

// TestFailedOpenReleasesView: an Open whose rebuild fails (here an
// undecodable value under the prefix) must close the view it opened, or its
// bbolt lock keeps every later Open of the path (the retry after the cause
// is fixed) waiting.
func TestFailedOpenReleasesView(t *testing.T) {
	c := startClusterWith(t, etcdembed.Options{Members: 1})
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/computescale/c/garbage", "not json"); err != nil {
		t.Fatal(err)
	}
	opts := etcdstore.Options{Endpoints: c.Endpoints(), Path: filepath.Join(t.TempDir(), "view.db"),
		Local: store.Options{Timeout: 500 * time.Millisecond}}
	if s, err := etcdstore.Open(ctx, opts); err == nil {
		s.Close()
		t.Fatal("Open with an undecodable key succeeded")
	}
	if _, err := cli.Delete(ctx, "/computescale/c/garbage"); err != nil {
		t.Fatal(err)
	}
	s, err := etcdstore.Open(ctx, opts)
	if err != nil {
		t.Fatalf("Open after the cause was removed: %v", err)
	}
	s.Close()
}

// TestSubmitAfterClose: a batch submitted to a closed store is refused with
// EUnavailable; it must never wait forever (the queue has room, and nothing
// reads it any more).
func TestSubmitAfterClose(t *testing.T) {
	c := startClusterWith(t, etcdembed.Options{Members: 1})
	s := openNode(t, c, filepath.Join(t.TempDir(), "view.db"))
	s.Close()
	for i := range 100 {
		done := make(chan error, 1)
		go func() {
			_, err := s.SubmitShipments("v", []estimator.Record{general("r", 1)}, false).Wait()
			done <- err
		}()
		select {
		case err := <-done:
			if estimator.ErrorCode(err) != estimator.EUnavailable {
				t.Fatalf("submit %d after Close: %v, want Unavailable", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("submit %d after Close: Wait has not returned after 5 s", i)
		}
	}
}
