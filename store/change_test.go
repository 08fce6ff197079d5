package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// TestChanges checks one log entry per committed write, with increasing
// revisions and every changed cell at its new amount, and none for writes
// that changed nothing or failed.
func TestChanges(t *testing.T) {
	db := seed(t) // revisions 1-3: chip puts
	ingest(t, db, "acme", false,
		general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
		general("g2", beijing, q(2024, 1), 1, "cpu-a"))
	ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a")) // unchanged
	db.IngestShipments("acme", []estimator.Record{general("x", guangdong, q(2024, 1), 1, "nope")}, false)
	ingest(t, db, "bolt", false, general("g1", guangdong, q(2024, 1), 1, "cpu-b"))
	if _, err := db.Retract("acme", []string{"g1", "g2"}, false); err != nil {
		t.Fatal(err)
	}

	// fakeClock's start, plus the tick Open took to stamp the default methodology.
	base := time.Date(2026, 3, 1, 0, 0, 1, 0, time.UTC)
	want := []store.Change{
		{Revision: 4, Time: base.Add(4 * time.Second), Kind: store.ChangeIngest, Actor: "acme", Cells: []estimator.Cell{
			cell(beijing, estimator.SeriesBasic, q(2024, 1), 32_000, 1, 1),
			cell(guangdong, estimator.SeriesBasic, q(2024, 1), 320_000, 10, 1),
		}},
		{Revision: 5, Time: base.Add(5 * time.Second), Kind: store.ChangeIngest, Actor: "bolt", Cells: []estimator.Cell{
			cell(guangdong, estimator.SeriesBasic, q(2024, 1), 352_000, 11, 2),
		}},
		{Revision: 6, Time: base.Add(6 * time.Second), Kind: store.ChangeRetract, Actor: "acme", Cells: []estimator.Cell{
			cell(beijing, estimator.SeriesBasic, q(2024, 1), 0, 0, 0), // deleted
			cell(guangdong, estimator.SeriesBasic, q(2024, 1), 32_000, 1, 1),
		}},
	}
	got, err := db.Changes(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Changes(4, 0) =\n%+v\nwant\n%+v", got, want)
	}

	t.Run("OKChipEntries", func(t *testing.T) {
		got, _ := db.Changes(0, 0)
		if len(got) != 6 {
			t.Fatalf("%d changes, want 6", len(got))
		}
		for i, c := range got[:3] {
			if c.Revision != uint64(i+1) || c.Kind != store.ChangeChip || c.Cells != nil {
				t.Errorf("change %d = %+v, want a chip change without cells", i+1, c)
			}
		}
	})
	t.Run("OKLimit", func(t *testing.T) {
		got, _ := db.Changes(2, 3)
		var revs []uint64
		for _, c := range got {
			revs = append(revs, c.Revision)
		}
		if !reflect.DeepEqual(revs, []uint64{2, 3, 4}) {
			t.Errorf("Changes(2, 3) revisions = %v, want [2 3 4]", revs)
		}
	})
	t.Run("OKPastEnd", func(t *testing.T) {
		if got, err := db.Changes(7, 0); err != nil || got != nil {
			t.Errorf("Changes(7, 0) = %v, %v; want none", got, err)
		}
	})
}
