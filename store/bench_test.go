package store_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// benchBatch is the batch size of both benchmarks.
const benchBatch = 1000

// benchRecords returns one batch of random valid records; each iteration
// renames them, so every batch stores new records.
func benchRecords() []estimator.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([]estimator.Record, benchBatch)
	for i := range recs {
		recs[i] = randomRecord(rng, "")
	}
	return recs
}

func rename(recs []estimator.Record, batch int) {
	prefix := "b" + strconv.Itoa(batch) + "-"
	for i := range recs {
		recs[i].ID = prefix + strconv.Itoa(i)
	}
}

// BenchmarkIngest1000 measures IngestShipments with 1000 new records per
// batch: content encoding, chip resolution, contributions, chip references,
// cell updates, the change log, and one fsync per batch.
func BenchmarkIngest1000(b *testing.B) {
	db := seed(b)
	recs := benchRecords()
	batch := 0
	for b.Loop() {
		rename(recs, batch)
		batch++
		if _, err := db.IngestShipments("bench", recs, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchBatch*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRawBolt1000 is the floor IngestShipments is compared with: the
// same encoded record values, put into one bucket by raw bbolt with the same
// options, batch size and fsync per batch, and nothing else.
func BenchmarkRawBolt1000(b *testing.B) {
	values := encodedValues(b)
	bdb, err := bbolt.Open(filepath.Join(b.TempDir(), "raw.db"), 0o600,
		&bbolt.Options{FreelistType: bbolt.FreelistMapType, InitialMmapSize: 256 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer bdb.Close()
	batch := 0
	for b.Loop() {
		prefix := "b" + strconv.Itoa(batch) + "-"
		batch++
		err := bdb.Update(func(tx *bbolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("bench"))
			if err != nil {
				return err
			}
			for i, v := range values {
				if err := bk.Put([]byte(prefix+strconv.Itoa(i)), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchBatch*batch)/b.Elapsed().Seconds(), "records/s")
}

// encodedValues ingests one batch into a scratch store and reads back the
// exact bytes the store wrote for each record.
func encodedValues(b *testing.B) [][]byte {
	db := seed(b)
	recs := benchRecords()
	rename(recs, 0)
	if _, err := db.IngestShipments("bench", recs, false); err != nil {
		b.Fatal(err)
	}
	var values [][]byte
	err := db.Bolt().View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("records")).Bucket([]byte("bench")).ForEach(func(_, v []byte) error {
			values = append(values, append([]byte(nil), v...))
			return nil
		})
	})
	if err != nil || len(values) != benchBatch {
		b.Fatalf("read %d encoded records: %v", len(values), err)
	}
	return values
}

// BenchmarkCheckPages measures serve --check-on-start's cost: bbolt's page
// check over a file of 200,000 records. The s/GiB metric is the figure the
// README quotes; the check reads every page once, so it grows with the file.
func BenchmarkCheckPages(b *testing.B) {
	db := seed(b)
	recs := benchRecords()
	for batch := range 200 {
		rename(recs, batch)
		if _, err := db.IngestShipments("bench", recs, false); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(db.Path())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if err := db.CheckPages(); err != nil {
			b.Fatal(err)
		}
	}
	perGiB := b.Elapsed().Seconds() / float64(b.N) / (float64(fi.Size()) / (1 << 30))
	b.ReportMetric(perGiB, "s/GiB")
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
}
