package estimator_test

import (
	"math"
	"testing"

	"github.com/computescale/computescale/estimator"
)

func leaf(code string) estimator.WeightNode { return estimator.WeightNode{Code: code} }

func TestSynthesizeWeights(t *testing.T) {
	b := func(n estimator.WeightNode) estimator.WeightNode {
		n.Code, n.Children = "b", []estimator.WeightNode{leaf("b1"), leaf("b2")}
		return n
	}
	tests := []struct {
		name   string
		root   estimator.WeightNode
		want   map[string]float64
		source string // the root's NodeResult.Source
	}{
		{"Leaf", leaf("only"), map[string]float64{"only": 1}, ""},
		// ½ to a; ½ × ½ to b1 and b2.
		{"Equal", estimator.WeightNode{Code: "r", Children: []estimator.WeightNode{leaf("a"), b(estimator.WeightNode{})}},
			map[string]float64{"a": 0.5, "b1": 0.25, "b2": 0.25}, "equal"},
		// 3:1 → ¾, ¼; b's 1:3 → ¼ × ¼ = 1/16, ¼ × ¾ = 3/16.
		{"Explicit", estimator.WeightNode{Code: "r", Weights: []float64{3, 1},
			Children: []estimator.WeightNode{leaf("a"), b(estimator.WeightNode{Weights: []float64{1, 3}})}},
			map[string]float64{"a": 0.75, "b1": 0.0625, "b2": 0.1875}, "weights"},
		// a is 3 times as important as b: ¾, ¼.
		{"Matrix", estimator.WeightNode{Code: "r", Matrix: [][]float64{{1, 3}, {1.0 / 3, 1}},
			Children: []estimator.WeightNode{leaf("a"), b(estimator.WeightNode{})}},
			map[string]float64{"a": 0.75, "b1": 0.125, "b2": 0.125}, "matrix"},
		// Two equally weighted experts say 2 and 8: AIJ √(2·8) = 4 → 0.8, 0.2.
		{"Experts", estimator.WeightNode{Code: "r", Method: estimator.AHPGeometricMean, Experts: []estimator.ExpertMatrix{
			{Weight: 1, Matrix: [][]float64{{1, 2}, {0.5, 1}}},
			{Weight: 1, Matrix: [][]float64{{1, 8}, {0.125, 1}}},
		}, Children: []estimator.WeightNode{leaf("a"), leaf("b")}},
			map[string]float64{"a": 0.8, "b": 0.2}, "experts"},
		// Weights 3:1 → 2^¾ · 8^¼ = 2^1.5; a = 2√2 / (2√2 + 1).
		{"ExpertsWeighted", estimator.WeightNode{Code: "r", Experts: []estimator.ExpertMatrix{
			{Weight: 3, Matrix: [][]float64{{1, 2}, {0.5, 1}}},
			{Weight: 1, Matrix: [][]float64{{1, 8}, {0.125, 1}}},
		}, Children: []estimator.WeightNode{leaf("a"), leaf("b")}},
			map[string]float64{"a": 2 * math.Sqrt2 / (2*math.Sqrt2 + 1), "b": 1 / (2*math.Sqrt2 + 1)}, "experts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, nodes, err := estimator.SynthesizeWeights(tt.root)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("weights = %v, want %v", got, tt.want)
			}
			sum := 0.0
			for code, w := range tt.want {
				if math.Abs(got[code]-w) > 1e-12 {
					t.Errorf("weight[%s] = %v, want %v", code, got[code], w)
				}
				sum += got[code]
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("weights sum to %v", sum)
			}
			if tt.source == "" {
				if len(nodes) != 0 {
					t.Errorf("nodes = %+v, want none", nodes)
				}
				return
			}
			root := nodes[0]
			if root.Code != "r" || root.Path != "" || root.Global != 1 || root.Source != tt.source {
				t.Errorf("root result = %+v", root)
			}
			if (root.AHP != nil) != (tt.source == "matrix" || tt.source == "experts") {
				t.Errorf("root AHP = %+v for source %s", root.AHP, tt.source)
			}
			if len(nodes) > 1 && (nodes[1].Code != "b" || nodes[1].Path != "children[1]." || nodes[1].Global != got["b1"]+got["b2"]) {
				t.Errorf("b's result = %+v", nodes[1])
			}
		})
	}
}

func TestSynthesizeWeightsInvalid(t *testing.T) {
	two := []estimator.WeightNode{leaf("a"), leaf("b")}
	deep := leaf("d9")
	for i := 8; i >= 0; i-- {
		deep = estimator.WeightNode{Code: "d" + string(rune('0'+i)), Children: []estimator.WeightNode{deep}}
	}
	tests := []struct {
		name  string
		root  estimator.WeightNode
		field string
	}{
		{"ErrNoCode", estimator.WeightNode{Code: "r", Children: []estimator.WeightNode{leaf("a"), leaf("")}}, "children[1].code"},
		{"ErrDuplicateCode", estimator.WeightNode{Code: "r", Children: []estimator.WeightNode{leaf("a"), leaf("a")}}, "children[1].code"},
		{"ErrLeafWithWeights", estimator.WeightNode{Code: "r", Children: []estimator.WeightNode{{Code: "a", Weights: []float64{1}}, leaf("b")}}, "children[0].children"},
		{"ErrSeveralSources", estimator.WeightNode{Code: "r", Children: two, Weights: []float64{1, 1}, Matrix: [][]float64{{1, 1}, {1, 1}}}, "weights"},
		{"ErrWeightCount", estimator.WeightNode{Code: "r", Children: two, Weights: []float64{1}}, "weights"},
		{"ErrWeightNegative", estimator.WeightNode{Code: "r", Children: two, Weights: []float64{-1, 2}}, "weights[0]"},
		{"ErrWeightNaN", estimator.WeightNode{Code: "r", Children: two, Weights: []float64{1, math.NaN()}}, "weights[1]"},
		{"ErrWeightsZero", estimator.WeightNode{Code: "r", Children: two, Weights: []float64{0, 0}}, "weights"},
		{"ErrMatrixSize", estimator.WeightNode{Code: "r", Children: two, Matrix: [][]float64{{1}}}, "matrix"},
		{"ErrMatrixCell", estimator.WeightNode{Code: "r", Children: []estimator.WeightNode{leaf("a"),
			{Code: "b", Children: two[:1:1], Matrix: [][]float64{{2}}}}}, "children[1].matrix[0][0]"},
		{"ErrExpertWeight", estimator.WeightNode{Code: "r", Children: two, Experts: []estimator.ExpertMatrix{
			{Weight: 1, Matrix: [][]float64{{1, 2}, {0.5, 1}}}, {Weight: 0, Matrix: [][]float64{{1, 2}, {0.5, 1}}}}}, "experts[1].weight"},
		{"ErrExpertSize", estimator.WeightNode{Code: "r", Children: two, Experts: []estimator.ExpertMatrix{
			{Weight: 1, Matrix: [][]float64{{1, 2}, {0.5, 1}}}, {Weight: 1, Matrix: [][]float64{{1}}}}}, "experts[1].matrix"},
		{"ErrExpertCell", estimator.WeightNode{Code: "r", Children: two, Experts: []estimator.ExpertMatrix{
			{Weight: 1, Matrix: [][]float64{{1, 2}, {0.4, 1}}}}}, "experts[0].matrix[1][0]"},
		{"ErrNoExperts", estimator.WeightNode{Code: "r", Children: two, Experts: []estimator.ExpertMatrix{}}, "experts"},
		{"ErrTooDeep", deep, "children[0].children[0].children[0].children[0].children[0].children[0].children[0].children[0].children[0].children"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := estimator.SynthesizeWeights(tt.root)
			wantViolation(t, err, tt.field)
		})
	}
}

func TestCombineJudgements(t *testing.T) {
	// Cell by cell: (2·8)^½ = 4 and (3·(1/3))^½ = 1; reciprocals follow.
	got, err := estimator.CombineJudgements([]estimator.ExpertMatrix{
		{Weight: 0.5, Matrix: [][]float64{{1, 2, 3}, {0.5, 1, 1}, {1.0 / 3, 1, 1}}},
		{Weight: 0.5, Matrix: [][]float64{{1, 8, 1.0 / 3}, {0.125, 1, 1}, {3, 1, 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{1, 4, 1}, {0.25, 1, 1}, {1, 1, 1}}
	for i := range want {
		for j := range want[i] {
			if math.Abs(got[i][j]-want[i][j]) > 1e-12 {
				t.Errorf("c[%d][%d] = %v, want %v", i, j, got[i][j], want[i][j])
			}
		}
	}
}
