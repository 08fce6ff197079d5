package estimator

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// NormMethod is how one indicator's values, across the provinces of a year,
// become scores (METHOD.md section 5, stage 3).
type NormMethod uint8

// The normalisation methods. Values are stored; never renumber.
const (
	NormTarget    NormMethod = iota // value / target × 100, the blue book's (default)
	NormMinMax                      // (value − min) / (max − min) × 100
	NormZScore                      // (value − mean) / sd
	NormRank                        // (n − rank + 1) / n × 100: 100 for the largest value
	NormGoalposts                   // min-max between fixed posts, clamped to 0..100
	numNormMethods
)

func (m NormMethod) String() string {
	names := [...]string{"target", "minmax", "zscore", "rank", "goalposts", "unknown"}
	return names[min(int(m), int(numNormMethods))]
}

// Missing values are NaN throughout: every function here keeps a NaN input
// NaN in its output, so that a missing observation never becomes a score of
// zero. ±Inf is not a value and is rejected.

// Target scales by an expert-set target, CAICT's method:
//
//	score = v / target × 100
//
// A value past its target scores above 100. target must be positive.
func Target(values []float64, target float64) ([]float64, error) {
	if !finitePositive(target) {
		return nil, Invalid("bad target", []FieldViolation{{"target", fmt.Sprintf("target %g must be positive and finite", target)}})
	}
	return mapPresent(values, func(v float64) float64 { return v / target * 100 })
}

// MinMax rescales between lo and hi (usually the smallest and largest value):
//
//	score = (v − lo) / (hi − lo) × 100
//
// Values outside [lo, hi] (pooled or borrowed bounds) fall outside 0..100.
// When hi == lo every province has the same value and none is behind another,
// so every present value scores 100. hi < lo is an error.
func MinMax(values []float64, lo, hi float64) ([]float64, error) {
	if err := checkBounds(lo, hi, true); err != nil {
		return nil, err
	}
	if hi == lo {
		return mapPresent(values, func(float64) float64 { return 100 })
	}
	return mapPresent(values, func(v float64) float64 { return (v - lo) / (hi - lo) * 100 })
}

// ZScore standardises:
//
//	z = (v − mean) / sd
//
// with mean and sd usually from BoundsOf (population standard deviation: the
// 31 provinces are the whole population, not a sample of one). When sd == 0
// every value equals the mean and scores 0. sd < 0 is an error.
func ZScore(values []float64, mean, sd float64) ([]float64, error) {
	if math.IsNaN(mean) || math.IsInf(mean, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) || sd < 0 {
		return nil, Invalid("bad z-score parameters", []FieldViolation{{"sd", fmt.Sprintf("mean %g and sd %g must be finite, sd ≥ 0", mean, sd)}})
	}
	if sd == 0 {
		return mapPresent(values, func(float64) float64 { return 0 })
	}
	return mapPresent(values, func(v float64) float64 { return (v - mean) / sd })
}

// Rank ranks present values, 1 for the largest. Ties share the best rank of
// their group and the next rank skips ("competition" ranking: 1, 2, 2, 4), as
// league tables do. Missing values stay NaN and take no rank.
func Rank(values []float64) ([]float64, error) {
	if _, err := mapPresent(values, func(v float64) float64 { return v }); err != nil {
		return nil, err
	}
	out := make([]float64, len(values))
	var idx []int
	for i, v := range values {
		out[i] = math.NaN()
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return values[idx[a]] > values[idx[b]] })
	for k, i := range idx {
		if k > 0 && values[i] == values[idx[k-1]] {
			out[i] = out[idx[k-1]]
		} else {
			out[i] = float64(k + 1)
		}
	}
	return out, nil
}

// RankScore scores present values by rank so that the largest scores highest,
// as every other normalisation does and as the composite reads scores:
//
//	score = (n − rank + 1) / n × 100
//
// where rank is Rank's (1 for the largest, ties sharing the best) and n the
// number of present values. The largest scores 100, the smallest 100/n; ties
// share the better score (4, 3, 3, 1 of 4 → 100, 75, 75, 25). Scaling to
// 0..100 keeps rank scores on the scale of target scaling and min-max, so the
// methodology's tier threshold and a mix of methods still mean something, and
// never reaching 0 keeps them valid under a geometric mean. Rank itself stays
// 1-for-the-best: league tables and composite ranking use it.
func RankScore(values []float64) ([]float64, error) {
	ranks, err := Rank(values)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, v := range values {
		if !math.IsNaN(v) {
			n++
		}
	}
	return mapPresent(ranks, func(r float64) float64 { return (float64(n) - r + 1) / float64(n) * 100 })
}

// Goalposts rescales between a low and a high post and clamps:
//
//	score = clamp((v − lo) / (hi − lo) × 100, 0, 100)
//
// The posts are set by the methodology, so hi must exceed lo.
func Goalposts(values []float64, lo, hi float64) ([]float64, error) {
	if err := checkBounds(lo, hi, false); err != nil {
		return nil, err
	}
	return mapPresent(values, func(v float64) float64 {
		return math.Min(100, math.Max(0, (v-lo)/(hi-lo)*100))
	})
}

func checkBounds(lo, hi float64, equalOK bool) error {
	finite := !math.IsNaN(lo) && !math.IsInf(lo, 0) && !math.IsNaN(hi) && !math.IsInf(hi, 0)
	if !finite || hi < lo || hi == lo && !equalOK {
		return Invalid("bad bounds", []FieldViolation{{"hi", fmt.Sprintf("bounds [%g, %g] must be finite with hi above lo", lo, hi)}})
	}
	return nil
}

// mapPresent applies f to every present value, keeping NaN as NaN and
// rejecting ±Inf with the offending index.
func mapPresent(values []float64, f func(float64) float64) ([]float64, error) {
	out := make([]float64, len(values))
	var vs []FieldViolation
	for i, v := range values {
		switch {
		case math.IsNaN(v):
			out[i] = v
		case math.IsInf(v, 0):
			vs = append(vs, FieldViolation{fmt.Sprintf("values[%d]", i), "value is infinite; use NaN for missing"})
		default:
			out[i] = f(v)
		}
	}
	if err := Invalid("bad values", vs); err != nil {
		return nil, err
	}
	return out, nil
}

// Bounds summarises the present values an indicator is normalised against.
type Bounds struct {
	N        int     // present values
	Min, Max float64 // smallest and largest
	Mean, SD float64 // mean and population standard deviation
}

// BoundsOf pools the present values of one or more vectors. Pass one year's
// vector for per-year bounds, or several years' for pooled bounds, which keep
// scores comparable from year to year (a province that stands still keeps its
// score). It fails when no value is present, since nothing can then be
// normalised.
func BoundsOf(vectors ...[]float64) (Bounds, error) {
	size := 0
	for _, vec := range vectors {
		size += len(vec)
	}
	// One allocation: scoring normalises every leaf of a year, and the
	// uncertainty analysis does so thousands of times.
	present := make([]float64, 0, size)
	for _, vec := range vectors {
		for _, v := range vec {
			if math.IsInf(v, 0) {
				_, err := mapPresent(vec, func(v float64) float64 { return v }) // names every infinite value
				return Bounds{}, err
			}
			if !math.IsNaN(v) {
				present = append(present, v)
			}
		}
	}
	if len(present) == 0 {
		return Bounds{}, Invalid("no values", []FieldViolation{{"values", "no present value to take bounds from"}})
	}
	b := Bounds{N: len(present), Min: present[0], Max: present[0]}
	for _, v := range present {
		b.Min, b.Max = math.Min(b.Min, v), math.Max(b.Max, v)
	}
	b.Mean, b.SD = stat.PopMeanStdDev(present, nil)
	return b, nil
}

// NormSpec is one indicator's normalisation in a methodology.
type NormSpec struct {
	Method NormMethod
	// Target is NormTarget's five-year target. Zero means none is set, and
	// the largest value of the bounds (the base year's, METHOD.md) stands in.
	Target float64
	// Lo and Hi are NormGoalposts' posts.
	Lo, Hi float64
}

// Normalize scores values by spec, taking min, max, mean and sd from b
// (computed per year or pooled by BoundsOf; NormGoalposts and NormRank, and
// NormTarget with a target set, do not use it).
func Normalize(values []float64, spec NormSpec, b Bounds) ([]float64, error) {
	needBounds := spec.Method == NormMinMax || spec.Method == NormZScore || spec.Method == NormTarget && spec.Target == 0
	if needBounds && b.N == 0 {
		return nil, Invalid("no bounds", []FieldViolation{{"bounds", fmt.Sprintf("%s needs bounds from at least one value", spec.Method)}})
	}
	switch spec.Method {
	case NormTarget:
		if spec.Target == 0 {
			return Target(values, b.Max)
		}
		return Target(values, spec.Target)
	case NormMinMax:
		return MinMax(values, b.Min, b.Max)
	case NormZScore:
		return ZScore(values, b.Mean, b.SD)
	case NormRank:
		return RankScore(values)
	case NormGoalposts:
		return Goalposts(values, spec.Lo, spec.Hi)
	}
	return nil, Invalid("bad method", []FieldViolation{{"method", fmt.Sprintf("unknown normalisation method %d", spec.Method)}})
}
