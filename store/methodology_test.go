package store_test

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// weightedMethodology weighs scale and industry up, sets a target for
// industry.devices and counts FP16 fully.
func weightedMethodology() estimator.Methodology {
	m := estimator.DefaultMethodology()
	m.Description = "scale and industry first"
	m.Hierarchy.Weights = []float64{3, 3, 2, 1, 1}
	m.Indicators = map[string]estimator.NormSpec{"industry.devices": {Method: estimator.NormTarget, Target: 500}}
	m.Factors.FP16 = 1
	return m
}

// inconsistent judges scale ≫ industry ≫ tech ≫ scale at the root: a
// consistency ratio far above 0.10.
func inconsistent() estimator.Methodology {
	m := estimator.DefaultMethodology()
	m.Hierarchy.Matrix = [][]float64{
		{1, 9, 1.0 / 9, 1, 1},
		{1.0 / 9, 1, 9, 1, 1},
		{9, 1.0 / 9, 1, 1, 1},
		{1, 1, 1, 1, 1},
		{1, 1, 1, 1, 1},
	}
	return m
}

func TestMethodology(t *testing.T) {
	t.Run("OKDefault", func(t *testing.T) {
		db := newDB(t)
		want := estimator.DefaultMethodology()
		want.Version = 1
		want.Created = time.Date(2026, 3, 1, 0, 0, 1, 0, time.UTC) // fakeClock's first tick
		for _, v := range []uint64{0, 1} {
			if got, err := db.Methodology(v); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("Methodology(%d) = %+v, %v; want %+v", v, got, err, want)
			}
		}
		if _, err := db.Methodology(2); estimator.ErrorCode(err) != estimator.ENotFound {
			t.Errorf("Methodology(2) = %v, want not found", err)
		}
		if db.Factors() != estimator.DefaultFactors() {
			t.Errorf("Factors() = %+v, want the default", db.Factors())
		}
		if rev := revision(t, db); rev != 0 {
			t.Errorf("revision = %d, want 0: the default takes none", rev)
		}
	})
	t.Run("OKPutAndReopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "m.db")
		db := openDB(t, path)
		v1, _ := db.Methodology(0)
		res, err := db.PutMethodology(weightedMethodology())
		if err != nil {
			t.Fatal(err)
		}
		want := weightedMethodology()
		want.Version, want.Created = 2, time.Date(2026, 3, 1, 0, 0, 2, 0, time.UTC)
		if !reflect.DeepEqual(res.Methodology, want) || res.Revision != 1 || len(res.Nodes) == 0 {
			t.Errorf("PutMethodology = %+v, want %+v at revision 1 with nodes", res, want)
		}
		if db.Factors().FP16 != 1 {
			t.Errorf("Factors() = %+v, want the new FP16 factor 1", db.Factors())
		}
		if c := lastChange(t, db); c.Kind != store.ChangeMethodology || c.Methodology != 2 || !c.Time.Equal(want.Created) {
			t.Errorf("change = %+v, want a methodology change making version 2 current", c)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openDB(t, path)
		for v, w := range map[uint64]estimator.Methodology{0: want, 1: v1, 2: want} {
			if got, err := db.Methodology(v); err != nil || !reflect.DeepEqual(got, w) {
				t.Errorf("Methodology(%d) after reopen = %+v, %v; want %+v", v, got, err, w)
			}
		}
		if db.Factors().FP16 != 1 {
			t.Errorf("Factors() after reopen = %+v, want FP16 1", db.Factors())
		}
	})
	t.Run("ErrInconsistent", func(t *testing.T) {
		db := newDB(t)
		_, err := db.PutMethodology(inconsistent())
		wantError(t, err, estimator.EFailedPrecondition, "hierarchy")
		if got, _ := db.Methodology(0); got.Version != 1 {
			t.Errorf("current version = %d, want 1", got.Version)
		}
		if _, err := db.Methodology(2); estimator.ErrorCode(err) != estimator.ENotFound {
			t.Errorf("Methodology(2) = %v, want not found: nothing stored", err)
		}
		if rev := revision(t, db); rev != 0 {
			t.Errorf("revision = %d, want 0", rev)
		}
	})
	t.Run("OKAllowInconsistent", func(t *testing.T) {
		db := newDB(t)
		m := inconsistent()
		m.AllowInconsistent = true
		res, err := db.PutMethodology(m)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := db.Methodology(0); got.Version != 2 || !got.AllowInconsistent || !reflect.DeepEqual(got.Hierarchy, m.Hierarchy) {
			t.Errorf("current = %+v, want version 2 with the matrix", got)
		}
		if ahp := res.Nodes[0].AHP; ahp == nil || ahp.Acceptable {
			t.Errorf("root node = %+v, want an unacceptable AHP result", res.Nodes[0])
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := newDB(t)
		m := estimator.DefaultMethodology()
		m.CoverageThreshold = 2
		_, err := db.PutMethodology(m)
		wantError(t, err, estimator.EInvalid, "coverage_threshold")
	})
}
