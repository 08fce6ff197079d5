package estimator_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// textbook is the worked example of 姜启源《数学模型》 (choosing a travel
// destination, criteria layer), with its published answers.
var textbook = [][]float64{
	{1, 1.0 / 2, 4, 3, 3},
	{2, 1, 7, 5, 5},
	{1.0 / 4, 1.0 / 7, 1, 1.0 / 2, 1.0 / 3},
	{1.0 / 3, 1.0 / 5, 2, 1, 1},
	{1.0 / 3, 1.0 / 5, 3, 1, 1},
}

func TestAHPTextbook(t *testing.T) {
	r, err := estimator.AHP(textbook, estimator.AHPEigenvector)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.2636, 0.4758, 0.0538, 0.0981, 0.1087}
	for i := range want {
		if math.Abs(r.Weights[i]-want[i]) > 5e-4 {
			t.Errorf("w[%d] = %.4f, want %.4f", i, r.Weights[i], want[i])
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"LambdaMax", r.LambdaMax, 5.0721}, {"CI", r.CI, 0.0180}, {"CR", r.CR, 0.0161}} {
		if math.Abs(c.got-c.want) > 5e-4 {
			t.Errorf("%s = %.5f, want %.4f", c.name, c.got, c.want)
		}
	}
	if r.RI != 1.12 || r.RITable != estimator.SaatyRITable || !r.Acceptable {
		t.Errorf("RI %g, table %q, acceptable %v", r.RI, r.RITable, r.Acceptable)
	}
	if sum := r.Weights[0] + r.Weights[1] + r.Weights[2] + r.Weights[3] + r.Weights[4]; math.Abs(sum-1) > 1e-12 {
		t.Errorf("weights sum to %v", sum)
	}
	// 1/7 written to three places is still a reciprocal.
	rounded := cloneMatrix(textbook)
	rounded[2][1] = 0.143
	if _, err := estimator.AHP(rounded, estimator.AHPEigenvector); err != nil {
		t.Errorf("0.143 for 1/7: %v", err)
	}
}

// lopsided is a_ij = 2^(j−i) (consistent with w ∝ 8, 4, 2, 1) except a_14 = 2
// instead of 8. By row geometric means, log2 w ∝ (1, ½, −½, −1), so
// w ∝ (2, √2, 1/√2, ½); (Aw)_i/w_i = 1.5+2√2, 2+1.5√2, 2+1.5√2, 3+√2, whose
// mean is λmax = 2.125 + 1.5√2 ≈ 4.2463; CI = (λmax − 4)/3, CR = CI/0.90.
// log2 ε_ij = log2 a_ij + u_j − u_i is −1 for (1,4), ±½ for four judgements
// and 0 for (2,3).
var lopsided = [][]float64{
	{1, 2, 4, 2},
	{0.5, 1, 2, 4},
	{0.25, 0.5, 1, 2},
	{0.5, 0.25, 0.5, 1},
}

func TestAHPGeometricMean(t *testing.T) {
	r, err := estimator.AHP(lopsided, estimator.AHPGeometricMean)
	if err != nil {
		t.Fatal(err)
	}
	s2 := math.Sqrt2
	sum := 2 + s2 + 1/s2 + 0.5
	wantW := []float64{2 / sum, s2 / sum, 1 / s2 / sum, 0.5 / sum}
	for i := range wantW {
		if math.Abs(r.Weights[i]-wantW[i]) > 1e-12 {
			t.Errorf("w[%d] = %v, want %v", i, r.Weights[i], wantW[i])
		}
	}
	lambda := 2.125 + 1.5*s2
	ci := (lambda - 4) / 3
	if math.Abs(r.LambdaMax-lambda) > 1e-12 || math.Abs(r.CI-ci) > 1e-12 || math.Abs(r.CR-ci/0.90) > 1e-12 {
		t.Errorf("λ %v CI %v CR %v; want %v %v %v", r.LambdaMax, r.CI, r.CR, lambda, ci, ci/0.90)
	}
	if !r.Acceptable { // CR ≈ 0.0912
		t.Errorf("CR %v should be acceptable", r.CR)
	}
	if len(r.Hints) != 6 {
		t.Fatalf("%d hints, want 6", len(r.Hints))
	}
	top, last := r.Hints[0], r.Hints[5]
	if top.Row != 0 || top.Col != 3 || top.Judgement != 2 || math.Abs(top.Consistent-4) > 1e-12 || math.Abs(top.Epsilon-0.5) > 1e-12 {
		t.Errorf("top hint = %+v, want a[0][3] = 2, consistent 4, ε 0.5", top)
	}
	if last.Row != 1 || last.Col != 2 || math.Abs(last.Consistent-2) > 1e-12 || math.Abs(last.Epsilon-1) > 1e-12 {
		t.Errorf("last hint = %+v, want a[1][2], consistent 2, ε 1", last)
	}
}

func TestAHPSmall(t *testing.T) {
	tests := []struct {
		name    string
		m       [][]float64
		weights []float64
		lambda  float64
	}{
		{"One", [][]float64{{1}}, []float64{1}, 1},
		{"Two", [][]float64{{1, 3}, {1.0 / 3, 1}}, []float64{0.75, 0.25}, 2},
	}
	for _, tt := range tests {
		for _, method := range []estimator.AHPMethod{estimator.AHPEigenvector, estimator.AHPGeometricMean} {
			t.Run(tt.name+"/"+method.String(), func(t *testing.T) {
				r, err := estimator.AHP(tt.m, method)
				if err != nil {
					t.Fatal(err)
				}
				for i := range tt.weights {
					if math.Abs(r.Weights[i]-tt.weights[i]) > 1e-12 {
						t.Errorf("weights = %v, want %v", r.Weights, tt.weights)
					}
				}
				if math.Abs(r.LambdaMax-tt.lambda) > 1e-12 || r.CI != 0 || r.CR != 0 || r.RI != 0 || !r.Acceptable {
					t.Errorf("λ %v CI %v CR %v RI %v", r.LambdaMax, r.CI, r.CR, r.RI)
				}
			})
		}
	}
}

func TestAHPConsistentProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 200 {
		n := 1 + rng.IntN(estimator.MaxAHPSize)
		w := make([]float64, n)
		sum := 0.0
		for i := range w {
			w[i] = 1 + 2*rng.Float64() // ratios stay within 1/3..3
			sum += w[i]
		}
		m := make([][]float64, n)
		for i := range m {
			w[i] /= sum
			m[i] = make([]float64, n)
		}
		for i := range m {
			for j := range m {
				m[i][j] = w[i] / w[j]
			}
		}
		for _, method := range []estimator.AHPMethod{estimator.AHPEigenvector, estimator.AHPGeometricMean} {
			r, err := estimator.AHP(m, method)
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			for i := range w {
				if math.Abs(r.Weights[i]-w[i]) > 1e-9 {
					t.Fatalf("trial %d %s: w = %v, want %v", trial, method, r.Weights, w)
				}
			}
			if math.Abs(r.CR) > 1e-9 || math.Abs(r.LambdaMax-float64(n)) > 1e-9 {
				t.Fatalf("trial %d %s: CR %v λ %v, want 0 and %d", trial, method, r.CR, r.LambdaMax, n)
			}
		}
	}
}

func TestAHPPermutationProperty(t *testing.T) {
	base, err := estimator.AHP(textbook, estimator.AHPEigenvector)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 20 {
		p := rng.Perm(len(textbook))
		m := make([][]float64, len(p))
		for i := range p {
			m[i] = make([]float64, len(p))
			for j := range p {
				m[i][j] = textbook[p[i]][p[j]]
			}
		}
		r, err := estimator.AHP(m, estimator.AHPEigenvector)
		if err != nil {
			t.Fatal(err)
		}
		for i := range p {
			if math.Abs(r.Weights[i]-base.Weights[p[i]]) > 1e-9 {
				t.Fatalf("trial %d perm %v: w = %v, want base permuted %v", trial, p, r.Weights, base.Weights)
			}
		}
		if math.Abs(r.CR-base.CR) > 1e-9 {
			t.Errorf("trial %d: CR %v, want %v", trial, r.CR, base.CR)
		}
	}
}

func cloneMatrix(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	return out
}

func TestAHPInvalid(t *testing.T) {
	edit := func(f func(m [][]float64) [][]float64) [][]float64 { return f(cloneMatrix(textbook)) }
	set := func(i, j int, v float64) [][]float64 {
		return edit(func(m [][]float64) [][]float64 { m[i][j] = v; return m })
	}
	big := make([][]float64, 16)
	for i := range big {
		big[i] = make([]float64, 16)
		for j := range big[i] {
			big[i][j] = 1
		}
	}
	tests := []struct {
		name   string
		m      [][]float64
		method estimator.AHPMethod
		field  string
	}{
		{"ErrEmpty", nil, 0, "matrix"},
		{"ErrTooLarge", big, 0, "matrix"},
		{"ErrNotSquare", edit(func(m [][]float64) [][]float64 { m[1] = m[1][:4]; return m }), 0, "matrix[1]"},
		{"ErrRowsNotSquare", textbook[:4], 0, "matrix[0]"},
		{"ErrDiagonal", set(2, 2, 2), 0, "matrix[2][2]"},
		{"ErrZero", set(2, 3, 0), 0, "matrix[2][3]"},
		{"ErrNegative", set(2, 3, -2), 0, "matrix[2][3]"},
		{"ErrNaN", set(2, 3, math.NaN()), 0, "matrix[2][3]"},
		{"ErrInf", set(2, 3, math.Inf(1)), 0, "matrix[2][3]"},
		{"ErrNotReciprocal", set(3, 2, 0.4), 0, "matrix[3][2]"},
		{"ErrNotReciprocalUpper", set(2, 3, 3), 0, "matrix[3][2]"},
		{"ErrAboveScale", edit(func(m [][]float64) [][]float64 { m[1][2], m[2][1] = 10, 0.1; return m }), 0, "matrix[1][2]"},
		{"ErrBelowScale", edit(func(m [][]float64) [][]float64 { m[1][2], m[2][1] = 10, 0.1; return m }), 0, "matrix[2][1]"},
		{"ErrMethod", textbook, 7, "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := estimator.AHP(tt.m, tt.method)
			wantViolation(t, err, tt.field)
		})
	}
}

func TestRandomIndex(t *testing.T) {
	tests := []struct {
		n    int
		want float64
		ok   bool
	}{{0, 0, false}, {1, 0, true}, {2, 0, true}, {3, 0.58, true}, {5, 1.12, true}, {9, 1.45, true}, {12, 1.48, true}, {15, 1.59, true}, {16, 0, false}}
	for _, tt := range tests {
		if got, ok := estimator.RandomIndex(tt.n); got != tt.want || ok != tt.ok {
			t.Errorf("RandomIndex(%d) = %v, %v; want %v, %v", tt.n, got, ok, tt.want, tt.ok)
		}
	}
}
