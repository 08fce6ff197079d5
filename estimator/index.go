package estimator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// MissingRule says how much of the index must be observed for a score.
// Missing leaves are always excluded and the remaining weights renormalised
// (METHOD.md section 5, stage 4); a score whose Coverage is below
// CoverageThreshold (0..1) is not produced.
type MissingRule struct {
	CoverageThreshold float64
}

// IndexScore is one province's index in one year.
type IndexScore struct {
	Composite         float64            // NaN unless Produced
	Dimensions        map[string]float64 // dimensions with at least one leaf present
	Coverage          float64            // share of the total leaf weight present
	DimensionCoverage map[string]float64 // share of each dimension's weight present
	Produced          bool
}

// Composite aggregates normalised leaf scores (METHOD.md section 5, stage 4).
// The leaves are the codes of weights (global leaf weights, e.g. from
// SynthesizeWeights); a leaf absent from leafScores or NaN there is missing,
// and codes of leafScores without a weight are ignored. dimOf names each
// leaf's dimension (DimensionOf for the index).
//
// Arithmetic: a dimension's score is Σ w_i s_i / Σ w_i over its present
// leaves; its weight W_d is Σ w_i over all its leaves; the composite is
// Σ W_d D_d / Σ W_d over the dimensions present. With geometric set, both
// means are weighted geometric means instead (Π s_i^(w_i/Σw) and
// Π D_d^(W_d/ΣW)): they punish imbalance, a zero score makes its dimension
// (and so the composite) zero, and negative scores (z-scores) are an error.
//
// Dimensions with no weight at all are left out of both maps. Sums run in
// code order, so equal inputs give bit-identical scores.
func Composite(leafScores, weights map[string]float64, dimOf func(code string) string, rule MissingRule, geometric bool) (IndexScore, error) {
	return compositeOf(sortedKeys(weights), leafScores, weights, dimOf, rule, geometric)
}

// compositeOf is Composite with the weights' codes already sorted, so that
// ScoreYear sorts them once for all provinces.
func compositeOf(codes []string, leafScores, weights map[string]float64, dimOf func(code string) string, rule MissingRule, geometric bool) (IndexScore, error) {
	if vs := checkComposite(codes, leafScores, weights, dimOf, rule, geometric); len(vs) > 0 {
		return IndexScore{}, Invalid("bad composite input", vs)
	}
	plan := newLeafPlan(codes, dimOf)
	scores, ws := make([]float64, len(codes)), make([]float64, len(codes))
	for i, c := range codes {
		s, ok := leafScores[c]
		if !ok {
			s = math.NaN()
		}
		scores[i], ws[i] = s, weights[c]
	}
	acc := make([]dimAcc, len(plan.dims))
	out := IndexScore{Dimensions: map[string]float64{}, DimensionCoverage: map[string]float64{}}
	out.Composite, out.Coverage, out.Produced = plan.aggregate(scores, ws, acc, rule.CoverageThreshold, geometric)
	for d, a := range acc {
		if a.weight == 0 {
			continue
		}
		out.DimensionCoverage[plan.dims[d]] = a.present / a.weight
		if a.present > 0 {
			out.Dimensions[plan.dims[d]] = mean(a.sum, a.present, geometric)
		}
	}
	return out, nil
}

// leafPlan is what aggregation needs that does not depend on the scores:
// the leaves in code order and each one's dimension, the dimensions sorted.
// The uncertainty analysis builds it once for thousands of runs.
type leafPlan struct {
	codes []string
	dim   []int // index into dims, per code
	dims  []string
}

func newLeafPlan(codes []string, dimOf func(code string) string) leafPlan {
	p := leafPlan{codes: codes, dim: make([]int, len(codes))}
	for _, c := range codes {
		if d := dimOf(c); !slices.Contains(p.dims, d) {
			p.dims = append(p.dims, d)
		}
	}
	slices.Sort(p.dims)
	for i, c := range codes {
		p.dim[i] = slices.Index(p.dims, dimOf(c))
	}
	return p
}

// dimAcc accumulates one dimension: its whole weight, the weight present
// and the weighted sum (of logarithms, for geometric means).
type dimAcc struct{ weight, present, sum float64 }

// aggregate is Composite's arithmetic on vectors in plan order (scores NaN
// where missing), leaving each dimension's sums in acc (len(p.dims)). Sums
// run in code order, then dimension order, so equal inputs give
// bit-identical scores. Inputs are not checked: callers have.
func (p leafPlan) aggregate(scores, weights []float64, acc []dimAcc, threshold float64, geometric bool) (composite, coverage float64, produced bool) {
	clear(acc)
	total, present := 0.0, 0.0
	for i := range p.codes {
		w, s := weights[i], scores[i]
		a := &acc[p.dim[i]]
		a.weight += w
		total += w
		if math.IsNaN(s) || w == 0 {
			continue
		}
		a.present += w
		present += w
		a.sum += w * term(s, geometric)
	}
	coverage = present / total
	sum, presentW := 0.0, 0.0
	for d := range acc {
		a := &acc[d]
		if a.weight == 0 || a.present == 0 {
			continue
		}
		sum += a.weight * term(mean(a.sum, a.present, geometric), geometric)
		presentW += a.weight
	}
	if presentW > 0 && coverage >= threshold {
		return mean(sum, presentW, geometric), coverage, true
	}
	return math.NaN(), coverage, false
}

// term is what a score adds to a weighted sum: itself, or its logarithm for
// a geometric mean (−Inf for zero, which exp turns back into zero).
func term(s float64, geometric bool) float64 {
	if geometric {
		return math.Log(s)
	}
	return s
}

func mean(sum, weight float64, geometric bool) float64 {
	if geometric {
		return math.Exp(sum / weight)
	}
	return sum / weight
}

func checkComposite(codes []string, scores, weights map[string]float64, dimOf func(string) string, rule MissingRule, geometric bool) []FieldViolation {
	var vs []FieldViolation
	total := 0.0
	for _, c := range codes {
		w := weights[c]
		switch {
		case math.IsNaN(w) || math.IsInf(w, 0) || w < 0:
			vs = append(vs, FieldViolation{fmt.Sprintf("weights[%s]", c), fmt.Sprintf("weight %g must be finite and ≥ 0", w)})
		case dimOf(c) == "":
			vs = append(vs, FieldViolation{fmt.Sprintf("weights[%s]", c), "leaf has no dimension"})
		default:
			total += w
		}
		s := scores[c]
		switch {
		case math.IsInf(s, 0):
			vs = append(vs, FieldViolation{fmt.Sprintf("leaf_scores[%s]", c), "score is infinite; use NaN for missing"})
		case geometric && s < 0:
			vs = append(vs, FieldViolation{fmt.Sprintf("leaf_scores[%s]", c), fmt.Sprintf("score %g is negative: no geometric mean", s)})
		}
	}
	if len(vs) == 0 && !(total > 0) {
		vs = append(vs, FieldViolation{"weights", "leaf weights must not all be zero"})
	}
	if !(rule.CoverageThreshold >= 0 && rule.CoverageThreshold <= 1) {
		vs = append(vs, FieldViolation{"coverage_threshold", fmt.Sprintf("threshold %g is outside 0..1", rule.CoverageThreshold)})
	}
	return vs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Ranked is one entry of a league table.
type Ranked[K cmp.Ordered] struct {
	Key   K
	Value float64
	Rank  int
}

// RankDesc ranks the values, 1 for the largest. Ties share the best rank of
// their group and the next rank skips (1, 2, 2, 4), like Rank; NaN values are
// missing and left out. The result is ordered by rank, then key.
func RankDesc[K cmp.Ordered](values map[K]float64) []Ranked[K] {
	out := make([]Ranked[K], 0, len(values))
	for k, v := range values {
		if !math.IsNaN(v) {
			out = append(out, Ranked[K]{Key: k, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b Ranked[K]) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	for i := range out {
		if i > 0 && out[i].Value == out[i-1].Value {
			out[i].Rank = out[i-1].Rank
		} else {
			out[i].Rank = i + 1
		}
	}
	return out
}
