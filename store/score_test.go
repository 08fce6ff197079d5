package store_test

import (
	"slices"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// indexDB holds observations of every observed leaf for the years given and
// shipments of general and AI servers in 2022-2024.
func indexDB(t *testing.T, years ...int) *store.DB {
	t.Helper()
	db := seed(t)
	for _, y := range years {
		putObs(t, db, "nbs", false, fullYear(y)...)
	}
	ingest(t, db, "acme", false,
		general("g1", guangdong, q(2022, 2), 100, "cpu-a"),
		general("g2", beijing, q(2023, 0), 40, "cpu-b"),
		aiServer("a1", guangdong, q(2024, 1), 5, "gpu-a", "cpu-a"),
		aiServer("a2", 310000, q(2023, 3), 8, "gpu-a", "cpu-b"))
	return db
}

// changedYears lists the distinct years of a change's scores.
func changedYears(c store.Change) []int {
	var ys []int
	for _, s := range c.Scores {
		if !slices.Contains(ys, s.Year) {
			ys = append(ys, s.Year)
		}
	}
	return ys
}

func TestScores(t *testing.T) {
	t.Run("OKMatchesFresh", func(t *testing.T) {
		db := indexDB(t, 2023, 2024)
		for _, y := range []int{2023, 2024} {
			stored := storedScores(t, db, y)
			if len(stored) != 31 || !stored[guangdong].Produced {
				t.Fatalf("%d: %d summaries, Guangdong %+v; want 31, Guangdong produced", y, len(stored), stored[guangdong])
			}
			sameScores(t, "stored vs fresh", stored, freshScores(t, db, y, 0))
		}
		verifyClean(t, db)
	})
	t.Run("OKObservationChangesOnlyItsYear", func(t *testing.T) {
		db := indexDB(t, 2023, 2024)
		before23, before24 := storedScores(t, db, 2023), storedScores(t, db, 2024)
		o := obs(beijing, 2023, "industry.devices", 5000) // the new largest value, past the plausibility bound: forced
		res, err := db.PutObservationsWith("nbs", []estimator.Observation{o}, store.ObservationOptions{Replace: true, Force: true})
		if err != nil {
			t.Fatal(err)
		}
		c := lastChange(t, db)
		if !slices.Equal(changedYears(c), []int{2023}) || len(c.Scores) != res.ScoresChanged || res.ScoresChanged == 0 {
			t.Fatalf("change lists years %v and %d scores (result %d), want 2023 only", changedYears(c), len(c.Scores), res.ScoresChanged)
		}
		after23 := storedScores(t, db, 2023)
		listed := map[uint32]bool{}
		for _, s := range c.Scores {
			listed[s.Province] = true
			if s.Deleted || before23[s.Province].Equal(s.Summary) || !after23[s.Province].Equal(s.Summary) {
				t.Errorf("listed %d: %+v, before %+v: want a real change to the stored summary", s.Province, s.Summary, before23[s.Province])
			}
		}
		for p, b := range before23 {
			if !listed[p] && !b.Equal(after23[p]) {
				t.Errorf("province %d changed in 2023 but is not listed", p)
			}
		}
		sameScores(t, "2024 after a 2023 observation", storedScores(t, db, 2024), before24)
		sameScores(t, "2023 stored vs fresh", after23, freshScores(t, db, 2023, 0))
	})
	t.Run("OKShipmentWindow", func(t *testing.T) {
		db := indexDB(t, 2019, 2023, 2024, 2025)
		// The scored year's own largest value stands in for targets, so only
		// the windows a 2019 shipment counts in can move.
		m := estimator.DefaultMethodology()
		m.BaseYear = 0
		if _, err := db.PutMethodology(m); err != nil {
			t.Fatal(err)
		}
		before25 := storedScores(t, db, 2025)
		res := ingest(t, db, "acme", false, general("old", 620000, q(2019, 4), 500, "cpu-a"))
		c := lastChange(t, db)
		if got := changedYears(c); !slices.Equal(got, []int{2019, 2023, 2024}) || res.ScoresChanged != len(c.Scores) {
			t.Errorf("2019 shipment changed years %v (%d scores, result %d), want [2019 2023 2024]", got, len(c.Scores), res.ScoresChanged)
		}
		sameScores(t, "2025 after a 2019 shipment", storedScores(t, db, 2025), before25)
		verifyClean(t, db)
	})
	t.Run("OKBaseYearWidens", func(t *testing.T) {
		db := indexDB(t, 2020, 2025) // the default methodology's base year is 2020
		ingest(t, db, "acme", false, general("old", 620000, q(2016, 1), 500, "cpu-a"))
		if got := changedYears(lastChange(t, db)); !slices.Equal(got, []int{2020, 2025}) {
			t.Errorf("2016 shipment changed years %v, want [2020 2025]: it moves 2020's stand-in targets", got)
		}
		verifyClean(t, db)
	})
	t.Run("OKPutMethodology", func(t *testing.T) {
		db := indexDB(t, 2023, 2024)
		before := storedScores(t, db, 2024)
		res, err := db.PutMethodology(weightedMethodology())
		if err != nil {
			t.Fatal(err)
		}
		c := lastChange(t, db)
		if res.ScoresChanged == 0 || len(c.Scores) != res.ScoresChanged || !slices.Equal(changedYears(c), []int{2023, 2024}) {
			t.Errorf("PutMethodology changed %d scores, logged %d in years %v; want some in 2023 and 2024",
				res.ScoresChanged, len(c.Scores), changedYears(c))
		}
		after := storedScores(t, db, 2024)
		if after[guangdong].Equal(before[guangdong]) {
			t.Errorf("Guangdong's 2024 summary did not change: %+v", after[guangdong])
		}
		sameScores(t, "2024 stored vs fresh", after, freshScores(t, db, 2024, 0))
		// Version 1 still scores on demand, as the commit path scored before.
		sameScores(t, "2024 with version 1", freshScores(t, db, 2024, 1), before)
		verifyClean(t, db)
	})
	t.Run("OKRetract", func(t *testing.T) {
		db := indexDB(t, 2023, 2024)
		res, err := db.Retract("acme", []string{"a1"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.ScoresChanged == 0 || !slices.Equal(changedYears(lastChange(t, db)), []int{2024}) {
			t.Errorf("retracting a 2024 AI server changed %d scores in %v, want some in 2024", res.ScoresChanged, changedYears(lastChange(t, db)))
		}
		verifyClean(t, db)
	})
	t.Run("OKDeleted", func(t *testing.T) {
		db := seed(t)
		putObs(t, db, "nbs", false, obs(beijing, 2024, "tech.rnd", 3))
		ingest(t, db, "acme", false, general("s1", 310000, q(2024, 1), 10, "cpu-a"))
		// Shipments to Shanghai make scale.basic observed: every province
		// has a scale score, most of them 0.
		if n := len(storedScores(t, db, 2024)); n != 31 {
			t.Fatalf("%d summaries with shipments, want 31", n)
		}
		if _, err := db.Retract("acme", []string{"s1"}, false); err != nil {
			t.Fatal(err)
		}
		deleted := 0
		for _, s := range lastChange(t, db).Scores {
			if s.Deleted {
				deleted++
			} else if s.Province != beijing {
				t.Errorf("province %d changed without being deleted", s.Province)
			}
		}
		if stored := storedScores(t, db, 2024); deleted != 30 || len(stored) != 1 || !stored[beijing].Dimensions[2].Present {
			t.Errorf("retract deleted %d summaries and kept %v; want 30 deleted and Beijing's tech score", deleted, stored)
		}
		verifyClean(t, db)
	})
	t.Run("OKNoIndex", func(t *testing.T) {
		db := openDBWith(t, store.Options{NoIndex: true})
		res := putObs(t, db, "nbs", false, fullYear(2023)...)
		if res.ScoresChanged != 0 || len(storedScores(t, db, 2023)) != 0 || lastChange(t, db).Scores != nil {
			t.Errorf("NoIndex stored scores: result %+v", res)
		}
		rep, err := db.Verify()
		if err != nil || len(rep.Mismatches) != 31 {
			t.Errorf("Verify of a NoIndex store: %d mismatches, %v; want 31 missing scores", len(rep.Mismatches), err)
		}
	})
}
