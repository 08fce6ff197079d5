package estimator

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat"
)

// Assumption is one uncertain choice of the methodology that the
// uncertainty analysis varies.
type Assumption uint8

// The assumptions, in the order results list them. Values are used on the
// wire; never renumber.
const (
	AssumeWeights       Assumption = iota // AHP judgements and explicit weights
	AssumeNormalization                   // the normalisation method
	AssumeAggregation                     // arithmetic or geometric means
	AssumeFactors                         // FP16 and FP64 → FP32 factors
	AssumeMissing                         // exclude-and-renormalise or the year's median
	numAssumptions
)

// NumAssumptions is how many assumptions there are.
const NumAssumptions = int(numAssumptions)

func (a Assumption) String() string {
	names := [...]string{"weights", "normalization", "aggregation", "factors", "missing_data", "unknown"}
	return names[min(int(a), NumAssumptions)]
}

// Assumptions says which choices vary and how far. A choice that is off
// keeps the methodology's own value in every run.
type Assumptions struct {
	Vary [NumAssumptions]bool
	// JudgementSteps is how many steps on Saaty's scale an AHP judgement may
	// move either way (default 1).
	JudgementSteps int
	// WeightSpread is the relative range of an explicit (or equal) weight's
	// perturbation: each is multiplied by U(1−spread, 1+spread) (default 0.25).
	WeightSpread float64
	// Normalizations are the alternatives drawn with equal probability. The
	// methodology's own method keeps its per-indicator settings; another
	// method is applied to every leaf (targets kept for target scaling).
	// Empty means the methodology's method, target scaling and min-max.
	Normalizations []NormMethod
	// FP16 and FP64 factors are drawn uniformly from these ranges (defaults
	// 0.25-1.0 and 1.5-2.5, around METHOD.md's 0.5 and 2).
	FP16Lo, FP16Hi float64
	FP64Lo, FP64Hi float64
}

// DefaultAssumptions varies every choice by the defaults above.
func DefaultAssumptions() Assumptions {
	a := Assumptions{JudgementSteps: 1, WeightSpread: 0.25, FP16Lo: 0.25, FP16Hi: 1.0, FP64Lo: 1.5, FP64Hi: 2.5}
	for i := range a.Vary {
		a.Vary[i] = true
	}
	return a
}

// MaxUncertaintySamples bounds the samples of one analysis: the runs grow as
// samples × (varied assumptions + 2).
const MaxUncertaintySamples = 20_000

// UncertaintyConfig is one analysis: N base samples and the seed of the
// pseudo-random stream (PCG), which with the inputs fixes every draw.
type UncertaintyConfig struct {
	Samples     int
	Seed        uint64
	Assumptions Assumptions
	// Workers evaluates runs in parallel (0: GOMAXPROCS). Results do not
	// depend on it: every run writes its own slot.
	Workers int
	// Pace, if set, is called by each worker every paceEvery runs; it may
	// sleep to yield the CPU (the server's background worker does while
	// writes are arriving). Results do not depend on it.
	Pace func()
}

// paceEvery is how many runs a worker makes between calls of Pace: about
// 10 ms of work.
const paceEvery = 64

// ProvinceUncertainty is how sure one province's composite rank is.
type ProvinceUncertainty struct {
	Province uint32
	// NominalRank is the methodology's own rank (0: no score produced).
	NominalRank int
	// Median, P05 and P95 are empirical quantiles (gonum's stat.Empirical:
	// observed ranks) of the rank over the 2N independent runs.
	MedianRank, P05Rank, P95Rank float64
	// PFirstTier is the share of runs in the first tier.
	PFirstTier float64
	// MeanAbsShift is the mean of |rank − nominal rank| over the runs.
	MeanAbsShift float64
	// Sensitivity has one entry per varied assumption, in Assumption order.
	Sensitivity []Sobol
}

// Uncertainty is the result of one analysis of one year.
type Uncertainty struct {
	Year      int
	Samples   int
	Seed      uint64
	Runs      int          // model evaluations, N(k+2)
	Varied    []Assumption // the k varied assumptions, in order
	Provinces []ProvinceUncertainty
}

// realisation is one draw of every assumption.
type realisation struct {
	// normed, if set, is the normalised leaves in code order under this
	// realisation's factors, missing-data rule and normalisation: A's and
	// B's are computed once and shared by the A_B^(i) runs that keep them.
	normed  [][]float64
	wvec    []float64 // leaf weights in code order
	weights map[string]float64
	norm    NormMethod
	agg     Aggregation
	factors Factors
	median  bool
}

// RankUncertainty runs a Monte Carlo over the methodology's uncertain
// choices for one year and reports, per province, the distribution of its
// composite rank and the first-order and total Sobol indices of the rank
// for each varied choice (SobolIndices). in must carry the scale leaves in
// native precision (FP16 AI, FP64 supercomputing), as NativeScoreInputs
// does in the store: the factors are applied per run.
//
// Design: two N-row matrices A and B of independent draws and, per varied
// assumption i, A_B^(i) (A with i's draw from B), so N(k+2) runs; the rank
// statistics use the 2N runs of A and B. Every row draws one 64-bit seed per
// assumption (varied or not) for A and for B from a PCG seeded by
// cfg.Seed, and each assumption realises its draw from its own PCG on that
// seed: switching one assumption off leaves the others' draws unchanged,
// and a seed gives bit-identical results. A run scores the year with the
// same functions as ScoreYear (normalisation, Composite) and ranks like it;
// a province with no composite in a run ranks after every produced one.
// When ctx ends first, the analysis stops with ctx's error.
func RankUncertainty(ctx context.Context, in ScoreInputs, m Methodology, cfg UncertaintyConfig) (Uncertainty, error) {
	if err := checkUncertainty(m, cfg); err != nil {
		return Uncertainty{}, err
	}
	weights, _, err := m.Weights()
	if err != nil {
		return Uncertainty{}, err
	}
	a := cfg.Assumptions
	nominal, err := ScoreYear(withFactors(in, m.Factors), m, weights)
	if err != nil {
		return Uncertainty{}, err
	}
	var varied []Assumption
	for i, on := range a.Vary {
		if on {
			varied = append(varied, Assumption(i))
		}
	}
	n := cfg.Samples
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	seedsA, seedsB := make([][NumAssumptions]uint64, n), make([][NumAssumptions]uint64, n)
	for j := range n {
		for i := range NumAssumptions {
			seedsA[j][i] = rng.Uint64()
		}
		for i := range NumAssumptions {
			seedsB[j][i] = rng.Uint64()
		}
	}
	codes := sortedKeys(weights)
	realA, realB := make([]realisation, n), make([]realisation, n)
	for j := range n {
		if cfg.Pace != nil && j%(paceEvery/2) == paceEvery/2-1 {
			cfg.Pace() // two realisations (AHP solves included) are about a run's work
		}
		if realA[j], err = realise(seedsA[j], m, weights, codes, a); err != nil {
			return Uncertainty{}, err
		}
		if realB[j], err = realise(seedsB[j], m, weights, codes, a); err != nil {
			return Uncertainty{}, err
		}
	}
	// runs[r][j] holds the ranks of run r (0 = A, 1 = B, 2+i = A_B^(i)) of row j.
	k := len(varied)
	ranks := make([][][]int, k+2)
	tier1 := make([][][]bool, 2)
	for r := range ranks {
		ranks[r] = make([][]int, n)
	}
	for r := range tier1 {
		tier1[r] = make([][]bool, n)
	}
	ev := evaluator{in: in, m: m, plan: newLeafPlan(codes, DimensionOf)}
	pace := func(t int) {
		if cfg.Pace != nil && t%paceEvery == paceEvery-1 {
			cfg.Pace()
		}
	}
	stopped := func(t int) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("uncertainty of %d stopped after %d runs: %w", in.Year, t, err)
		}
		return nil
	}
	err = parallel(2*n, cfg.Workers, func(t int) error {
		if err := stopped(0); err != nil {
			return err
		}
		pace(t)
		x := &realA[t%n]
		if t >= n {
			x = &realB[t%n]
		}
		var err error
		x.normed, err = ev.normalised(*x)
		return err
	})
	if err != nil {
		return Uncertainty{}, err
	}
	err = parallel(n*(k+2), cfg.Workers, func(t int) error {
		if err := stopped(t); err != nil {
			return err
		}
		pace(t)
		r, j := t/n, t%n
		x := realA[j]
		switch {
		case r == 1:
			x = realB[j]
		case r >= 2:
			x = mixed(realA[j], realB[j], varied[r-2])
		}
		rk, t1, err := ev.ranks(x)
		ranks[r][j] = rk
		if r < 2 {
			tier1[r][j] = t1
		}
		return err
	})
	if err != nil {
		return Uncertainty{}, err
	}
	out := Uncertainty{Year: in.Year, Samples: n, Seed: cfg.Seed, Runs: n * (k + 2), Varied: varied}
	nominalRanks := nominalRanks(nominal)
	for p := range NumProvinces {
		out.Provinces = append(out.Provinces, summarise(p, nominal[p], nominalRanks[p], ranks, tier1))
	}
	return out, nil
}

// summarise computes one province's statistics from every run's ranks.
func summarise(p int, nominal ProvinceScore, nominalRank int, ranks [][][]int, tier1 [][][]bool) ProvinceUncertainty {
	n := len(ranks[0])
	pu := ProvinceUncertainty{Province: nominal.Province, NominalRank: nominal.Rank}
	ys := make([][]float64, len(ranks))
	for r := range ranks {
		ys[r] = make([]float64, n)
		for j := range n {
			ys[r][j] = float64(ranks[r][j][p])
		}
	}
	both := append(slices.Clone(ys[0]), ys[1]...)
	first, shift := 0, 0.0
	for r := range 2 {
		for j := range n {
			if tier1[r][j][p] {
				first++
			}
		}
	}
	for _, y := range both {
		shift += math.Abs(y - float64(nominalRank))
	}
	slices.Sort(both)
	if len(both) > 0 {
		pu.MedianRank = stat.Quantile(0.5, stat.Empirical, both, nil)
		pu.P05Rank = stat.Quantile(0.05, stat.Empirical, both, nil)
		pu.P95Rank = stat.Quantile(0.95, stat.Empirical, both, nil)
		pu.PFirstTier = float64(first) / float64(len(both))
		pu.MeanAbsShift = shift / float64(len(both))
	}
	pu.Sensitivity = SobolIndices(ys[0], ys[1], ys[2:])
	return pu
}

// nominalRanks are the nominal ranks with unproduced provinces placed after
// the produced ones, as in the runs.
func nominalRanks(scores []ProvinceScore) []int {
	produced := 0
	for _, s := range scores {
		if s.Produced {
			produced++
		}
	}
	out := make([]int, len(scores))
	for i, s := range scores {
		out[i] = s.Rank
		if !s.Produced {
			out[i] = produced + 1
		}
	}
	return out
}

func checkUncertainty(m Methodology, cfg UncertaintyConfig) error {
	var vs []FieldViolation
	bad := func(field, format string, args ...any) {
		vs = append(vs, FieldViolation{field, fmt.Sprintf(format, args...)})
	}
	a := cfg.Assumptions
	if cfg.Samples < 1 || cfg.Samples > MaxUncertaintySamples {
		bad("samples", "samples must be within 1..%d, not %d", MaxUncertaintySamples, cfg.Samples)
	}
	if a.Vary[AssumeWeights] {
		if a.JudgementSteps < 0 || a.JudgementSteps > 16 {
			bad("assumptions.judgement_steps", "steps must be within 0..16, not %d", a.JudgementSteps)
		}
		if !(a.WeightSpread >= 0 && a.WeightSpread < 1) {
			bad("assumptions.weight_spread", "spread must be within 0..1 (exclusive), not %g", a.WeightSpread)
		}
	}
	if a.Vary[AssumeFactors] {
		checkRange(&vs, "assumptions.fp16", a.FP16Lo, a.FP16Hi)
		checkRange(&vs, "assumptions.fp64", a.FP64Lo, a.FP64Hi)
	}
	geometric := m.Aggregation == AggGeometric || a.Vary[AssumeAggregation]
	if a.Vary[AssumeNormalization] {
		for i, nm := range normalizations(m, a) {
			f := fmt.Sprintf("assumptions.normalizations[%d]", i)
			switch {
			case nm >= numNormMethods:
				bad(f, "unknown normalisation method %d", nm)
			case nm == NormGoalposts && m.Norm != NormGoalposts:
				bad(f, "goalposts need posts per indicator; only the methodology's own goalposts can be an alternative")
			case nm == NormZScore && geometric:
				bad(f, "z-scores can be negative and have no geometric mean; drop them or keep aggregation fixed and arithmetic")
			}
		}
	}
	return Invalid("invalid uncertainty analysis", vs)
}

func checkRange(vs *[]FieldViolation, field string, lo, hi float64) {
	if !(finitePositive(lo) && finitePositive(hi) && lo <= hi && hi <= 100) {
		*vs = append(*vs, FieldViolation{field, fmt.Sprintf("range %g..%g must be positive, at most 100, low ≤ high", lo, hi)})
	}
}

// Alternatives are the normalisations drawn from: the methodology's method
// first, then target scaling and min-max, unless the caller named them.
func (a Assumptions) Alternatives(m Methodology) []NormMethod {
	return normalizations(m, a)
}

func normalizations(m Methodology, a Assumptions) []NormMethod {
	if len(a.Normalizations) > 0 {
		return a.Normalizations
	}
	out := []NormMethod{m.Norm}
	for _, nm := range []NormMethod{NormTarget, NormMinMax} {
		if !slices.Contains(out, nm) {
			out = append(out, nm)
		}
	}
	return out
}

// realise turns one row's seeds into choices; an assumption that is not
// varied takes the methodology's value.
func realise(seeds [NumAssumptions]uint64, m Methodology, nominal map[string]float64, codes []string, a Assumptions) (realisation, error) {
	x := realisation{weights: nominal, norm: m.Norm, agg: m.Aggregation, factors: m.Factors}
	rngOf := func(i Assumption) *rand.Rand { return rand.New(rand.NewPCG(seeds[i], uint64(i))) }
	if a.Vary[AssumeWeights] {
		w, err := perturbWeights(m.Hierarchy, a.JudgementSteps, a.WeightSpread, rngOf(AssumeWeights))
		if err != nil {
			return x, err
		}
		x.weights = w
	}
	if a.Vary[AssumeNormalization] {
		alts := normalizations(m, a)
		x.norm = alts[rngOf(AssumeNormalization).IntN(len(alts))]
	}
	if a.Vary[AssumeAggregation] {
		x.agg = Aggregation(rngOf(AssumeAggregation).IntN(2))
	}
	if a.Vary[AssumeFactors] {
		r := rngOf(AssumeFactors)
		x.factors.FP16 = a.FP16Lo + (a.FP16Hi-a.FP16Lo)*r.Float64()
		x.factors.FP64 = a.FP64Lo + (a.FP64Hi-a.FP64Lo)*r.Float64()
	}
	if a.Vary[AssumeMissing] {
		x.median = rngOf(AssumeMissing).IntN(2) == 1
	}
	x.wvec = make([]float64, len(codes))
	for i, c := range codes {
		x.wvec[i] = x.weights[c]
	}
	return x, nil
}

// mixed is a's realisation with assumption i taken from b.
func mixed(a, b realisation, i Assumption) realisation {
	if i == AssumeNormalization || i == AssumeFactors || i == AssumeMissing {
		a.normed = nil // a's normalisation no longer applies
	}
	switch i {
	case AssumeWeights:
		a.weights, a.wvec = b.weights, b.wvec
	case AssumeNormalization:
		a.norm = b.norm
	case AssumeAggregation:
		a.agg = b.agg
	case AssumeFactors:
		a.factors = b.factors
	case AssumeMissing:
		a.median = b.median
	}
	return a
}

// evaluator scores one year under one realisation.
type evaluator struct {
	in   ScoreInputs
	m    Methodology
	plan leafPlan
}

// ranks scores the year under x and returns every province's rank (ties
// share the best; no composite: after every produced one) and whether it is
// in the first tier. It normalises with ScoreYear's normalisation and
// aggregates with Composite's arithmetic (leafPlan.aggregate).
func (e evaluator) ranks(x realisation) ([]int, []bool, error) {
	vecs := x.normed
	if vecs == nil {
		var err error
		if vecs, err = e.normalised(x); err != nil {
			return nil, nil, err
		}
	}
	geometric := x.agg == AggGeometric
	composite := make(map[int]float64, NumProvinces)
	scores, acc := make([]float64, len(vecs)), make([]dimAcc, len(e.plan.dims))
	for p := range NumProvinces {
		for i, vec := range vecs {
			scores[i] = vec[p]
			if geometric && scores[i] < 0 {
				return nil, nil, Errorf(EInvalid, "leaf %s scores %g in province %d: no geometric mean", e.plan.codes[i], scores[i], provinces[p].Code)
			}
		}
		if c, _, ok := e.plan.aggregate(scores, x.wvec, acc, e.m.CoverageThreshold, geometric); ok {
			composite[p] = c
		}
	}
	ranks, first := make([]int, NumProvinces), make([]bool, NumProvinces)
	for p := range ranks {
		ranks[p] = len(composite) + 1
	}
	for _, r := range RankDesc(composite) {
		ranks[r.Key] = r.Rank
		first[r.Key] = r.Value > e.m.FirstTierAbove
	}
	return ranks, first, nil
}

// normalised is stage 3 under x: the inputs with x's factors (and medians),
// normalised with x's method, ScoreYear's normalisation; leaves in code
// order.
func (e evaluator) normalised(x realisation) ([][]float64, error) {
	in := withFactors(e.in, x.factors)
	if x.median {
		in = withMedians(in)
	}
	m := e.m
	if x.norm != m.Norm {
		m.Norm = x.norm
		m.Indicators = make(map[string]NormSpec, len(e.m.Indicators))
		for code, s := range e.m.Indicators {
			s.Method = x.norm
			m.Indicators[code] = s
		}
	}
	norm, err := normalizeYear(e.plan.codes, in, m)
	if err != nil {
		return nil, err
	}
	vecs := make([][]float64, len(e.plan.codes))
	for i, code := range e.plan.codes {
		vecs[i] = norm[code]
	}
	return vecs, nil
}

// parallel runs f(0..count-1) on workers goroutines (0: GOMAXPROCS) and
// returns the error of the lowest failing index, so the outcome does not
// depend on scheduling. A worker stops at its first error: each takes its
// indices in increasing order, so the lowest failing one is still found,
// and a canceled context ends every worker at once.
func parallel(count, workers int, f func(int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, count))
	errs := make([]error, count)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for t := w; t < count; t += workers {
				if errs[t] = f(t); errs[t] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
