package store_test

import (
	"path/filepath"
	"testing"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// observedLeaves are the 11 index leaves pushed as observations.
func observedLeaves() []string {
	var codes []string
	for _, ind := range estimator.Indicators() {
		if !ind.Derived {
			codes = append(codes, ind.Code)
		}
	}
	return codes
}

// obs is one observation in the indicator's own unit.
func obs(province uint32, year int, code string, value float64) estimator.Observation {
	ind, _ := estimator.LookupIndicator(code)
	return estimator.Observation{Province: province, Year: year, Indicator: code, Value: value, Unit: ind.Unit, Source: "test"}
}

// fullYear observes every non-derived leaf in all 31 provinces. Values grow
// with the province's position, the leaf and the year, so every year and
// leaf ranks provinces the same way but by different margins.
func fullYear(year int) []estimator.Observation {
	var out []estimator.Observation
	for i, p := range estimator.Provinces() {
		for k, code := range observedLeaves() {
			v := float64((i+1)*(k+3)) + float64(year-2000)*0.5 + float64((i*7+k*3)%5)
			out = append(out, obs(p.Code, year, code, v))
		}
	}
	return out
}

// putObs validates the observations, as the server would, and stores them.
func putObs(tb testing.TB, db *store.DB, actor string, replace bool, batch ...estimator.Observation) store.ObservationResult {
	tb.Helper()
	for i := range batch {
		if vs := batch[i].Validate(maxYear); len(vs) > 0 {
			tb.Fatalf("fixture %+v is invalid: %v", batch[i], vs)
		}
	}
	res, err := db.PutObservations(actor, batch, replace)
	if err != nil {
		tb.Fatalf("PutObservations: %v", err)
	}
	return res
}

// openDBWith is openDB with store options (the fake clock is added).
func openDBWith(tb testing.TB, opts store.Options) *store.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "store.db")
	opts.Now = fakeClock()
	db, err := store.Open(path, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// freshScores scores a year from scratch through ScoreInputs and
// estimator.ScoreYear, keeping the provinces with any score, the way the
// store decides what to keep.
func freshScores(tb testing.TB, db *store.DB, year int, version uint64) map[uint32]store.ScoreSummary {
	tb.Helper()
	in, m, w, _, err := db.ScoreInputs(year, version)
	if err != nil {
		tb.Fatalf("ScoreInputs(%d, %d): %v", year, version, err)
	}
	scores, err := estimator.ScoreYear(in, m, w)
	if err != nil {
		tb.Fatalf("ScoreYear(%d): %v", year, err)
	}
	out := map[uint32]store.ScoreSummary{}
	for _, ps := range scores {
		if ps.Produced || len(ps.Dimensions) > 0 {
			out[ps.Province] = store.SummarizeScore(ps)
		}
	}
	return out
}

func storedScores(tb testing.TB, db *store.DB, year int) map[uint32]store.ScoreSummary {
	tb.Helper()
	s, _, err := db.StoredScores(year)
	if err != nil {
		tb.Fatalf("StoredScores(%d): %v", year, err)
	}
	return s
}

// sameScores fails unless two years' summaries are equal, province by
// province.
func sameScores(tb testing.TB, what string, got, want map[uint32]store.ScoreSummary) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d summaries, want %d", what, len(got), len(want))
	}
	for p, w := range want {
		if g, ok := got[p]; !ok || !g.Equal(w) {
			tb.Errorf("%s: province %d = %+v, want %+v", what, p, g, w)
		}
	}
}

// lastChange returns the change log's newest entry.
func lastChange(tb testing.TB, db *store.DB) store.Change {
	tb.Helper()
	rev := revision(tb, db)
	cs, err := db.Changes(rev, 1)
	if err != nil || len(cs) != 1 {
		tb.Fatalf("Changes(%d, 1) = %v, %v", rev, cs, err)
	}
	return cs[0]
}
