package estimator_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/computescale/computescale/estimator"
)

func TestIndicators(t *testing.T) {
	want := []string{"scale.basic", "scale.ai", "scale.super", "industry.devices", "industry.chips", "industry.software",
		"tech.patent_applications", "tech.patent_grants", "tech.rnd", "env.bandwidth", "env.it_spend", "env.open_data",
		"app.digital_economy", "app.cases"}
	got := estimator.Indicators()
	if len(got) != len(want) {
		t.Fatalf("%d indicators, want %d", len(got), len(want))
	}
	subs := map[string]bool{}
	for i, ind := range got {
		if ind.Code != want[i] {
			t.Errorf("indicator %d = %q, want %q", i, ind.Code, want[i])
		}
		if ind.Dimension == "" || ind.SubIndicator == "" || ind.NameZH == "" || ind.NameEN == "" || ind.Unit == "" {
			t.Errorf("%s is incomplete: %+v", ind.Code, ind)
		}
		if ind.Derived != (ind.Dimension == "scale") {
			t.Errorf("%s: Derived = %v", ind.Code, ind.Derived)
		}
		subs[ind.Dimension+"/"+ind.SubIndicator] = true
	}
	if len(subs) != 13 {
		t.Errorf("%d sub-indicators, want 13", len(subs))
	}
	if d := estimator.Dimensions(); !reflect.DeepEqual(d, []string{"scale", "industry", "tech", "env", "app"}) {
		t.Errorf("Dimensions = %v", d)
	}
}

func TestLookupIndicator(t *testing.T) {
	tests := []struct {
		code string
		dim  string
		ok   bool
	}{
		{"scale.ai", "scale", true},
		{"tech.rnd", "tech", true},
		{"app.cases", "app", true},
		{"gdp", "", true},
		{"digital_economy_core", "", true},
		{"scale", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			ind, ok := estimator.LookupIndicator(tt.code)
			if ok != tt.ok || ind.Dimension != tt.dim || ok && ind.Code != tt.code {
				t.Errorf("LookupIndicator = %+v, %v; want dimension %q, %v", ind, ok, tt.dim, tt.ok)
			}
			if got := estimator.DimensionOf(tt.code); got != tt.dim {
				t.Errorf("DimensionOf = %q, want %q", got, tt.dim)
			}
		})
	}
}

func TestDefaultHierarchy(t *testing.T) {
	got, nodes, err := estimator.SynthesizeWeights(estimator.DefaultHierarchy())
	if err != nil {
		t.Fatal(err)
	}
	// 1/5 per dimension; scale 3 leaves → 1/15; industry, env → 1/15;
	// tech: innovation ½ × ½ → 1/20 each, rnd ½ → 1/10; app 2 leaves → 1/10.
	want := map[string]float64{
		"scale.basic": 1.0 / 15, "scale.ai": 1.0 / 15, "scale.super": 1.0 / 15,
		"industry.devices": 1.0 / 15, "industry.chips": 1.0 / 15, "industry.software": 1.0 / 15,
		"tech.patent_applications": 0.05, "tech.patent_grants": 0.05, "tech.rnd": 0.1,
		"env.bandwidth": 1.0 / 15, "env.it_spend": 1.0 / 15, "env.open_data": 1.0 / 15,
		"app.digital_economy": 0.1, "app.cases": 0.1,
	}
	if len(got) != len(want) {
		t.Errorf("%d leaves, want %d: %v", len(got), len(want), got)
	}
	sum := 0.0
	for code, w := range want {
		if math.Abs(got[code]-w) > 1e-15 {
			t.Errorf("%s = %v, want %v", code, got[code], w)
		}
		sum += got[code]
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("sum = %v", sum)
	}
	if len(nodes) != 7 || nodes[0].Code != estimator.IndexRootCode { // root, 5 dimensions, tech.innovation
		t.Errorf("nodes = %+v", nodes)
	}
}

func TestComposite(t *testing.T) {
	// Dimension A: a1, a2 (⅛ each); B: b1, b2 (⅜ each). Binary fractions keep
	// every sum exact.
	weights := map[string]float64{"a1": 0.125, "a2": 0.125, "b1": 0.375, "b2": 0.375}
	dimOf := func(c string) string { return c[:1] }
	tests := []struct {
		name      string
		scores    map[string]float64
		threshold float64
		geometric bool
		want      estimator.IndexScore
	}{
		// A = (50+100)/2 = 75; B = 80 (b2 missing, renormalised over b1);
		// composite = ¼ × 75 + ¾ × 80 = 78.75; coverage ⅛+⅛+⅜ = ⅝.
		{"Arithmetic", map[string]float64{"a1": 50, "a2": 100, "b1": 80, "b2": nan, "zz": 1e9}, 0.625, false,
			estimator.IndexScore{Composite: 78.75, Dimensions: map[string]float64{"a": 75, "b": 80}, Coverage: 0.625,
				DimensionCoverage: map[string]float64{"a": 1, "b": 0.5}, Produced: true}},
		{"AbsentIsMissing", map[string]float64{"a1": 50, "a2": 100, "b1": 80}, 0.625, false,
			estimator.IndexScore{Composite: 78.75, Dimensions: map[string]float64{"a": 75, "b": 80}, Coverage: 0.625,
				DimensionCoverage: map[string]float64{"a": 1, "b": 0.5}, Produced: true}},
		// Same data, stricter rule: dimensions still reported, no composite.
		{"BelowThreshold", map[string]float64{"a1": 50, "a2": 100, "b1": 80}, 0.75, false,
			estimator.IndexScore{Composite: nan, Dimensions: map[string]float64{"a": 75, "b": 80}, Coverage: 0.625,
				DimensionCoverage: map[string]float64{"a": 1, "b": 0.5}}},
		// A missing entirely: composite is B alone, 80, not ¾ × 80.
		{"DimensionMissing", map[string]float64{"b1": 80, "b2": 60}, 0.5, false,
			estimator.IndexScore{Composite: 70, Dimensions: map[string]float64{"b": 70}, Coverage: 0.75,
				DimensionCoverage: map[string]float64{"a": 0, "b": 1}, Produced: true}},
		{"NothingPresent", map[string]float64{}, 0, false,
			estimator.IndexScore{Composite: nan, Dimensions: map[string]float64{}, Coverage: 0,
				DimensionCoverage: map[string]float64{"a": 0, "b": 0}}},
		// A = √(50·100) = √5000; composite = A^¼ · 80^¾.
		{"Geometric", map[string]float64{"a1": 50, "a2": 100, "b1": 80}, 0.5, true,
			estimator.IndexScore{Composite: math.Pow(math.Sqrt(5000), 0.25) * math.Pow(80, 0.75),
				Dimensions: map[string]float64{"a": math.Sqrt(5000), "b": 80}, Coverage: 0.625,
				DimensionCoverage: map[string]float64{"a": 1, "b": 0.5}, Produced: true}},
		// A zero score zeroes its dimension and the geometric composite.
		{"GeometricZero", map[string]float64{"a1": 0, "a2": 100, "b1": 80, "b2": 80}, 1, true,
			estimator.IndexScore{Composite: 0, Dimensions: map[string]float64{"a": 0, "b": 80}, Coverage: 1,
				DimensionCoverage: map[string]float64{"a": 1, "b": 1}, Produced: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := estimator.Composite(tt.scores, weights, dimOf, estimator.MissingRule{CoverageThreshold: tt.threshold}, tt.geometric)
			if err != nil {
				t.Fatal(err)
			}
			if got.Produced != tt.want.Produced || !sameScores([]float64{got.Composite, got.Coverage}, []float64{tt.want.Composite, tt.want.Coverage}) {
				t.Errorf("composite %v coverage %v produced %v; want %v %v %v",
					got.Composite, got.Coverage, got.Produced, tt.want.Composite, tt.want.Coverage, tt.want.Produced)
			}
			sameMap(t, "Dimensions", got.Dimensions, tt.want.Dimensions)
			sameMap(t, "DimensionCoverage", got.DimensionCoverage, tt.want.DimensionCoverage)
		})
	}
}

func sameMap(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s = %v, want %v", name, got, want)
		return
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
			return
		}
	}
}

func TestCompositeInvalid(t *testing.T) {
	dimOf := func(c string) string { return c[:1] }
	tests := []struct {
		name      string
		scores    map[string]float64
		weights   map[string]float64
		threshold float64
		geometric bool
		field     string
	}{
		{"ErrNegativeWeight", nil, map[string]float64{"a1": -1, "b1": 1}, 0, false, "weights[a1]"},
		{"ErrNaNWeight", nil, map[string]float64{"a1": nan}, 0, false, "weights[a1]"},
		{"ErrZeroWeights", nil, map[string]float64{"a1": 0}, 0, false, "weights"},
		{"ErrNoWeights", nil, nil, 0, false, "weights"},
		{"ErrNoDimension", nil, map[string]float64{"a1": 1, "gdp": 1}, 0, false, "weights[gdp]"},
		{"ErrInfScore", map[string]float64{"a1": math.Inf(1)}, map[string]float64{"a1": 1}, 0, false, "leaf_scores[a1]"},
		{"ErrNegativeGeometric", map[string]float64{"a1": -0.5}, map[string]float64{"a1": 1}, 0, true, "leaf_scores[a1]"},
		{"ErrThreshold", nil, map[string]float64{"a1": 1}, 1.5, false, "coverage_threshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dim := dimOf
			if tt.name == "ErrNoDimension" {
				dim = func(c string) string {
					if c == "gdp" {
						return ""
					}
					return c[:1]
				}
			}
			_, err := estimator.Composite(tt.scores, tt.weights, dim, estimator.MissingRule{CoverageThreshold: tt.threshold}, tt.geometric)
			wantViolation(t, err, tt.field)
		})
	}
}

func TestCompositeIndex(t *testing.T) {
	// Every leaf of the default index at 60 except the scale dimension,
	// which is missing: the composite is 60, coverage 4/5.
	weights, _, err := estimator.SynthesizeWeights(estimator.DefaultHierarchy())
	if err != nil {
		t.Fatal(err)
	}
	scores := map[string]float64{}
	for _, ind := range estimator.Indicators() {
		if ind.Dimension != "scale" {
			scores[ind.Code] = 60
		}
	}
	got, err := estimator.Composite(scores, weights, estimator.DimensionOf, estimator.MissingRule{CoverageThreshold: 0.8}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Produced || math.Abs(got.Composite-60) > 1e-12 || math.Abs(got.Coverage-0.8) > 1e-12 || got.DimensionCoverage["scale"] != 0 {
		t.Errorf("got %+v", got)
	}
}

func TestFitLine(t *testing.T) {
	tests := []struct {
		name                 string
		x, y                 []float64
		slope, intercept, r2 float64
		n                    int
	}{
		// y = 129x + 7, one pair missing on each side.
		{"ExactLine", []float64{10, 20, 30, nan, 50, 60}, []float64{1297, 2587, 3877, 5167, nan, 7747}, 129, 7, 1, 4},
		// x̄ = 2, ȳ = 2, Sxy = 1, Sxx = 2: slope ½, intercept 1;
		// residuals −½, 1, −½: SSres = 1.5, SStot = 2, R² = ¼.
		{"Scatter", []float64{1, 2, 3}, []float64{1, 3, 2}, 0.5, 1, 0.25, 3},
		{"FlatY", []float64{1, 2, 3}, []float64{5, 5, 5}, 0, 5, nan, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slope, intercept, r2, n, err := estimator.FitLine(tt.x, tt.y)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.n || !sameScores([]float64{slope, intercept, r2}, []float64{tt.slope, tt.intercept, tt.r2}) {
				t.Errorf("slope %v intercept %v r2 %v n %d; want %v %v %v %d", slope, intercept, r2, n, tt.slope, tt.intercept, tt.r2, tt.n)
			}
		})
	}
}

func TestFitLineErrors(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		code estimator.Code
	}{
		{"ErrLengths", []float64{1, 2}, []float64{1}, estimator.EInvalid},
		{"ErrInf", []float64{1, math.Inf(1)}, []float64{1, 2}, estimator.EInvalid},
		{"ErrOnePair", []float64{1, 2}, []float64{1, nan}, estimator.EFailedPrecondition},
		{"ErrFlatX", []float64{3, 3, 3}, []float64{1, 2, 3}, estimator.EFailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, _, err := estimator.FitLine(tt.x, tt.y)
			if code := estimator.ErrorCode(err); code != tt.code {
				t.Errorf("code = %q (%v), want %q", code, err, tt.code)
			}
		})
	}
}

func TestRankDesc(t *testing.T) {
	got := estimator.RankDesc(map[string]float64{"gd": 60, "js": 55, "bj": 55, "zj": 40, "xz": nan})
	want := []estimator.Ranked[string]{{"gd", 60, 1}, {"bj", 55, 2}, {"js", 55, 2}, {"zj", 40, 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RankDesc = %v, want %v", got, want)
	}
	if got := estimator.RankDesc(map[uint32]float64{}); len(got) != 0 {
		t.Errorf("RankDesc(empty) = %v", got)
	}
}
