package store_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// maxYear is the latest year the fixtures' records validate against.
const maxYear = 2030

// Guangdong and Beijing are the provinces most fixtures ship to.
const (
	guangdong uint32 = 440000
	beijing   uint32 = 110000
)

// openDB opens the store at path with a fake clock and registers a cleanup
// that runs bbolt's consistency check and closes it. A test that closes the
// store itself (to reopen it) leaves the check to the next openDB.
func openDB(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(path, store.Options{Timeout: time.Second, Now: fakeClock()})
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		err := db.Bolt().View(func(tx *bbolt.Tx) error {
			for err := range tx.Check() {
				tb.Errorf("bbolt check: %v", err)
			}
			return nil
		})
		if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
			return
		}
		if err != nil {
			tb.Errorf("check: %v", err)
		}
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// newDB opens a fresh store in a temporary directory.
func newDB(tb testing.TB) *store.DB {
	tb.Helper()
	return openDB(tb, filepath.Join(tb.TempDir(), "store.db"))
}

// fakeClock ticks one second per call from a fixed instant, so change times
// are predictable.
func fakeClock() func() time.Time {
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

// cpuSpec is a CPU of 2 cores at 1 GHz doing 8 FP32 FLOPs per cycle:
// 2 × 1e9 × 8 = 16e9 FLOP/s = 16 000 MFLOPS per chip (FP64: 8 000).
func cpuSpec(id string) estimator.ChipSpec {
	return estimator.ChipSpec{
		ID: id, Vendor: "Acme", Model: "C2", Kind: estimator.KindCPU, Cores: 2, ClockHz: 1e9,
		Rates:  []estimator.Rate{{Precision: estimator.FP32, FlopsPerCycle: 8}, {Precision: estimator.FP64, FlopsPerCycle: 4}},
		Source: "test sheet",
	}
}

// gpuSpec is an accelerator with a stated FP16 peak of 1e12 FLOP/s
// (1 000 000 MFLOPS per chip).
func gpuSpec(id string) estimator.ChipSpec {
	return estimator.ChipSpec{
		ID: id, Vendor: "Acme", Model: "G1", Kind: estimator.KindGPU,
		Rates:  []estimator.Rate{{Precision: estimator.FP16, PeakFLOPS: 1e12}},
		Source: "test sheet",
	}
}

// general is a general server of two catalog CPUs: 32 000 MFLOPS per unit.
func general(id string, province uint32, p estimator.Period, units int64, chipID string) estimator.Record {
	return estimator.Record{
		ID: id, Province: province, Period: p, Class: estimator.ClassGeneral, Units: units,
		Components: []estimator.Component{{Count: 2, ChipID: chipID}},
	}
}

// aiServer has 8 GPUs (8 000 000 MFLOPS FP16) and 2 host CPUs (32 000 MFLOPS
// FP32) per unit.
func aiServer(id string, province uint32, p estimator.Period, units int64, gpuID, cpuID string) estimator.Record {
	return estimator.Record{
		ID: id, Province: province, Period: p, Class: estimator.ClassAI, Units: units,
		Components: []estimator.Component{{Count: 8, ChipID: gpuID}, {Count: 2, ChipID: cpuID}},
	}
}

func q(year, quarter int) estimator.Period { return estimator.Period{Year: year, Quarter: quarter} }

// mustValid fails the test if a fixture would not pass Validate, since the
// store may assume records did.
func mustValid(tb testing.TB, recs ...estimator.Record) []estimator.Record {
	tb.Helper()
	for i := range recs {
		if vs := recs[i].Validate(maxYear); len(vs) > 0 {
			tb.Fatalf("fixture %s is invalid: %v", recs[i].ID, vs)
		}
	}
	return recs
}

// seed opens a store holding cpu-a, cpu-b and gpu-a.
func seed(tb testing.TB) *store.DB {
	tb.Helper()
	db := newDB(tb)
	for _, s := range []estimator.ChipSpec{cpuSpec("cpu-a"), cpuSpec("cpu-b"), gpuSpec("gpu-a")} {
		if _, err := db.PutChip(s); err != nil {
			tb.Fatalf("PutChip(%s): %v", s.ID, err)
		}
	}
	return db
}

func ingest(tb testing.TB, db *store.DB, vendor string, replace bool, recs ...estimator.Record) store.IngestResult {
	tb.Helper()
	res, err := db.IngestShipments(vendor, mustValid(tb, recs...), replace)
	if err != nil {
		tb.Fatalf("IngestShipments(%s): %v", vendor, err)
	}
	return res
}

func allCells(tb testing.TB, db *store.DB) []estimator.Cell {
	tb.Helper()
	cells, _, err := db.AllCells()
	if err != nil {
		tb.Fatalf("AllCells: %v", err)
	}
	return cells
}

func revision(tb testing.TB, db *store.DB) uint64 {
	tb.Helper()
	return db.Revision()
}

// wantError fails unless err is an *estimator.Error with code and exactly
// the violation fields given (in order), if any are given.
func wantError(tb testing.TB, err error, code estimator.Code, fields ...string) *estimator.Error {
	tb.Helper()
	var e *estimator.Error
	if !errors.As(err, &e) || e.Code != code {
		tb.Fatalf("error = %v (code %q), want code %q", err, estimator.ErrorCode(err), code)
	}
	if len(fields) == 0 {
		return e
	}
	var got []string
	for _, v := range e.Violations {
		got = append(got, v.Field)
	}
	if !slices.Equal(got, fields) {
		tb.Fatalf("violations %v, want fields %v", e.Violations, fields)
	}
	return e
}

func cell(province uint32, s estimator.Series, p estimator.Period, mflops, units, records int64) estimator.Cell {
	return estimator.Cell{Province: province, Series: s, Period: p,
		Amount: estimator.Amount{MFLOPS: mflops, Units: units, Records: records}}
}
