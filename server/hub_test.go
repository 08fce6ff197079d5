package server_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// gapped is another implementation of store.Store over a *store.DB whose
// revisions have gaps, as an etcd revision does: the inner revision r is
// revision 2r outside, so every odd revision is a gap. The server must serve
// it exactly as it serves the bbolt store (the contract allows gaps).
type gapped struct{ store.Store }

func out(r uint64) uint64 { return 2 * r }

// in is the first inner revision at or after the outer revision r.
func in(r uint64) uint64 { return (r + 1) / 2 }

func outChanges(cs []store.Change) []store.Change {
	res := make([]store.Change, len(cs))
	for i, c := range cs {
		c.Revision = out(c.Revision)
		res[i] = c
	}
	return res
}

func outErr(err error) error {
	var ce *store.CompactedError
	if errors.As(err, &ce) {
		return &store.CompactedError{From: out(ce.From), Oldest: out(ce.Oldest)}
	}
	return err
}

func (g gapped) PutChip(spec estimator.ChipSpec) (store.PutChipResult, error) {
	res, err := g.Store.PutChip(spec)
	res.Revision = out(res.Revision)
	return res, err
}

type gappedPending struct{ store.Pending }

func (p gappedPending) Wait() (store.IngestResult, error) {
	res, err := p.Pending.Wait()
	res.Revision = out(res.Revision)
	return res, err
}

func (g gapped) SubmitShipments(vendor string, recs []estimator.Record, replace bool) store.Pending {
	return gappedPending{g.Store.SubmitShipments(vendor, recs, replace)}
}

func (g gapped) Retract(vendor string, ids []string, allowMissing bool) (store.RetractResult, error) {
	res, err := g.Store.Retract(vendor, ids, allowMissing)
	res.Revision = out(res.Revision)
	return res, err
}

func (g gapped) PutObservationsWith(actor string, obs []estimator.Observation, opts store.ObservationOptions) (store.ObservationResult, error) {
	res, err := g.Store.PutObservationsWith(actor, obs, opts)
	res.Revision = out(res.Revision)
	return res, err
}

func (g gapped) Observations(year int) ([]estimator.Observation, uint64, error) {
	obs, rev, err := g.Store.Observations(year)
	return obs, out(rev), err
}

func (g gapped) PutMethodology(m estimator.Methodology) (store.MethodologyResult, error) {
	res, err := g.Store.PutMethodology(m)
	res.Revision = out(res.Revision)
	return res, err
}

func (g gapped) CellsWithFactors(province uint32) ([]estimator.Cell, estimator.Factors, uint64, error) {
	cells, f, rev, err := g.Store.CellsWithFactors(province)
	return cells, f, out(rev), err
}

func (g gapped) ScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, map[string]float64, uint64, error) {
	in, m, w, rev, err := g.Store.ScoreInputs(year, version)
	return in, m, w, out(rev), err
}

func (g gapped) Revision() uint64       { return out(g.Store.Revision()) }
func (g gapped) OldestRevision() uint64 { return out(g.Store.OldestRevision()) }

func (g gapped) Changes(from uint64, limit int) ([]store.Change, error) {
	cs, err := g.Store.Changes(in(from), limit)
	return outChanges(cs), outErr(err)
}

type gappedSub struct{ store.Subscription }

func (s gappedSub) Next(ctx context.Context, limit int) ([]store.Change, error) {
	cs, err := s.Subscription.Next(ctx, limit)
	return outChanges(cs), outErr(err)
}

func (g gapped) Subscribe(from uint64) store.Subscription {
	return gappedSub{g.Store.Subscribe(in(from))}
}

func (g gapped) Compact(before uint64) (store.CompactResult, error) {
	res, err := g.Store.Compact(in(before))
	res.Oldest = out(res.Oldest)
	return res, err
}

func (g gapped) Backup(w io.Writer) (store.BackupInfo, error) {
	return store.BackupInfo{}, errors.New("gapped: no backup")
}

func (g gapped) Stats() store.Stats {
	st := g.Store.Stats()
	st.Revision, st.OldestRevision = out(st.Revision), out(st.OldestRevision)
	return st
}

// TestWatchAcrossRevisionGaps: with a store whose revisions have gaps,
// replay, live delivery and resumption (from a revision that is a gap) give
// every revision once, in order, with no OutOfRange: the server never takes a
// gap for compaction.
func TestWatchAcrossRevisionGaps(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.wrap = func(db *store.DB) store.Store { return gapped{db} } })
	e.putChips()
	if err := e.ingestLoad("before", 3, 10, 1); err != nil {
		t.Fatal(err)
	}
	mid := e.revision()
	if mid%2 != 0 || mid < 8 {
		t.Fatalf("revision %d: the gapped store should be at an even revision past 8", mid)
	}
	errc := make(chan error, 1)
	go func() { errc <- e.ingestLoad("during", 4, 10, 2) }()
	var target atomic.Uint64
	all := e.record(e.reader, "from 1 (a gap)", &pb.WatchRequest{StartRevision: 1}, &target)
	resumed := e.record(e.reader, "from mid-1 (a gap)", &pb.WatchRequest{StartRevision: mid - 1}, &target)
	some := e.record(e.reader, "filtered", &pb.WatchRequest{StartRevision: 2, Provinces: []string{"CN-SH", "CN-NM"}}, &target)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	for _, r := range []*recorder{all, resumed, some} {
		r.wait(t)
		checkStream(t, r.name, r.req.GetStartRevision()-1, r.resps, e.expected(r.req, r.req.GetStartRevision()-1))
		for _, resp := range r.resps {
			if resp.GetRevision()%2 != 0 {
				t.Fatalf("%s: revision %d is a gap of the store", r.name, resp.GetRevision())
			}
		}
	}
}
