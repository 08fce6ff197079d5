package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/computescale/computescale/client"
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

func (g gapped) Revision() uint64 { return out(g.Store.Revision()) }

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

// BenchmarkIngestWithStalledWatchers is the commit latency of 1-record
// batches (send to ack) with no watcher, then with 10 watchers that never
// read (small HTTP/2 windows, so they stall at once and are cut off once
// the buffer's 256 responses are full too), in one run: the hub must not put
// them on the commit path. "cut-off" counts the watchers dropped by the end.
func BenchmarkIngestWithStalledWatchers(b *testing.B) {
	for _, stalled := range []int{0, 10} {
		b.Run(fmt.Sprintf("stalled=%d", stalled), func(b *testing.B) {
			e := newBenchEnv(b)
			e.putChips()
			// Index inputs, so that commits also rescore and responses
			// carry score events (a few KB each): the stalled watchers fill
			// their windows within a few dozen revisions.
			if err := e.putObservations(e.admin, loadObservations(1)); err != nil {
				b.Fatal(err)
			}
			slow, err := client.New(e.addr, client.WithToken(readerToken),
				client.WithDialOptions(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
			if err != nil {
				b.Fatal(err)
			}
			defer slow.Close()
			for range stalled {
				st, err := watchStub(slow).Watch(b.Context(), &pb.WatchRequest{})
				if err != nil {
					b.Fatal(err)
				}
				startAfter(b, st)
			}
			ing, err := e.vendorA.Ingest.IngestShipments(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			acks := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				rec := aiServer(fmt.Sprintf("st-%d", i), loadProvinces[i%len(loadProvinces)], 2020+i%6, 1+i%7)
				t0 := time.Now()
				if err := ing.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{rec}}); err != nil {
					b.Fatal(err)
				}
				if resp, err := ing.Recv(); err != nil || resp.GetError() != nil {
					b.Fatalf("ack: %v %v", err, resp.GetError())
				}
				acks = append(acks, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(micros(percentile(acks, 50)), "p50-µs")
			b.ReportMetric(micros(percentile(acks, 99)), "p99-µs")
			b.ReportMetric(float64(stalled-e.srv.WatchSubscribers()), "cut-off")
		})
	}
}
