package store_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

func TestPutChip(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := newDB(t)
		res, err := db.PutChip(cpuSpec("cpu-a"))
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.PutChipResult{Revision: 1}); res != want {
			t.Errorf("PutChip = %+v, want %+v", res, want)
		}
		got, err := db.Chip("cpu-a")
		if err != nil || !reflect.DeepEqual(got, cpuSpec("cpu-a")) {
			t.Errorf("Chip = %+v, %v; want %+v", got, err, cpuSpec("cpu-a"))
		}
	})
	t.Run("OKUnchanged", func(t *testing.T) {
		db := newDB(t)
		db.PutChip(cpuSpec("cpu-a"))
		res, err := db.PutChip(cpuSpec("cpu-a"))
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.PutChipResult{Revision: 1, Unchanged: true}); res != want {
			t.Errorf("identical PutChip = %+v, want %+v", res, want)
		}
		if rev := revision(t, db); rev != 1 {
			t.Errorf("revision = %d, want 1", rev)
		}
	})
	t.Run("OKReplacedUnreferenced", func(t *testing.T) {
		db := newDB(t)
		db.PutChip(cpuSpec("cpu-a"))
		s := cpuSpec("cpu-a")
		s.Cores = 4
		res, err := db.PutChip(s)
		if want := (store.PutChipResult{Replaced: true, Revision: 2}); err != nil || res != want {
			t.Errorf("PutChip = %+v, %v; want %+v", res, err, want)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		db := newDB(t)
		s := cpuSpec("cpu-a")
		s.Source = ""
		_, err := db.PutChip(s)
		wantError(t, err, estimator.EInvalid, "source")
		if rev := revision(t, db); rev != 0 {
			t.Errorf("revision = %d after a rejected put, want 0", rev)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := newDB(t).Chip("nope")
		wantError(t, err, estimator.ENotFound)
	})
}

func TestListChips(t *testing.T) {
	db := newDB(t)
	for _, s := range []estimator.ChipSpec{gpuSpec("d-gpu"), cpuSpec("a-cpu"), gpuSpec("b-gpu"), cpuSpec("c-cpu")} {
		if _, err := db.PutChip(s); err != nil {
			t.Fatal(err)
		}
	}
	cpus := func(s estimator.ChipSpec) bool { return s.Kind == estimator.KindCPU }
	tests := []struct {
		name  string
		after string
		limit int
		keep  func(estimator.ChipSpec) bool
		want  []string
	}{
		{"OKAll", "", 0, nil, []string{"a-cpu", "b-gpu", "c-cpu", "d-gpu"}},
		{"OKAfter", "b-gpu", 0, nil, []string{"c-cpu", "d-gpu"}},
		{"OKAfterAbsentID", "bz", 0, nil, []string{"c-cpu", "d-gpu"}},
		{"OKLimit", "", 2, nil, []string{"a-cpu", "b-gpu"}},
		{"OKAfterAndLimit", "a-cpu", 1, nil, []string{"b-gpu"}},
		{"OKFilter", "", 0, cpus, []string{"a-cpu", "c-cpu"}},
		{"OKFilterAfterLimit", "a-cpu", 1, cpus, []string{"c-cpu"}},
		{"OKPastEnd", "d-gpu", 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			specs, err := db.ListChips(tt.after, tt.limit, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range specs {
				got = append(got, s.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ListChips(%q, %d) = %v, want %v", tt.after, tt.limit, got, tt.want)
			}
		})
	}
}

// TestPutChipRederives replaces a referenced chip's spec: the records that
// use it are re-derived and the cells follow, in one revision.
func TestPutChipRederives(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := seed(t) // revisions 1-3
		ingest(t, db, "acme", false,
			general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
			general("g2", guangdong, q(2024, 1), 1, "cpu-b"),
			aiServer("a1", beijing, q(2024, 2), 5, "gpu-a", "cpu-a"))
		faster := cpuSpec("cpu-a")
		faster.Cores = 4 // 32 000 MFLOPS per chip
		res, err := db.PutChip(faster)
		if want := (store.PutChipResult{Replaced: true, Rederived: 2, Revision: 5}); err != nil || res != want {
			t.Fatalf("PutChip = %+v, %v; want %+v", res, err, want)
		}
		// g1: 10 units × 2 × 32 000 + g2: 1 × 2 × 16 000; a1's hosts: 5 × 2 × 32 000.
		want := []estimator.Cell{
			cell(beijing, estimator.SeriesAI, q(2024, 2), 40_000_000, 5, 1),
			cell(beijing, estimator.SeriesAIHost, q(2024, 2), 320_000, 0, 0),
			cell(guangdong, estimator.SeriesBasic, q(2024, 1), 672_000, 11, 2),
		}
		if got := allCells(t, db); !reflect.DeepEqual(got, want) {
			t.Errorf("cells = %v, want %v", got, want)
		}
		changes, _ := db.Changes(5, 0)
		wantChange := []estimator.Cell{want[1], want[2]} // the AI cell did not move
		if len(changes) != 1 || changes[0].Kind != store.ChangeChip || changes[0].Actor != "cpu-a" ||
			!reflect.DeepEqual(changes[0].Cells, wantChange) {
			t.Errorf("change log = %+v, want one chip change for cpu-a with %v", changes, wantChange)
		}
		verifyClean(t, db)
	})
	t.Run("ErrFailedPrecondition", func(t *testing.T) {
		db := seed(t)
		ingest(t, db, "acme", false, general("g1", guangdong, q(2024, 1), 10, "cpu-a"))
		before := allCells(t, db)
		noFP32 := cpuSpec("cpu-a")
		noFP32.Rates = []estimator.Rate{{Precision: estimator.FP64, FlopsPerCycle: 4}}
		_, err := db.PutChip(noFP32)
		e := wantError(t, err, estimator.EFailedPrecondition)
		if !strings.Contains(e.Message, "acme/g1") {
			t.Errorf("error %q should name record acme/g1", e.Message)
		}
		if got, _ := db.Chip("cpu-a"); !reflect.DeepEqual(got, cpuSpec("cpu-a")) {
			t.Errorf("chip after rejected put = %+v, want the old spec", got)
		}
		if got := allCells(t, db); !reflect.DeepEqual(got, before) {
			t.Errorf("cells after rejected put = %v, want %v", got, before)
		}
		if rev := revision(t, db); rev != 4 {
			t.Errorf("revision = %d, want 4", rev)
		}
	})
}

// verifyClean fails the test unless Verify finds nothing wrong.
func verifyClean(tb testing.TB, db *store.DB) store.VerifyReport {
	tb.Helper()
	rep, err := db.Verify()
	if err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	if len(rep.Mismatches)+len(rep.CheckErrors) > 0 {
		tb.Fatalf("Verify found mismatches %q and check errors %q", rep.Mismatches, rep.CheckErrors)
	}
	return rep
}
