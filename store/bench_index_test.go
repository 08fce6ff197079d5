package store_test

import (
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// indexBenchDB opens a store, recomputing scores or not, that holds the
// catalog and every observed leaf of all 31 provinces for 2020-2024: five
// index years of 14 indicators (11 observed, 3 from cells).
func indexBenchDB(b *testing.B, noIndex bool) *store.DB {
	db := openDBWith(b, store.Options{NoIndex: noIndex})
	for _, s := range []estimator.ChipSpec{cpuSpec("cpu-a"), cpuSpec("cpu-b"), gpuSpec("gpu-a")} {
		if _, err := db.PutChip(s); err != nil {
			b.Fatal(err)
		}
	}
	for y := 2020; y <= 2024; y++ {
		if _, err := db.PutObservations("bench", fullYear(y), false); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkRecomputeYear measures the commit path's recompute of one index
// year (31 provinces × 14 indicators): reading every cell and the year's
// observations, building the inputs, ScoreYear, and comparing 31 summaries
// with the stored ones. Nothing differs, so nothing is written.
func BenchmarkRecomputeYear(b *testing.B) {
	db := indexBenchDB(b, false)
	recs := benchRecords()
	rename(recs, 0)
	if _, err := db.IngestShipments("bench", recs, false); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n, err := db.RecomputeYear(2024)
		if err != nil || n != 0 {
			b.Fatalf("RecomputeYear = %d changes, %v; want 0: stored scores are current", n, err)
		}
	}
}

// BenchmarkIngestWithIndex is BenchmarkIngest1000 into a store with five
// index years: every batch (shipments of 2019-2024, supercomputers among
// them) also recomputes all five years and logs the scores that moved.
func BenchmarkIngestWithIndex(b *testing.B) { benchIngestIndex(b, false) }

// BenchmarkIngestNoIndex is the same batches into the same store with
// Options.NoIndex, the floor the recompute is measured against.
func BenchmarkIngestNoIndex(b *testing.B) { benchIngestIndex(b, true) }

func benchIngestIndex(b *testing.B, noIndex bool) {
	db := indexBenchDB(b, noIndex)
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

// BenchmarkPutObservationBounds is the cost of the plausibility bounds: one
// replacing observation batch, each fsynced and rescoring its year, on the
// store of BenchmarkRecomputeYear, checked against the largest stored value
// of each indicator (a scan of every observation) and, as the same-run
// baseline, forced past the bounds (no scan).
func BenchmarkPutObservationBounds(b *testing.B) {
	for _, v := range []struct {
		name  string
		force bool
	}{{"Checked", false}, {"Forced", true}} {
		b.Run(v.name, func(b *testing.B) {
			db := indexBenchDB(b, false)
			o := fullYear(2024)[0]
			i := 0
			for b.Loop() {
				o.Value += float64(i%2*2 - 1) // alternate, so every batch changes the value
				i++
				if _, err := db.PutObservationsWith("bench", []estimator.Observation{o}, store.ObservationOptions{Replace: true, Force: v.force}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
