package store_test

import (
	"context"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// TestNativeScoreInputs: the native scale leaves times the methodology's
// factors are exactly the ones the scores are built from, so an uncertainty
// analysis with nothing varied reproduces the stored ranks.
func TestNativeScoreInputs(t *testing.T) {
	db := indexDB(t, 2023, 2024)
	native, m, rev, err := db.NativeScoreInputs(2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	in, _, _, rev2, err := db.ScoreInputs(2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rev != rev2 || rev == 0 {
		t.Fatalf("revisions %d and %d", rev, rev2)
	}
	for code, f := range map[string]float64{"scale.basic": 1, "scale.ai": m.Factors.FP16, "scale.super": m.Factors.FP64} {
		nv, v := native.Values[code], in.Values[code]
		if len(nv) != len(v) {
			t.Fatalf("%s: native has %d values, scored %d", code, len(nv), len(v))
		}
		for i := range v {
			if nv[i]*f != v[i] && !(nv[i] != nv[i] && v[i] != v[i]) {
				t.Errorf("%s[%d]: native %v × %v ≠ %v", code, i, nv[i], f, v[i])
			}
		}
	}
	if native.Values["scale.ai"] == nil {
		t.Fatal("the fixture has AI servers: scale.ai must be present")
	}
	u, err := estimator.RankUncertainty(context.Background(), native, m, estimator.UncertaintyConfig{Samples: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	stored := storedScores(t, db, 2024)
	for _, p := range u.Provinces {
		if s := stored[p.Province]; p.NominalRank != s.Rank || p.MedianRank != float64(s.Rank) {
			t.Errorf("%d: nominal %d median %v, stored rank %d", p.Province, p.NominalRank, p.MedianRank, s.Rank)
		}
	}
}
