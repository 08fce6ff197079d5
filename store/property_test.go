package store_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// randomRecord draws a valid record of any class, with catalog and inline
// chips, whole-year and quarter periods, and decommissioned supercomputers.
func randomRecord(rng *rand.Rand, id string) estimator.Record {
	provinces := estimator.Provinces()
	r := estimator.Record{
		ID:       id,
		Province: provinces[rng.IntN(4)].Code, // few provinces, so records share cells
		Period:   q(2019+rng.IntN(6), rng.IntN(5)),
		Class:    estimator.ServerClass(1 + rng.IntN(3)),
		Units:    1 + rng.Int64N(10_000),
	}
	cpu := estimator.Component{Count: uint32(1 + rng.IntN(4)), ChipID: []string{"cpu-a", "cpu-b"}[rng.IntN(2)]}
	if rng.IntN(4) == 0 {
		spec := cpuSpec("")
		spec.Cores = uint32(1 + rng.IntN(128))
		cpu = estimator.Component{Count: cpu.Count, Inline: &spec}
	}
	switch r.Class {
	case estimator.ClassGeneral:
		r.Components = []estimator.Component{cpu}
	case estimator.ClassAI:
		r.Components = []estimator.Component{{Count: uint32(1 + rng.IntN(8)), ChipID: "gpu-a"}, cpu}
	case estimator.ClassSuper:
		r.Units = 1
		if rng.IntN(2) == 0 {
			r.Components = []estimator.Component{cpu}
		} else {
			r.RpeakFP64 = float64(1+rng.IntN(1000)) * 1.1e15
		}
		if rng.IntN(2) == 0 {
			r.Decommissioned = q(r.Period.Year+1+rng.IntN(5), rng.IntN(5))
		}
	}
	return r
}

// TestRandomBatchesReturnToStart ingests random batches from several vendors
// (with some replaced records) on top of a base, retracts everything the
// batches added in a random order and random chunks, and expects every cell
// back exactly as it was.
func TestRandomBatchesReturnToStart(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 3))
	db := seed(t)
	ingest(t, db, "base", false, general("b1", guangdong, q(2024, 1), 7, "cpu-a"), randomRecord(rng, "b2"))
	start := allCells(t, db)

	type ref struct{ vendor, id string }
	var added []ref
	vendors := []string{"acme", "bolt", "corp"}
	for batch := range 20 {
		vendor := vendors[rng.IntN(len(vendors))]
		var recs []estimator.Record
		for i := range 1 + rng.IntN(40) {
			recs = append(recs, randomRecord(rng, fmt.Sprintf("r%d-%d", batch, i)))
			added = append(added, ref{vendor, recs[i].ID})
		}
		ingest(t, db, vendor, false, recs...)
		if batch%5 == 4 { // replace a few of this batch with new random content
			recs = recs[:min(3, len(recs))]
			for i := range recs {
				recs[i] = randomRecord(rng, recs[i].ID)
			}
			ingest(t, db, vendor, true, recs...)
		}
	}
	verifyClean(t, db)

	rng.Shuffle(len(added), func(i, j int) { added[i], added[j] = added[j], added[i] })
	for len(added) > 0 {
		chunk := added[:min(1+rng.IntN(30), len(added))]
		added = added[len(chunk):]
		byVendor := map[string][]string{}
		for _, r := range chunk {
			byVendor[r.vendor] = append(byVendor[r.vendor], r.id)
		}
		for _, v := range vendors {
			if ids := byVendor[v]; ids != nil {
				if _, err := db.Retract(v, ids, false); err != nil {
					t.Fatalf("Retract(%s, %v): %v", v, ids, err)
				}
			}
		}
	}
	if got := allCells(t, db); !reflect.DeepEqual(got, start) {
		t.Errorf("cells after retracting everything =\n%v\nwant the start\n%v", got, start)
	}
	rep := verifyClean(t, db)
	if rep.Records != 2 {
		t.Errorf("%d records left, want the 2 of the base", rep.Records)
	}
}
