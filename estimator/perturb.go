package estimator

import (
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// saatyStep is a judgement's position on Saaty's 1-9 scale counted in steps
// from 1: 1/9 … 1/2, 1, 2 … 9 sit at −8 … −1, 0, 1 … 8. A judgement off the
// scale's points (an expert combination, 0.143 for 1/7) gets a fractional
// position, so moving it one step moves it as far as a neighbour on the scale.
func saatyStep(a float64) float64 {
	if a >= 1 {
		return a - 1
	}
	return 1 - 1/a
}

// saatyValue inverts saatyStep.
func saatyValue(x float64) float64 {
	if x >= 0 {
		return 1 + x
	}
	return 1 / (1 - x)
}

// maxJudgementRedraws bounds the redraws of one node's perturbed matrix whose
// consistency ratio is not acceptable; past it the node keeps its nominal
// weights. A one-step perturbation of a consistent matrix is accepted within
// a few draws, so the bound only stops a pathological matrix from looping.
const maxJudgementRedraws = 200

// perturbWeights returns the leaf weights of root with every node's local
// weights perturbed, drawing from rng:
//   - a node weighed by a matrix (or by experts, through their combined
//     matrix) has each judgement above the diagonal moved by a whole number of
//     steps drawn uniformly from −steps..steps on Saaty's scale (clamped to
//     1/9..9), its reciprocal kept; a draw whose CR is not below
//     AcceptableCR (nor, for a nominally inconsistent matrix allowed by the
//     methodology, at most the nominal CR) is drawn again;
//   - a node weighed explicitly, or equally by default, has each local weight
//     multiplied by a factor drawn uniformly from 1−spread..1+spread and the
//     weights renormalised to sum 1.
//
// Nodes are visited depth first, so one rng gives one weighting whatever
// else is sampled.
//
// A leaf's global weight is the product of the perturbed local weights on its
// path, as SynthesizeWeights defines it; the hierarchy was validated by
// Methodology.Weights, and perturbed local weights are positive and sum to 1,
// so the product is taken here directly (SynthesizeWeights' field paths were
// a quarter of an analysis's allocations).
func perturbWeights(root WeightNode, steps int, spread float64, rng *rand.Rand) (map[string]float64, error) {
	leaves := make(map[string]float64, numLeaves)
	perturbNode(root, 1, steps, spread, rng, leaves)
	return leaves, nil
}

// perturbNode sets the global weight of every leaf under n, whose own global
// weight is global, perturbing each internal node's local weights.
func perturbNode(n WeightNode, global float64, steps int, spread float64, rng *rand.Rand, leaves map[string]float64) {
	if len(n.Children) == 0 {
		leaves[n.Code] = global
		return
	}
	local := perturbLocal(n, steps, spread, rng)
	for i, c := range n.Children {
		perturbNode(c, global*local[i], steps, spread, rng, leaves)
	}
}

func perturbLocal(n WeightNode, steps int, spread float64, rng *rand.Rand) []float64 {
	nominal, _ := localWeights(n) // the hierarchy was validated by Weights
	if n.Matrix == nil && n.Experts == nil {
		w := make([]float64, len(nominal.Local))
		for i, x := range nominal.Local {
			w[i] = x * (1 + spread*(2*rng.Float64()-1))
		}
		return normalised(w)
	}
	limit := AcceptableCR
	if nominal.AHP != nil && nominal.AHP.CR >= AcceptableCR {
		limit = math.Nextafter(nominal.AHP.CR, math.Inf(1))
	}
	for range maxJudgementRedraws {
		m := perturbMatrix(nominal.Combined, steps, rng)
		if r, err := AHP(m, n.Method); err == nil && r.CR < limit {
			return r.Weights
		}
	}
	return nominal.Local
}

// perturbMatrix moves every judgement above the diagonal by −steps..steps
// steps on Saaty's scale and sets the reciprocals below it.
func perturbMatrix(m [][]float64, steps int, rng *rand.Rand) [][]float64 {
	n := len(m)
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		out[i][i] = 1
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			x := saatyStep(m[i][j]) + float64(rng.IntN(2*steps+1)-steps)
			a := saatyValue(math.Max(-8, math.Min(8, x)))
			out[i][j], out[j][i] = a, 1/a
		}
	}
	return out
}

func normalised(w []float64) []float64 {
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// withFactors returns in with the scale leaves converted to FP32-equivalent
// by f: in's scale.ai must be native FP16 EFlops and scale.super native FP64
// EFlops (the store's NativeScoreInputs), scale.basic is FP32 already. The
// maps of in are not modified; unchanged vectors are shared.
func withFactors(in ScoreInputs, f Factors) ScoreInputs {
	out := in
	out.Values = scaledValues(in.Values, f)
	out.Base = scaledValues(in.Base, f)
	if in.Pool != nil {
		out.Pool = make([]YearValues, len(in.Pool))
		for i, v := range in.Pool {
			out.Pool[i] = scaledValues(v, f)
		}
	}
	return out
}

func scaledValues(v YearValues, f Factors) YearValues {
	if v == nil {
		return nil
	}
	out := make(YearValues, len(v))
	for code, vec := range v {
		switch code {
		case "scale.ai":
			vec = scaled(vec, f.FP16)
		case "scale.super":
			vec = scaled(vec, f.FP64)
		}
		out[code] = vec
	}
	return out
}

func scaled(vec []float64, k float64) []float64 {
	out := make([]float64, len(vec))
	for i, x := range vec {
		out[i] = x * k
	}
	return out
}

// withMedians returns in with every missing value of the scored year's
// leaves imputed by the median of that leaf's present values in the year
// (gonum's empirical quantile at 0.5: an observed value, the lower middle
// one for an even count). A leaf with no value in any province stays
// missing: there is nothing to impute from. Base and Pool are kept as they
// are, so bounds from other years do not move.
func withMedians(in ScoreInputs) ScoreInputs {
	out := in
	out.Values = make(YearValues, len(in.Values))
	present := make([]float64, 0, NumProvinces)
	for code, vec := range in.Values {
		present = present[:0]
		for _, x := range vec {
			if !math.IsNaN(x) {
				present = append(present, x)
			}
		}
		if len(present) == 0 || len(present) == len(vec) {
			out.Values[code] = vec
			continue
		}
		slices.Sort(present)
		median := stat.Quantile(0.5, stat.Empirical, present, nil)
		filled := make([]float64, len(vec))
		for i, x := range vec {
			if math.IsNaN(x) {
				x = median
			}
			filled[i] = x
		}
		out.Values[code] = filled
	}
	return out
}
