package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

func bgctx() context.Context { return context.Background() }

// benchIngest (P1) streams records through IngestShipments into a fresh file,
// one fsynced commit per acknowledged batch, and compares with raw bbolt
// storing the same records, proto-encoded, in the same batches and
// transactions, from as many goroutines as there are vendors. Each shape
// runs c.rounds times, ours and the baseline alternating, and the medians
// are compared, so that a burst of other work on a shared machine moves both
// sides or neither.
func benchIngest(ctx context.Context, c config) ([]row, error) {
	var rows []row
	for _, vendors := range c.ingestVendors {
		for _, batch := range c.ingestBatches {
			n := max(c.ingestN, batch*vendors*2)
			var got, base []float64
			for round := range c.rounds {
				g, err := ingestThroughServer(ctx, c, vendors, batch, n, round)
				if err != nil {
					return nil, err
				}
				b, err := ingestRawBolt(c, vendors, batch, n, round)
				if err != nil {
					return nil, err
				}
				got, base = append(got, g), append(base, b)
			}
			g, b := median(got), median(base)
			r := row{group: "P1 ingest", name: fmt.Sprintf("records/s, %d a batch, %d vendor(s)", batch, vendors),
				value: fmt.Sprintf("%.0f", g), baseline: fmt.Sprintf("%.0f (raw bbolt)", b),
				ratio: fmt.Sprintf("%.0f %%", 100*g/b), target: "—", ok: "—"}
			if batch == 1000 {
				r.target, r.ok = "≥ 50 %", yes(g/b >= 0.5)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

// median of a non-empty sample.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func split(recs []*pb.ShipmentRecord, parts int) [][]*pb.ShipmentRecord {
	out := make([][]*pb.ShipmentRecord, parts)
	for i, r := range recs {
		out[i%parts] = append(out[i%parts], r)
	}
	return out
}

func ingestThroughServer(ctx context.Context, c config, vendors, batch, n, round int) (float64, error) {
	path := dbPath(c.dir, fmt.Sprintf("ingest-%d-%d-%d", vendors, batch, round))
	defer os.Remove(path)
	r, err := newRig(path, vendors, server.Config{})
	if err != nil {
		return 0, err
	}
	defer r.close()
	if err := r.loadChips(); err != nil {
		return 0, err
	}
	parts := split(records("r", n), vendors)
	var wg sync.WaitGroup
	errs := make(chan error, vendors)
	start := time.Now()
	for v := range vendors {
		wg.Go(func() {
			sum, err := r.vendors[v].IngestShipments(ctx, parts[v], client.IngestOptions{BatchSize: batch})
			if err == nil && len(sum.Rejected) > 0 {
				err = sum.Rejected[0].Err
			}
			errs <- err
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(n) / elapsed.Seconds(), nil
}

func ingestRawBolt(c config, vendors, batch, n, round int) (float64, error) {
	path := dbPath(c.dir, fmt.Sprintf("raw-%d-%d-%d", vendors, batch, round))
	defer os.Remove(path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	parts := split(records("r", n), vendors)
	encoded := make([][][2][]byte, vendors)
	for v, part := range parts {
		for _, rec := range part {
			val, err := proto.Marshal(rec)
			if err != nil {
				return 0, err
			}
			encoded[v] = append(encoded[v], [2][]byte{[]byte(rec.GetRecordId()), val})
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, vendors)
	start := time.Now()
	for v := range vendors {
		wg.Go(func() {
			kvs := encoded[v]
			for i := 0; i < len(kvs); i += batch {
				err := db.Update(func(tx *bolt.Tx) error {
					b, err := tx.CreateBucketIfNotExists(fmt.Appendf(nil, "vendor-%d", v))
					if err != nil {
						return err
					}
					for _, kv := range kvs[i:min(i+batch, len(kvs))] {
						if err := b.Put(kv[0], kv[1]); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(n) / elapsed.Seconds(), nil
}
