package store_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

func TestPutObservations(t *testing.T) {
	batch := func() []estimator.Observation {
		return []estimator.Observation{
			obs(guangdong, 2023, "industry.devices", 120.5),
			obs(beijing, 2023, "tech.rnd", 80),
			obs(beijing, 2023, "gdp", 43760.7),
		}
	}
	t.Run("OK", func(t *testing.T) {
		db := newDB(t)
		res := putObs(t, db, "nbs", false, batch()...)
		// Beijing and Guangdong now have a dimension each, so a score each.
		if want := (store.ObservationResult{Revision: 1, Created: 3, ScoresChanged: 2}); res != want {
			t.Errorf("PutObservations = %+v, want %+v", res, want)
		}
		got, rev, err := db.Observations(2023)
		if err != nil {
			t.Fatal(err)
		}
		b := batch()
		want := []estimator.Observation{b[2], b[1], b[0]} // key order: province, then indicator
		for i := range want {
			want[i].Actor = "nbs"
		}
		if rev != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("Observations(2023) = %+v at %d, want %+v at 1", got, rev, want)
		}
		if c := lastChange(t, db); c.Kind != store.ChangeObservations || c.Actor != "nbs" || c.Cells != nil {
			t.Errorf("change = %+v, want an observations change by nbs without cells", c)
		}
		verifyClean(t, db)
	})
	t.Run("OKUnchanged", func(t *testing.T) {
		db := newDB(t)
		putObs(t, db, "nbs", false, batch()...)
		res := putObs(t, db, "someone-else", false, batch()...)
		if want := (store.ObservationResult{Revision: 1, Unchanged: 3}); res != want {
			t.Errorf("resend = %+v, want %+v", res, want)
		}
		got, _, _ := db.Observations(2023)
		if got[0].Actor != "nbs" {
			t.Errorf("actor after resend = %q, want the first sender's", got[0].Actor)
		}
	})
	t.Run("ErrAlreadyExists", func(t *testing.T) {
		db := newDB(t)
		putObs(t, db, "nbs", false, batch()...)
		before, _, _ := db.Observations(2023)
		changed := batch()
		changed[1].Value = 81
		changed = append(changed, obs(guangdong, 2023, "tech.rnd", 9))
		_, err := db.PutObservations("nbs", changed, false)
		wantError(t, err, estimator.EAlreadyExists, "observations[1].value")
		if got, _, _ := db.Observations(2023); !reflect.DeepEqual(got, before) {
			t.Errorf("observations = %+v, want unchanged %+v", got, before)
		}
		if rev := revision(t, db); rev != 1 {
			t.Errorf("revision = %d, want 1", rev)
		}
	})
	t.Run("OKReplace", func(t *testing.T) {
		db := newDB(t)
		putObs(t, db, "nbs", false, batch()...)
		changed := batch()
		changed[1].Value, changed[2].Source = 81, "yearbook 2024"
		res := putObs(t, db, "caict", true, append(changed, obs(guangdong, 2023, "tech.rnd", 9))...)
		if res.Revision != 2 || res.Created != 1 || res.Replaced != 2 || res.Unchanged != 1 {
			t.Errorf("replace = %+v, want revision 2, 1 created, 2 replaced, 1 unchanged", res)
		}
		got, _, _ := db.Observations(2023)
		if len(got) != 4 || got[1].Value != 81 || got[1].Actor != "caict" || got[0].Source != "yearbook 2024" {
			t.Errorf("observations after replace = %+v", got)
		}
		verifyClean(t, db)
	})
	t.Run("ErrDuplicateInBatch", func(t *testing.T) {
		db := newDB(t)
		dup := append(batch(), obs(beijing, 2023, "tech.rnd", 81))
		_, err := db.PutObservations("nbs", dup, false)
		wantError(t, err, estimator.EInvalid, "observations[3].indicator")
		if got, _, _ := db.Observations(2023); got != nil {
			t.Errorf("observations = %+v, want none", got)
		}
	})
	t.Run("OKReopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "obs.db")
		db := openDB(t, path)
		putObs(t, db, "nbs", false, batch()...)
		putObs(t, db, "nbs", false, obs(beijing, 2024, "env.bandwidth", 3.5))
		want, _, _ := db.Observations(2023)
		wantScores := storedScores(t, db, 2023)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = openDB(t, path)
		if got, rev, err := db.Observations(2023); err != nil || rev != 2 || !reflect.DeepEqual(got, want) {
			t.Errorf("after reopen: %+v at %d, %v; want %+v at 2", got, rev, err, want)
		}
		sameScores(t, "2023 after reopen", storedScores(t, db, 2023), wantScores)
		if years, _ := db.IndexYears(); !slices.Equal(years, []int{2023, 2024}) {
			t.Errorf("IndexYears after reopen = %v, want [2023 2024]", years)
		}
		verifyClean(t, db)
	})
	t.Run("OKIndexYears", func(t *testing.T) {
		db := newDB(t)
		if years, err := db.IndexYears(); err != nil || years != nil {
			t.Errorf("IndexYears of an empty store = %v, %v; want none", years, err)
		}
		// gdp feeds only the relationship analysis: 2022 is no index year.
		putObs(t, db, "nbs", false, obs(beijing, 2022, "gdp", 1), obs(beijing, 2024, "app.cases", 3),
			obs(guangdong, 2020, "tech.rnd", 1), obs(beijing, 2020, "tech.rnd", 2))
		if years, _ := db.IndexYears(); !slices.Equal(years, []int{2020, 2024}) {
			t.Errorf("IndexYears = %v, want [2020 2024]", years)
		}
		if got := storedScores(t, db, 2022); len(got) != 0 {
			t.Errorf("2022 has %d scores, want none", len(got))
		}
	})
}
