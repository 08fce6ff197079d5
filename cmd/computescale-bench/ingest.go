package main

import (
	"context"
	"fmt"
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
// transactions, from as many goroutines as there are vendors.
func benchIngest(ctx context.Context, c config) ([]row, error) {
	var rows []row
	for _, vendors := range c.ingestVendors {
		for _, batch := range c.ingestBatches {
			n := max(c.ingestN, batch*vendors*2)
			got, err := ingestThroughServer(ctx, c, vendors, batch, n)
			if err != nil {
				return nil, err
			}
			base, err := ingestRawBolt(c, vendors, batch, n)
			if err != nil {
				return nil, err
			}
			r := row{group: "P1 ingest", name: fmt.Sprintf("records/s, %d a batch, %d vendor(s)", batch, vendors),
				value: fmt.Sprintf("%.0f", got), baseline: fmt.Sprintf("%.0f (raw bbolt)", base),
				ratio: fmt.Sprintf("%.0f %%", 100*got/base), target: "—", ok: "—"}
			if batch == 1000 {
				r.target, r.ok = "≥ 50 %", yes(got/base >= 0.5)
			}
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func split(recs []*pb.ShipmentRecord, parts int) [][]*pb.ShipmentRecord {
	out := make([][]*pb.ShipmentRecord, parts)
	for i, r := range recs {
		out[i%parts] = append(out[i%parts], r)
	}
	return out
}

func ingestThroughServer(ctx context.Context, c config, vendors, batch, n int) (float64, error) {
	r, err := newRig(dbPath(c.dir, fmt.Sprintf("ingest-%d-%d", vendors, batch)), vendors, server.Config{})
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

func ingestRawBolt(c config, vendors, batch, n int) (float64, error) {
	db, err := bolt.Open(dbPath(c.dir, fmt.Sprintf("raw-%d-%d", vendors, batch)), 0o600, nil)
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
