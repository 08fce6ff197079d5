package estimator

import "math"

// YearValues holds one year's indicator values: for each code, one value per
// province in Provinces() order, NaN where missing.
type YearValues map[string][]float64

// NewYearValues returns values for the given codes, all missing.
func NewYearValues(codes ...string) YearValues {
	v := YearValues{}
	for _, c := range codes {
		v.ensure(c)
	}
	return v
}

func (v YearValues) ensure(code string) []float64 {
	if vec, ok := v[code]; ok {
		return vec
	}
	vec := make([]float64, NumProvinces)
	for i := range vec {
		vec[i] = math.NaN()
	}
	v[code] = vec
	return vec
}

// Set records province's value of code; provinces outside the 31 are ignored.
func (v YearValues) Set(code string, province uint32, value float64) {
	if i := provinceIndexOf(province); i >= 0 {
		v.ensure(code)[i] = value
	}
}

func provinceIndexOf(code uint32) int { return provinceSlot(code) }

// SetScale fills the three derived leaves from each province's totals as of
// the end of year (the six-year window), as FP32-equivalent EFlops so that a
// target in the methodology reads like the blue book's figures.
func (v YearValues) SetScale(cellsByProvince map[uint32][]Cell, year int, f Factors) {
	for _, p := range provinces {
		t := Sum(cellsByProvince[p.Code], Period{Year: year}, f)
		v.Set("scale.basic", p.Code, t.BasicFP32)
		v.Set("scale.ai", p.Code, t.AIFP32Eq)
		v.Set("scale.super", p.Code, t.SuperFP32Eq)
	}
}

// LeafScore is one indicator of one province: its value, its normalised
// score and its global weight; Value and Normalized are NaN when missing.
type LeafScore struct {
	Code       string
	Value      float64
	Normalized float64
	Weight     float64
}

// ProvinceScore is one province's index in one year.
type ProvinceScore struct {
	Province uint32
	Year     int
	IndexScore
	Rank           int            // among produced composites, 1 = highest; 0 if not produced
	DimensionRanks map[string]int // per dimension score
	Tier           int            // 1, 2 or 3; 0 if not produced
	Leaves         []LeafScore    // in code order
}

// ScoreInputs are the values one year's scores depend on.
type ScoreInputs struct {
	Year   int
	Values YearValues
	// Base is BaseYear's values, for targets that are not set; nil means the
	// scored year's values stand in.
	Base YearValues
	// Pool is every scored year's values, for ScopePooled bounds.
	Pool []YearValues
}

// ScoreYear computes every province's index for one year (METHOD.md section
// 5, stages 3-4): each leaf normalised across the provinces, aggregated with
// the global weights (from m.Weights), ranked and tiered. A leaf with no value
// in any province is missing for all of them, never zero.
func ScoreYear(in ScoreInputs, m Methodology, weights map[string]float64) ([]ProvinceScore, error) {
	codes := sortedKeys(weights)
	norm, err := normalizeYear(codes, in, m)
	if err != nil {
		return nil, err
	}
	out := make([]ProvinceScore, NumProvinces)
	rule := MissingRule{CoverageThreshold: m.CoverageThreshold}
	for i, p := range provinces {
		leaf := make(map[string]float64, len(codes))
		ps := ProvinceScore{Province: p.Code, Year: in.Year, Leaves: make([]LeafScore, 0, len(codes))}
		for _, code := range codes {
			value := math.NaN()
			if vec, ok := in.Values[code]; ok {
				value = vec[i]
			}
			leaf[code] = norm[code][i]
			ps.Leaves = append(ps.Leaves, LeafScore{Code: code, Value: value, Normalized: norm[code][i], Weight: weights[code]})
		}
		s, err := compositeOf(codes, leaf, weights, DimensionOf, rule, m.Aggregation == AggGeometric)
		if err != nil {
			return nil, err
		}
		ps.IndexScore = s
		out[i] = ps
	}
	rankAndTier(out, m)
	return out, nil
}

// normalizeYear normalises every leaf of codes across the provinces: stage 3
// alone, so that the uncertainty analysis can aggregate one normalisation
// with many weightings.
func normalizeYear(codes []string, in ScoreInputs, m Methodology) (map[string][]float64, error) {
	norm := make(map[string][]float64, len(codes))
	for _, code := range codes {
		vec, err := normalizeLeaf(code, in, m)
		if err != nil {
			return nil, err
		}
		norm[code] = vec
	}
	return norm, nil
}

func normalizeLeaf(code string, in ScoreInputs, m Methodology) ([]float64, error) {
	vec, ok := in.Values[code]
	if !ok {
		vec = NewYearValues(code)[code]
	}
	spec := m.spec(code)
	vectors := [][]float64{vec}
	switch {
	case spec.Method == NormTarget && spec.Target == 0 && in.Base != nil:
		if base, ok := in.Base[code]; ok {
			vectors = [][]float64{base}
		}
	case m.Scope == ScopePooled && (spec.Method == NormMinMax || spec.Method == NormZScore):
		for _, y := range in.Pool {
			if v, ok := y[code]; ok {
				vectors = append(vectors, v)
			}
		}
	}
	b, err := BoundsOf(vectors...)
	if err != nil && spec.Method != NormRank && spec.Method != NormGoalposts && !(spec.Method == NormTarget && spec.Target > 0) {
		// No value to take bounds from: the leaf is missing everywhere.
		if ErrorCode(err) == EInvalid && allNaN(vectors) {
			return NewYearValues(code)[code], nil
		}
		return nil, err
	}
	return Normalize(vec, spec, b)
}

func allNaN(vectors [][]float64) bool {
	for _, v := range vectors {
		for _, x := range v {
			if !math.IsNaN(x) {
				return false
			}
		}
	}
	return true
}

// rankAndTier ranks produced composites (ties share the best rank) and each
// dimension, then tiers: first above FirstTierAbove, second up to
// SecondTierMaxRank, third the rest.
func rankAndTier(scores []ProvinceScore, m Methodology) {
	composite := map[int]float64{}
	dims := map[string]map[int]float64{}
	for i, s := range scores {
		if s.Produced {
			composite[i] = s.Composite
		}
		for d, v := range s.Dimensions {
			if dims[d] == nil {
				dims[d] = map[int]float64{}
			}
			dims[d][i] = v
		}
	}
	for _, r := range RankDesc(composite) {
		s := &scores[r.Key]
		s.Rank = r.Rank
		switch {
		case s.Composite > m.FirstTierAbove:
			s.Tier = 1
		case s.Rank <= m.SecondTierMaxRank:
			s.Tier = 2
		default:
			s.Tier = 3
		}
	}
	for _, d := range sortedKeys(dims) {
		for _, r := range RankDesc(dims[d]) {
			if scores[r.Key].DimensionRanks == nil {
				scores[r.Key].DimensionRanks = map[string]int{}
			}
			scores[r.Key].DimensionRanks[d] = r.Rank
		}
	}
}
