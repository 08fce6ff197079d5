package estimator

import (
	"math"
	"testing"
)

func twoLeafMethodology() Methodology {
	m := DefaultMethodology()
	m.Hierarchy = WeightNode{Code: "index", Weights: []float64{3, 1}, Children: []WeightNode{
		{Code: "industry", Children: []WeightNode{{Code: "industry.devices"}}},
		{Code: "tech", Children: []WeightNode{{Code: "tech.rnd"}}},
	}}
	m.Indicators = map[string]NormSpec{"industry.devices": {Target: 200}, "tech.rnd": {Target: 50}}
	m.FirstTierAbove = 100
	return m
}

func TestScoreYear(t *testing.T) {
	m := twoLeafMethodology()
	w, _, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	if w["industry.devices"] != 0.75 || w["tech.rnd"] != 0.25 {
		t.Fatalf("weights = %v", w)
	}
	v := NewYearValues()
	v.Set("industry.devices", 110000, 100) // Beijing: 50 and 100 → 0.75·50 + 0.25·100 = 62.5
	v.Set("tech.rnd", 110000, 50)
	v.Set("industry.devices", 120000, 300) // Tianjin: 150, tech missing → coverage 0.75, composite 150
	v.Set("tech.rnd", 130000, 25)          // Hebei: coverage 0.25 < 0.6 → no score
	scores, err := ScoreYear(ScoreInputs{Year: 2024, Values: v}, m, w)
	if err != nil {
		t.Fatal(err)
	}
	bj, tj, he, sx := scores[0], scores[1], scores[2], scores[3]
	for _, c := range []struct {
		name            string
		got             ProvinceScore
		composite       float64
		produced        bool
		rank, tier      int
		coverage        float64
		industryDimRank int
	}{
		{"Beijing", bj, 62.5, true, 2, 2, 1, 2},
		{"Tianjin", tj, 150, true, 1, 1, 0.75, 1},
		{"Hebei", he, math.NaN(), false, 0, 0, 0.25, 0},
		{"Shanxi", sx, math.NaN(), false, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := c.got
			if g.Produced != c.produced || g.Rank != c.rank || g.Tier != c.tier || math.Abs(g.Coverage-c.coverage) > 1e-12 {
				t.Errorf("produced %v rank %d tier %d coverage %v", g.Produced, g.Rank, g.Tier, g.Coverage)
			}
			if c.produced && math.Abs(g.Composite-c.composite) > 1e-9 || !c.produced && !math.IsNaN(g.Composite) {
				t.Errorf("composite = %v, want %v", g.Composite, c.composite)
			}
			if g.DimensionRanks["industry"] != c.industryDimRank {
				t.Errorf("industry rank = %d, want %d", g.DimensionRanks["industry"], c.industryDimRank)
			}
		})
	}
	if got := bj.Leaves[0]; got.Code != "industry.devices" || got.Value != 100 || got.Normalized != 50 || got.Weight != 0.75 {
		t.Errorf("Beijing leaf = %+v", got)
	}
	if !math.IsNaN(tj.Leaves[1].Value) || !math.IsNaN(tj.Leaves[1].Normalized) {
		t.Errorf("missing leaf must stay NaN, got %+v", tj.Leaves[1])
	}
}

func TestScoreYearBaseYearStandsInForTarget(t *testing.T) {
	m := twoLeafMethodology()
	m.Indicators = nil // no targets: the base year's largest value stands in
	w, _, _ := m.Weights()
	v, base := NewYearValues(), NewYearValues()
	v.Set("industry.devices", 110000, 100)
	base.Set("industry.devices", 110000, 300)
	base.Set("industry.devices", 120000, 400)
	scores, err := ScoreYear(ScoreInputs{Year: 2024, Values: v, Base: base}, m, w)
	if err != nil {
		t.Fatal(err)
	}
	if got := scores[0].Leaves[0].Normalized; got != 25 {
		t.Errorf("normalised = %v, want 100/400·100 = 25", got)
	}
}

// With every indicator increasing in the same order of provinces, any
// normalisation that scores a larger value higher must rank the provinces in
// that order: rank normalisation once ranked them backwards.
func TestScoreYearRankNormOrdersLikeTarget(t *testing.T) {
	v := NewYearValues()
	for i, p := range Provinces() {
		q := float64(i * 7 % NumProvinces) // a shuffled order, not code order
		v.Set("industry.devices", p.Code, 10+q*q)
		v.Set("tech.rnd", p.Code, 1+3*q)
	}
	rankBy := func(norm NormMethod) []int {
		m := twoLeafMethodology()
		m.Norm = norm
		if norm != NormTarget {
			m.Indicators = nil
		}
		w, _, err := m.Weights()
		if err != nil {
			t.Fatal(err)
		}
		scores, err := ScoreYear(ScoreInputs{Year: 2024, Values: v}, m, w)
		if err != nil {
			t.Fatal(err)
		}
		ranks := make([]int, len(scores))
		for i, s := range scores {
			ranks[i] = s.Rank
		}
		return ranks
	}
	target, rank := rankBy(NormTarget), rankBy(NormRank)
	for i, p := range Provinces() {
		want := NumProvinces - i*7%NumProvinces // the largest q ranks 1
		if target[i] != want || rank[i] != want {
			t.Errorf("%s: rank %d by target, %d by rank normalisation, want %d", p.Name, target[i], rank[i], want)
		}
	}
}

func TestMethodologyWeights(t *testing.T) {
	t.Run("DefaultIsEqualPerLevel", func(t *testing.T) {
		w, _, err := DefaultMethodology().Weights()
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, x := range w {
			sum += x
		}
		// Five dimensions at 0.2; scale has three leaves at 0.2/3.
		if len(w) != 14 || math.Abs(sum-1) > 1e-12 || math.Abs(w["scale.ai"]-0.2/3) > 1e-12 || math.Abs(w["env.it_spend"]-0.2/3) > 1e-12 {
			t.Errorf("weights = %v (sum %v)", w, sum)
		}
	})
	inconsistent := func(allow bool) Methodology {
		m := DefaultMethodology()
		m.Hierarchy.Matrix = [][]float64{ // 1>2, 2>3, 3>1: a cycle, CR far above 0.1
			{1, 9, 1.0 / 9, 1, 1}, {1.0 / 9, 1, 9, 1, 1}, {9, 1.0 / 9, 1, 1, 1}, {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1},
		}
		m.AllowInconsistent = allow
		return m
	}
	t.Run("ErrInconsistent", func(t *testing.T) {
		_, _, err := inconsistent(false).Weights()
		if ErrorCode(err) != EFailedPrecondition {
			t.Fatalf("err = %v, want failed precondition", err)
		}
	})
	t.Run("AllowInconsistent", func(t *testing.T) {
		if _, _, err := inconsistent(true).Weights(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrUnknownLeaf", func(t *testing.T) {
		m := DefaultMethodology()
		m.Hierarchy = WeightNode{Code: "index", Children: []WeightNode{{Code: "gdp"}}}
		if _, _, err := m.Weights(); ErrorCode(err) != EInvalid {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrGeometricZScore", func(t *testing.T) {
		m := DefaultMethodology()
		m.Norm, m.Aggregation = NormZScore, AggGeometric
		if _, _, err := m.Weights(); ErrorCode(err) != EInvalid {
			t.Fatalf("err = %v", err)
		}
	})
}
