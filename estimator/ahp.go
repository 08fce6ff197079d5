package estimator

import (
	"fmt"
	"math"
	"math/cmplx"
	"sort"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// AHPMethod is how priorities are derived from a pairwise comparison matrix.
type AHPMethod uint8

// The AHP methods. Values are stored; never renumber.
const (
	AHPEigenvector   AHPMethod = iota // Saaty's principal right eigenvector (default)
	AHPGeometricMean                  // normalised geometric means of the rows
)

func (m AHPMethod) String() string {
	if m == AHPGeometricMean {
		return "geometric_mean"
	}
	if m == AHPEigenvector {
		return "eigenvector"
	}
	return fmt.Sprintf("ahp_method(%d)", uint8(m))
}

// SaatyRITable names the random index table that CR is computed with.
const SaatyRITable = "Saaty (1987) random index"

// saatyRI is the mean consistency index of random reciprocal matrices on the
// 1-9 scale, n = 1..15, as tabulated by Saaty (The Analytic Hierarchy
// Process, 1980; "The analytic hierarchy process—what it is and how it is
// used", Mathematical Modelling 9, 1987) and reprinted in most textbooks,
// e.g. 姜启源《数学模型》. Later simulations (e.g. Alonso & Lamata 2006) give
// slightly different values; the dip at n = 12 is in the original table.
var saatyRI = [...]float64{0, 0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59}

// MaxAHPSize is the largest matrix with a tabulated random index.
const MaxAHPSize = len(saatyRI)

// AcceptableCR is Saaty's threshold: a matrix with CR below it is accepted.
const AcceptableCR = 0.10

// ahpTolerance is the relative slack allowed when checking reciprocity, the
// diagonal and the scale bounds, so that 0.143 or 0.1429 may stand for 1/7.
const ahpTolerance = 1e-3

// RandomIndex returns Saaty's RI for an n × n matrix, n = 1..MaxAHPSize.
func RandomIndex(n int) (float64, bool) {
	if n < 1 || n > MaxAHPSize {
		return 0, false
	}
	return saatyRI[n-1], true
}

// AHPResult is what one pairwise comparison matrix yields.
type AHPResult struct {
	Method     AHPMethod
	Weights    []float64 // positive, summing to 1
	LambdaMax  float64
	CI         float64 // (λmax − n) / (n − 1); 0 for n ≤ 2
	CR         float64 // CI / RI; 0 for n ≤ 2
	RI         float64
	RITable    string
	Acceptable bool            // CR < AcceptableCR
	Hints      []Inconsistency // the judgements, most inconsistent first
}

// AHP derives priorities from a reciprocal pairwise comparison matrix on
// Saaty's 1-9 scale (METHOD.md section 5, stage 2). With AHPEigenvector the
// weights are the principal right eigenvector (from gonum's mat.Eigen) and
// λmax its eigenvalue; with AHPGeometricMean w_i ∝ (Π_j a_ij)^(1/n) and
// λmax = mean_i (Aw)_i / w_i. Then CI = (λmax − n)/(n − 1) and CR = CI/RI(n).
// A bad matrix is an EInvalid error naming each bad cell ("matrix[2][3]");
// an unacceptable CR is not an error: callers decide from Acceptable.
func AHP(m [][]float64, method AHPMethod) (AHPResult, error) {
	if err := Invalid("bad pairwise comparison matrix", ValidateMatrix(m)); err != nil {
		return AHPResult{}, err
	}
	r := AHPResult{Method: method, RITable: SaatyRITable}
	var err error
	switch method {
	case AHPEigenvector:
		r.Weights, r.LambdaMax, err = principalEigen(m)
	case AHPGeometricMean:
		r.Weights = rowGeometricMeans(m)
		r.LambdaMax = lambdaOf(m, r.Weights)
	default:
		err = Invalid("bad method", []FieldViolation{{"method", fmt.Sprintf("unknown AHP method %d", method)}})
	}
	if err != nil {
		return AHPResult{}, err
	}
	n := len(m)
	r.RI, _ = RandomIndex(n)
	if n > 2 {
		// λmax ≥ n for any positive reciprocal matrix; clamp rounding below.
		r.CI = math.Max(0, (r.LambdaMax-float64(n))/float64(n-1))
		r.CR = r.CI / r.RI
	}
	r.Acceptable = r.CR < AcceptableCR
	r.Hints = InconsistencyHints(m, r.Weights)
	return r, nil
}

// ValidateMatrix checks that m is a non-empty square matrix of at most
// MaxAHPSize rows, every cell positive and finite, and, each within a
// relative 1e-3 (so 0.143 may stand for 1/7): a unit diagonal, cells on
// Saaty's scale [1/9, 9], and a_ji = 1/a_ij (reported at the lower cell).
// Violations name cells as "matrix[i][j]".
func ValidateMatrix(m [][]float64) []FieldViolation {
	n := len(m)
	if n == 0 || n > MaxAHPSize {
		return []FieldViolation{{"matrix", fmt.Sprintf("a matrix has 1..%d rows, not %d", MaxAHPSize, n)}}
	}
	var vs []FieldViolation
	for i, row := range m {
		if len(row) != n {
			vs = append(vs, FieldViolation{fmt.Sprintf("matrix[%d]", i), fmt.Sprintf("row has %d cells, want %d", len(row), n)})
		}
	}
	if len(vs) > 0 {
		return vs
	}
	cellOK := make([][]bool, n)
	for i, row := range m {
		cellOK[i] = make([]bool, n)
		for j, a := range row {
			desc := ""
			switch {
			case !finitePositive(a):
				desc = fmt.Sprintf("judgement %g must be positive and finite", a)
			case i == j && math.Abs(a-1) > ahpTolerance:
				desc = fmt.Sprintf("diagonal is %g, must be 1", a)
			case a < (1-ahpTolerance)/9 || a > 9*(1+ahpTolerance):
				desc = fmt.Sprintf("judgement %g is outside Saaty's scale 1/9..9", a)
			}
			if desc != "" {
				vs = append(vs, FieldViolation{fmt.Sprintf("matrix[%d][%d]", i, j), desc})
			}
			cellOK[i][j] = desc == ""
		}
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			if cellOK[i][j] && cellOK[j][i] && math.Abs(m[i][j]*m[j][i]-1) > ahpTolerance*(1+1e-9) {
				vs = append(vs, FieldViolation{fmt.Sprintf("matrix[%d][%d]", j, i),
					fmt.Sprintf("%g is not the reciprocal of matrix[%d][%d] = %g (want %g)", m[j][i], i, j, m[i][j], 1/m[i][j])})
			}
		}
	}
	return vs
}

// principalEigen returns the Perron eigenvector of m normalised to sum 1,
// and its eigenvalue. For a positive matrix that eigenvalue is real, simple
// and the largest in modulus, and its eigenvector is positive.
func principalEigen(m [][]float64) ([]float64, float64, error) {
	n := len(m)
	a := mat.NewDense(n, n, nil)
	for i, row := range m {
		a.SetRow(i, row)
	}
	var eig mat.Eigen
	if !eig.Factorize(a, mat.EigenRight) {
		return nil, 0, Errorf(EInternal, "eigendecomposition did not converge")
	}
	vals := eig.Values(nil)
	k := 0
	for i, v := range vals {
		if cmplx.Abs(v) > cmplx.Abs(vals[k]) {
			k = i
		}
	}
	var vecs mat.CDense
	eig.VectorsTo(&vecs)
	w := make([]float64, n)
	sum := 0.0
	for i := range w {
		w[i] = real(vecs.At(i, k))
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum // also fixes the sign: LAPACK may return −v
		if !(w[i] > 0) {
			return nil, 0, Errorf(EInternal, "principal eigenvector is not positive")
		}
	}
	return w, real(vals[k]), nil
}

func rowGeometricMeans(m [][]float64) []float64 {
	w := make([]float64, len(m))
	sum := 0.0
	for i, row := range m {
		w[i] = stat.GeometricMean(row, nil)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// lambdaOf estimates λmax as the mean of (Aw)_i / w_i.
func lambdaOf(m [][]float64, w []float64) float64 {
	total := 0.0
	for i, row := range m {
		total += floats.Dot(row, w) / w[i]
	}
	return total / float64(len(m))
}

// Inconsistency is one judgement a_ij (i < j) compared with the weights.
type Inconsistency struct {
	Row, Col   int
	Judgement  float64 // a_ij as given
	Consistent float64 // w_i / w_j: the judgement that would agree with the weights
	Epsilon    float64 // a_ij · w_j / w_i; 1 when consistent
}

// InconsistencyHints lists every judgement above the diagonal, the one that
// contributes most to inconsistency first: sorted by |ln ε_ij| descending,
// where ε_ij = a_ij·w_j/w_i (ties by row, then column). Revising the first
// judgements towards Consistent lowers CR fastest.
func InconsistencyHints(m [][]float64, w []float64) []Inconsistency {
	var hs []Inconsistency
	for i := range m {
		for j := i + 1; j < len(m); j++ {
			hs = append(hs, Inconsistency{Row: i, Col: j, Judgement: m[i][j],
				Consistent: w[i] / w[j], Epsilon: m[i][j] * w[j] / w[i]})
		}
	}
	sort.SliceStable(hs, func(a, b int) bool {
		return math.Abs(math.Log(hs[a].Epsilon)) > math.Abs(math.Log(hs[b].Epsilon))
	})
	return hs
}
