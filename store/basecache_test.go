package store_test

import (
	"testing"

	"github.com/computescale/computescale/estimator"
)

// TestBaseYearCache writes, in turn, what leaves the base year (2020, the
// default methodology's) alone, so that later writes score against the kept
// base year, and what moves it: base-year observations, shipments whose
// windows reach 2020, a supercomputer commissioned before it, a chip that
// re-derives them, a retraction. After every write the stored scores must
// equal a recompute from scratch (ScoreInputs never uses the cache), and
// Verify must be clean.
func TestBaseYearCache(t *testing.T) {
	db := indexDB(t, 2020, 2021, 2022, 2023, 2024)
	check := func(step string) {
		t.Helper()
		for y := 2020; y <= 2024; y++ {
			sameScores(t, step, storedScores(t, db, y), freshScores(t, db, y, 0))
		}
		verifyClean(t, db)
	}
	check("start")
	// Leaves 2020 alone: a 2024 shipment counts in windows ending 2024-2029.
	ingest(t, db, "acme", false, general("late", guangdong, q(2024, 2), 50, "cpu-a"))
	check("after a 2024 shipment")
	// Moves 2020: its observations.
	var moved []estimator.Observation
	for _, o := range fullYear(2020) {
		if o.Province == beijing {
			o.Value *= 3
			moved = append(moved, o)
		}
	}
	putObs(t, db, "nbs", true, moved...)
	check("after 2020 observations")
	ingest(t, db, "acme", false, general("late2", beijing, q(2023, 1), 5, "cpu-b"))
	check("after a 2023 shipment")
	// Moves 2020: a 2017 shipment is in the six-year window ending 2020.
	ingest(t, db, "acme", false, general("early", beijing, q(2017, 3), 400, "cpu-a"))
	check("after a 2017 shipment")
	ingest(t, db, "zeta", false, general("late3", guangdong, q(2024, 4), 9, "cpu-b"))
	check("after another 2024 shipment")
	// Moves 2020: a chip that the 2017 record uses.
	faster := cpuSpec("cpu-a")
	faster.ClockHz *= 2
	if _, err := db.PutChip(faster); err != nil {
		t.Fatal(err)
	}
	check("after a chip replace")
	ingest(t, db, "zeta", false, general("late4", guangdong, q(2022, 1), 3, "cpu-a"))
	check("after a 2022 shipment")
	// Moves 2020: retracting the 2017 record.
	if _, err := db.Retract("acme", []string{"early"}, false); err != nil {
		t.Fatal(err)
	}
	check("after a retraction")
	ingest(t, db, "zeta", false, general("late5", beijing, q(2024, 1), 1, "cpu-b"))
	check("after the last 2024 shipment")
	if n, err := db.RecomputeYear(2024); err != nil || n != 0 {
		t.Errorf("RecomputeYear(2024) = %d, %v; want nothing stale", n, err)
	}
}
