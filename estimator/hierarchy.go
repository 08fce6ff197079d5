package estimator

import (
	"errors"
	"fmt"
	"math"
)

// ExpertMatrix is one expert's pairwise comparison matrix and the weight the
// methodology gives that expert.
type ExpertMatrix struct {
	Weight float64
	Matrix [][]float64
}

// WeightNode is one node of a weight hierarchy (METHOD.md section 5, stage 2).
// A node without children is a leaf (an indicator). An internal node gives
// its children's local weights in at most one of three ways; giving none
// means equal weights, the default methodology's:
//   - Weights: explicit, one per child, non-negative, normalised to sum 1;
//   - Matrix: one pairwise comparison matrix over the children, solved by AHP;
//   - Experts: several experts' matrices, combined cell by cell by a
//     weighted geometric mean (AIJ) and then solved by AHP.
type WeightNode struct {
	Code     string
	Children []WeightNode
	Weights  []float64
	Matrix   [][]float64
	Experts  []ExpertMatrix
	Method   AHPMethod // for Matrix and Experts
}

// MaxWeightDepth bounds a hierarchy's depth (the index has three levels).
const MaxWeightDepth = 8

// NodeResult is how one internal node's local weights came about.
type NodeResult struct {
	Code     string
	Path     string    // field path of the node, "" for the root
	Source   string    // "equal", "weights", "matrix" or "experts"
	Children []string  // child codes, in order
	Local    []float64 // local weights of the children, summing to 1
	Global   float64   // the node's own global weight (1 for the root)
	Combined [][]float64
	AHP      *AHPResult // for "matrix" and "experts"
}

// SynthesizeWeights solves every node of the hierarchy under root and returns
// each leaf's global weight, the product of the local weights on its path
// (they sum to 1), and one NodeResult per internal node, root first, depth
// first. Codes must be unique across the tree. Every problem is reported at
// once, as an EInvalid error with field paths such as
// "children[1].matrix[0][2]". A CR at or above AcceptableCR is not an error:
// it is reported in NodeResult.AHP.
func SynthesizeWeights(root WeightNode) (map[string]float64, []NodeResult, error) {
	s := synthesis{leaves: map[string]float64{}, seen: map[string]bool{}}
	s.walk(root, "", 1, 0)
	if err := Invalid("bad weight hierarchy", s.vs); err != nil {
		return nil, nil, err
	}
	return s.leaves, s.nodes, nil
}

type synthesis struct {
	leaves map[string]float64
	nodes  []NodeResult
	seen   map[string]bool
	vs     []FieldViolation
}

func (s *synthesis) bad(path, field, format string, args ...any) {
	s.vs = append(s.vs, FieldViolation{path + field, fmt.Sprintf(format, args...)})
}

func (s *synthesis) walk(n WeightNode, path string, global float64, depth int) {
	if n.Code == "" {
		s.bad(path, "code", "every node needs a code")
	} else if s.seen[n.Code] {
		s.bad(path, "code", "code %q is used twice", n.Code)
	}
	s.seen[n.Code] = true
	if depth > MaxWeightDepth {
		s.bad(path, "children", "hierarchy is deeper than %d levels", MaxWeightDepth)
		return
	}
	if len(n.Children) == 0 {
		if n.Weights != nil || n.Matrix != nil || n.Experts != nil {
			s.bad(path, "children", "leaf %q has no children to weigh", n.Code)
		}
		s.leaves[n.Code] = global
		return
	}
	r, vs := localWeights(n)
	s.vs = append(s.vs, Prefix(path, vs)...)
	if len(vs) > 0 {
		r.Local = make([]float64, len(n.Children)) // keep walking to report children's problems
	}
	r.Code, r.Path, r.Global = n.Code, path, global
	for _, c := range n.Children {
		r.Children = append(r.Children, c.Code)
	}
	s.nodes = append(s.nodes, r)
	for i, c := range n.Children {
		s.walk(c, fmt.Sprintf("%schildren[%d].", path, i), global*r.Local[i], depth+1)
	}
}

// localWeights solves one internal node, with field paths relative to it.
func localWeights(n WeightNode) (NodeResult, []FieldViolation) {
	k := len(n.Children)
	given := 0
	for _, set := range []bool{n.Weights != nil, n.Matrix != nil, n.Experts != nil} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return NodeResult{}, []FieldViolation{{"weights", "give weights, matrix or experts, not several"}}
	case n.Weights != nil:
		w, vs := explicitWeights(n.Weights, k)
		return NodeResult{Source: "weights", Local: w}, vs
	case n.Matrix == nil && n.Experts == nil:
		w := make([]float64, k)
		for i := range w {
			w[i] = 1 / float64(k)
		}
		return NodeResult{Source: "equal", Local: w}, nil
	}
	r := NodeResult{Source: "matrix", Combined: n.Matrix}
	if n.Experts != nil {
		r.Source = "experts"
		m, err := CombineJudgements(n.Experts)
		if err != nil {
			return r, violationsOf(err)
		}
		r.Combined = m
	}
	if len(r.Combined) != k {
		return r, []FieldViolation{{r.Source, fmt.Sprintf("matrix has %d rows for %d children", len(r.Combined), k)}}
	}
	res, err := AHP(r.Combined, n.Method)
	if err != nil {
		if r.Source == "experts" { // the combined matrix has no path of its own
			return r, []FieldViolation{{"experts", err.Error()}}
		}
		return r, violationsOf(err)
	}
	r.AHP, r.Local = &res, res.Weights
	return r, nil
}

func explicitWeights(ws []float64, k int) ([]float64, []FieldViolation) {
	if len(ws) != k {
		return nil, []FieldViolation{{"weights", fmt.Sprintf("%d weights for %d children", len(ws), k)}}
	}
	var vs []FieldViolation
	sum := 0.0
	for i, w := range ws {
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			vs = append(vs, FieldViolation{fmt.Sprintf("weights[%d]", i), fmt.Sprintf("weight %g must be finite and ≥ 0", w)})
		}
		sum += w
	}
	if len(vs) == 0 && !(sum > 0) {
		vs = append(vs, FieldViolation{"weights", "weights must not all be zero"})
	}
	if len(vs) > 0 {
		return nil, vs
	}
	out := make([]float64, k)
	for i, w := range ws {
		out[i] = w / sum
	}
	return out, nil
}

// CombineJudgements aggregates several experts' matrices into one by the
// weighted geometric mean of each cell (AIJ, Forman & Peniwati 1998):
//
//	c_ij = Π_k a_kij ^ λ_k,  λ_k = weight_k / Σ weight
//
// which keeps the result reciprocal. Expert weights must be positive; every
// matrix must pass ValidateMatrix and all must have the same size.
func CombineJudgements(experts []ExpertMatrix) ([][]float64, error) {
	if len(experts) == 0 {
		return nil, Invalid("no experts", []FieldViolation{{"experts", "give at least one expert's matrix"}})
	}
	var vs []FieldViolation
	total := 0.0
	n := len(experts[0].Matrix)
	for k, e := range experts {
		p := fmt.Sprintf("experts[%d].", k)
		if !finitePositive(e.Weight) {
			vs = append(vs, FieldViolation{p + "weight", fmt.Sprintf("expert weight %g must be positive and finite", e.Weight)})
		}
		total += e.Weight
		if mv := ValidateMatrix(e.Matrix); len(mv) > 0 {
			vs = append(vs, Prefix(p, mv)...)
		} else if len(e.Matrix) != n {
			vs = append(vs, FieldViolation{p + "matrix", fmt.Sprintf("%d rows; experts[0] has %d", len(e.Matrix), n)})
		}
	}
	if err := Invalid("bad expert judgements", vs); err != nil {
		return nil, err
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		for j := range out[i] {
			logSum := 0.0
			for _, e := range experts {
				logSum += e.Weight / total * math.Log(e.Matrix[i][j])
			}
			out[i][j] = math.Exp(logSum)
		}
	}
	return out, nil
}

// violationsOf returns an *Error's violations, or one describing err.
func violationsOf(err error) []FieldViolation {
	var e *Error
	if errors.As(err, &e) && len(e.Violations) > 0 {
		return e.Violations
	}
	return []FieldViolation{{"", err.Error()}}
}
