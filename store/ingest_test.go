package store_test

import (
	"reflect"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// inlineGeneral is a general server of one inline CPU: 16 000 MFLOPS per unit.
func inlineGeneral(id string, units int64) estimator.Record {
	spec := cpuSpec("")
	spec.Source = ""
	return estimator.Record{
		ID: id, Province: guangdong, Period: q(2024, 3), Class: estimator.ClassGeneral, Units: units,
		Components: []estimator.Component{{Count: 1, Inline: &spec}},
		Note:       "inline spec",
	}
}

func TestIngestShipments(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := seed(t)
		res := ingest(t, db, "acme", false,
			general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
			aiServer("a1", guangdong, q(2024, 1), 5, "gpu-a", "cpu-b"),
			inlineGeneral("i1", 3))
		if want := (store.IngestResult{Revision: 4, Created: 3}); res != want {
			t.Errorf("IngestShipments = %+v, want %+v", res, want)
		}
		cells, rev, err := db.ProvinceCells(guangdong)
		if err != nil {
			t.Fatal(err)
		}
		want := []estimator.Cell{
			cell(guangdong, estimator.SeriesBasic, q(2024, 1), 10*2*16_000, 10, 1),
			cell(guangdong, estimator.SeriesBasic, q(2024, 3), 3*16_000, 3, 1),
			cell(guangdong, estimator.SeriesAI, q(2024, 1), 5*8*1_000_000, 5, 1),
			cell(guangdong, estimator.SeriesAIHost, q(2024, 1), 5*2*16_000, 0, 0),
		}
		if rev != 4 || !reflect.DeepEqual(cells, want) {
			t.Errorf("ProvinceCells = %v at %d, want %v at 4", cells, rev, want)
		}
		if other, _, _ := db.ProvinceCells(beijing); other != nil {
			t.Errorf("Beijing cells = %v, want none", other)
		}
	})
	t.Run("OKUnchanged", func(t *testing.T) {
		db := seed(t)
		recs := []estimator.Record{general("g1", guangdong, q(2024, 1), 10, "cpu-a"), inlineGeneral("i1", 3)}
		ingest(t, db, "acme", false, recs...)
		res := ingest(t, db, "acme", false, recs...)
		if want := (store.IngestResult{Revision: 4, Unchanged: 2}); res != want {
			t.Errorf("resend = %+v, want %+v", res, want)
		}
		if rev := revision(t, db); rev != 4 {
			t.Errorf("revision = %d after a resend, want 4", rev)
		}
	})
	t.Run("ErrAlreadyExists", func(t *testing.T) {
		db := seed(t)
		ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a"))
		before := allCells(t, db)
		_, err := db.IngestShipments("acme", mustValid(t,
			general("new", guangdong, q(2024, 2), 1, "cpu-a"),
			general("g1", guangdong, q(2024, 1), 20, "cpu-a")), false)
		wantError(t, err, estimator.EAlreadyExists, "records[1].record_id")
		if got := allCells(t, db); !reflect.DeepEqual(got, before) {
			t.Errorf("cells = %v, want unchanged %v", got, before)
		}
		if _, err := db.Record("acme", "new"); estimator.ErrorCode(err) != estimator.ENotFound {
			t.Errorf("the batch's new record was stored: %v", err)
		}
	})
	t.Run("OKReplace", func(t *testing.T) {
		db := seed(t)
		ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a"))
		moved := general("g1", beijing, q(2024, 2), 20, "cpu-b")
		res := ingest(t, db, "acme", true, moved, general("g2", beijing, q(2024, 2), 1, "cpu-a"))
		if want := (store.IngestResult{Revision: 5, Created: 1, Replaced: 1}); res != want {
			t.Errorf("replace = %+v, want %+v", res, want)
		}
		want := []estimator.Cell{cell(beijing, estimator.SeriesBasic, q(2024, 2), 21*2*16_000, 21, 2)}
		if got := allCells(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("cells = %v, want %v", got, want)
		}
		verifyClean(t, db)
	})
	t.Run("ErrUnknownChip", func(t *testing.T) {
		db := seed(t)
		_, err := db.IngestShipments("acme", mustValid(t,
			general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
			aiServer("a1", guangdong, q(2024, 1), 5, "gpu-a", "no-such-cpu"),
			general("g2", guangdong, q(2024, 1), 10, "nope")), false)
		wantError(t, err, estimator.EInvalid, "records[1].components[1].chip_id", "records[2].components[0].chip_id")
		if cells := allCells(t, db); cells != nil {
			t.Errorf("cells = %v, want none", cells)
		}
		if rev := revision(t, db); rev != 3 {
			t.Errorf("revision = %d, want 3", rev)
		}
	})
	t.Run("ErrDuplicateID", func(t *testing.T) {
		db := seed(t)
		_, err := db.IngestShipments("acme", mustValid(t,
			general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
			general("g1", guangdong, q(2024, 2), 10, "cpu-a")), false)
		wantError(t, err, estimator.EInvalid, "records[1].record_id")
		if cells := allCells(t, db); cells != nil {
			t.Errorf("cells = %v, want none", cells)
		}
	})
	t.Run("ErrInvalidVendor", func(t *testing.T) {
		db := seed(t)
		for _, vendor := range []string{"", "a\x00b", string(make([]byte, 65))} {
			_, err := db.IngestShipments(vendor, mustValid(t, general("g1", guangdong, q(2024, 1), 1, "cpu-a")), false)
			wantError(t, err, estimator.EInvalid, "vendor")
		}
	})
	t.Run("ErrOverflow", func(t *testing.T) {
		db := newDB(t)
		huge := gpuSpec("huge") // 5 × 1e15 FLOP/s per unit × 1e9 units ≈ 5e18 MFLOPS per record
		huge.Kind, huge.Rates = estimator.KindCPU, []estimator.Rate{{Precision: estimator.FP32, PeakFLOPS: 1e15}}
		db.PutChip(huge)
		big := func(id string) estimator.Record {
			r := general(id, guangdong, q(2024, 1), estimator.MaxUnits, "huge")
			r.Components[0].Count = 5
			return r
		}
		ingest(t, db, "acme", false, big("b1"))
		before := allCells(t, db)
		_, err := db.IngestShipments("acme", mustValid(t, big("b2")), false)
		wantError(t, err, estimator.EResourceExhausted)
		if got := allCells(t, db); !reflect.DeepEqual(got, before) {
			t.Errorf("cells = %v, want unchanged %v", got, before)
		}
	})
}

// TestRecord reads records back exactly as ingested, inline specs and
// supercomputer periods included.
func TestRecord(t *testing.T) {
	db := seed(t)
	super := estimator.Record{
		ID: "s1", Province: beijing, Period: estimator.Period{Year: 2020}, Class: estimator.ClassSuper,
		Units: 1, RpeakFP64: 1.25e17, Decommissioned: q(2025, 2), Note: "retired",
	}
	recs := []estimator.Record{inlineGeneral("i1", 3), super, aiServer("a1", beijing, q(2024, 2), 5, "gpu-a", "cpu-a")}
	ingest(t, db, "acme", false, recs...)
	for _, want := range recs {
		got, err := db.Record("acme", want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Record(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	if _, err := db.Record("other", "i1"); estimator.ErrorCode(err) != estimator.ENotFound {
		t.Errorf("another vendor's record: %v, want not found", err)
	}
	// The supercomputer's 1.25e17 FLOP/s = 1.25e11 MFLOPS counts from 2020Q1
	// and is taken off in 2025Q2.
	cells, _, _ := db.ProvinceCells(beijing)
	want := []estimator.Cell{
		cell(beijing, estimator.SeriesAI, q(2024, 2), 40_000_000, 5, 1),
		cell(beijing, estimator.SeriesAIHost, q(2024, 2), 160_000, 0, 0),
		cell(beijing, estimator.SeriesSuperOn, q(2020, 1), 125_000_000_000, 1, 1),
		cell(beijing, estimator.SeriesSuperOff, q(2025, 2), 125_000_000_000, 1, 1),
	}
	if !reflect.DeepEqual(cells, want) {
		t.Errorf("Beijing cells = %v, want %v", cells, want)
	}
}
