package store_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

func TestRetract(t *testing.T) {
	// setup stores a base batch, snapshots the cells, then adds a batch that
	// shares the base's cells, so retracting it must restore them exactly.
	setup := func(t *testing.T) (*store.DB, []estimator.Cell) {
		db := seed(t)
		ingest(t, db, "acme", false,
			general("base", guangdong, q(2024, 1), 7, "cpu-a"),
			aiServer("ai", guangdong, q(2024, 1), 3, "gpu-a", "cpu-a"))
		before := allCells(t, db)
		ingest(t, db, "acme", false,
			general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
			general("g2", beijing, q(2023, 0), 4, "cpu-b"),
			inlineGeneral("i1", 3),
			aiServer("a1", guangdong, q(2024, 1), 5, "gpu-a", "cpu-b"))
		return db, before
	}
	added := []string{"g1", "g2", "i1", "a1"}

	t.Run("OK", func(t *testing.T) {
		db, before := setup(t)
		res, err := db.Retract("acme", added, false)
		if want := (store.RetractResult{Revision: 6, Retracted: 4}); err != nil || !reflect.DeepEqual(res, want) {
			t.Fatalf("Retract = %+v, %v; want %+v", res, err, want)
		}
		if got := allCells(t, db); !reflect.DeepEqual(got, before) {
			t.Errorf("cells after retract = %v, want exactly %v", got, before)
		}
		verifyClean(t, db)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		db, _ := setup(t)
		want := allCells(t, db)
		_, err := db.Retract("acme", []string{"g1", "ghost", "g2"}, false)
		e := wantError(t, err, estimator.ENotFound, "ids[1]")
		if !strings.Contains(e.Message, `"ghost"`) {
			t.Errorf("error %q should name the missing id", e.Message)
		}
		if got := allCells(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("cells changed by a failed retract")
		}
		if _, err := db.Record("acme", "g1"); err != nil {
			t.Errorf("g1 was removed by a failed retract: %v", err)
		}
		if rev := revision(t, db); rev != 5 {
			t.Errorf("revision = %d, want 5", rev)
		}
	})
	t.Run("OKAllowMissing", func(t *testing.T) {
		db, _ := setup(t)
		res, err := db.Retract("acme", []string{"g1", "ghost", "g1"}, true)
		want := store.RetractResult{Revision: 6, Retracted: 1, Missing: []string{"ghost"}}
		if err != nil || !reflect.DeepEqual(res, want) {
			t.Errorf("Retract = %+v, %v; want %+v", res, err, want)
		}
		res, err = db.Retract("acme", []string{"ghost"}, true)
		want = store.RetractResult{Revision: 6, Missing: []string{"ghost"}}
		if err != nil || !reflect.DeepEqual(res, want) {
			t.Errorf("Retract of nothing = %+v, %v; want %+v", res, err, want)
		}
	})
	t.Run("ErrOtherVendor", func(t *testing.T) {
		db, _ := setup(t)
		want := allCells(t, db)
		_, err := db.Retract("rival", []string{"g1"}, false)
		wantError(t, err, estimator.ENotFound, "ids[0]")
		if _, err := db.Record("acme", "g1"); err != nil {
			t.Errorf("acme's g1 after rival's retract: %v", err)
		}
		if got := allCells(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("cells changed by another vendor's retract")
		}
	})
	t.Run("ErrInvalidVendor", func(t *testing.T) {
		_, err := newDB(t).Retract("", []string{"g1"}, true)
		wantError(t, err, estimator.EInvalid, "vendor")
	})
}
