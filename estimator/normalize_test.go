package estimator_test

import (
	"errors"
	"math"
	"testing"

	"github.com/computescale/computescale/estimator"
)

var nan = math.NaN()

// sameScores compares two score vectors, NaN equal to NaN, to 1e-9.
func sameScores(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.IsNaN(got[i]) != math.IsNaN(want[i]) || math.Abs(got[i]-want[i]) > 1e-9 {
			return false
		}
	}
	return true
}

// wantViolation checks that err is an EInvalid *Error naming field.
func wantViolation(t *testing.T, err error, field string) {
	t.Helper()
	var e *estimator.Error
	if !errors.As(err, &e) || e.Code != estimator.EInvalid {
		t.Fatalf("err = %v, want an EInvalid *Error", err)
	}
	if !hasField(e.Violations, field) {
		t.Errorf("violations = %v, want %q", e.Violations, field)
	}
}

func TestNormalizers(t *testing.T) {
	v := []float64{10, nan, 40, 20, 30}
	tests := []struct {
		name    string
		f       func([]float64) ([]float64, error)
		in      []float64
		want    []float64
		errPath string
	}{
		// 10/40×100 = 25, 40/40 = 100, 20/40 = 50, 30/40 = 75.
		{"Target", func(v []float64) ([]float64, error) { return estimator.Target(v, 40) }, v, []float64{25, nan, 100, 50, 75}, ""},
		// Past the target scores above 100: 40/20×100 = 200.
		{"TargetPassed", func(v []float64) ([]float64, error) { return estimator.Target(v, 20) }, v, []float64{50, nan, 200, 100, 150}, ""},
		{"ErrTargetZero", func(v []float64) ([]float64, error) { return estimator.Target(v, 0) }, v, nil, "target"},
		{"ErrTargetNegative", func(v []float64) ([]float64, error) { return estimator.Target(v, -1) }, v, nil, "target"},
		// (20−10)/(40−10)×100 = 33.33…, (30−10)/30×100 = 66.67….
		{"MinMax", func(v []float64) ([]float64, error) { return estimator.MinMax(v, 10, 40) }, v, []float64{0, nan, 100, 100.0 / 3, 200.0 / 3}, ""},
		{"MinMaxFlat", func(v []float64) ([]float64, error) { return estimator.MinMax(v, 5, 5) }, v, []float64{100, nan, 100, 100, 100}, ""},
		{"ErrMinMaxReversed", func(v []float64) ([]float64, error) { return estimator.MinMax(v, 40, 10) }, v, nil, "hi"},
		// (10−25)/5 = −3, (40−25)/5 = 3, (20−25)/5 = −1, (30−25)/5 = 1.
		{"ZScore", func(v []float64) ([]float64, error) { return estimator.ZScore(v, 25, 5) }, v, []float64{-3, nan, 3, -1, 1}, ""},
		{"ZScoreFlat", func(v []float64) ([]float64, error) { return estimator.ZScore(v, 25, 0) }, v, []float64{0, nan, 0, 0, 0}, ""},
		{"ErrZScoreNegativeSD", func(v []float64) ([]float64, error) { return estimator.ZScore(v, 25, -1) }, v, nil, "sd"},
		{"Rank", estimator.Rank, v, []float64{4, nan, 1, 3, 2}, ""},
		// Ties share the best rank and the next rank skips: 1, 1, 3, 3, 5.
		{"RankTies", estimator.Rank, []float64{10, nan, 40, 20, 40, 20}, []float64{5, nan, 1, 3, 1, 3}, ""},
		{"RankAllMissing", estimator.Rank, []float64{nan, nan}, []float64{nan, nan}, ""},
		// Four present: (4−rank+1)/4×100, the largest scoring highest.
		{"RankScore", estimator.RankScore, v, []float64{25, nan, 100, 50, 75}, ""},
		// Five present, ranks 5, 1, 3, 1, 3: ties share the better score.
		{"RankScoreTies", estimator.RankScore, []float64{10, nan, 40, 20, 40, 20}, []float64{20, nan, 100, 60, 100, 60}, ""},
		{"RankScoreOne", estimator.RankScore, []float64{nan, 7}, []float64{nan, 100}, ""},
		{"RankScoreAllMissing", estimator.RankScore, []float64{nan, nan}, []float64{nan, nan}, ""},
		// (10−15)/20 → −25 → 0; (40−15)/20 → 125 → 100; 25; 75.
		{"Goalposts", func(v []float64) ([]float64, error) { return estimator.Goalposts(v, 15, 35) }, v, []float64{0, nan, 100, 25, 75}, ""},
		{"ErrGoalpostsEqual", func(v []float64) ([]float64, error) { return estimator.Goalposts(v, 15, 15) }, v, nil, "hi"},
		{"ErrGoalpostsNaN", func(v []float64) ([]float64, error) { return estimator.Goalposts(v, nan, 15) }, v, nil, "hi"},
		{"ErrInfValue", func(v []float64) ([]float64, error) { return estimator.Target(v, 40) }, []float64{1, math.Inf(1)}, nil, "values[1]"},
		{"ErrInfRank", estimator.Rank, []float64{math.Inf(-1)}, nil, "values[0]"},
		{"ErrInfRankScore", estimator.RankScore, []float64{math.Inf(-1)}, nil, "values[0]"},
		{"Empty", func(v []float64) ([]float64, error) { return estimator.MinMax(v, 0, 1) }, nil, []float64{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f(tt.in)
			if tt.errPath != "" {
				wantViolation(t, err, tt.errPath)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameScores(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBoundsOf(t *testing.T) {
	tests := []struct {
		name    string
		vectors [][]float64
		want    estimator.Bounds
		errPath string
	}{
		// 10, 40, 20, 30: mean 25; squared deviations 225+225+25+25 = 500,
		// population variance 500/4 = 125.
		{"PerYear", [][]float64{{10, nan, 40, 20, 30}}, estimator.Bounds{N: 4, Min: 10, Max: 40, Mean: 25, SD: math.Sqrt(125)}, ""},
		// 10, 40 | 20, 50: mean 30; 400+100+100+400 = 1000, /4 = 250.
		{"Pooled", [][]float64{{10, nan, 40}, {20, 50}}, estimator.Bounds{N: 4, Min: 10, Max: 50, Mean: 30, SD: math.Sqrt(250)}, ""},
		{"One", [][]float64{{7}}, estimator.Bounds{N: 1, Min: 7, Max: 7, Mean: 7}, ""},
		{"ErrNone", [][]float64{{nan}, nil}, estimator.Bounds{}, "values"},
		{"ErrInf", [][]float64{{1}, {math.Inf(1)}}, estimator.Bounds{}, "values[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := estimator.BoundsOf(tt.vectors...)
			if tt.errPath != "" {
				wantViolation(t, err, tt.errPath)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.N != tt.want.N || got.Min != tt.want.Min || got.Max != tt.want.Max ||
				math.Abs(got.Mean-tt.want.Mean) > 1e-12 || math.Abs(got.SD-tt.want.SD) > 1e-12 {
				t.Errorf("BoundsOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	v := []float64{10, nan, 40, 20, 30}
	b, err := estimator.BoundsOf(v)
	if err != nil {
		t.Fatal(err)
	}
	sd := math.Sqrt(125)
	tests := []struct {
		name    string
		spec    estimator.NormSpec
		b       estimator.Bounds
		want    []float64
		errPath string
	}{
		{"TargetSet", estimator.NormSpec{Method: estimator.NormTarget, Target: 50}, estimator.Bounds{}, []float64{20, nan, 80, 40, 60}, ""},
		{"TargetFromBaseYearMax", estimator.NormSpec{}, b, []float64{25, nan, 100, 50, 75}, ""},
		{"MinMax", estimator.NormSpec{Method: estimator.NormMinMax}, b, []float64{0, nan, 100, 100.0 / 3, 200.0 / 3}, ""},
		{"ZScore", estimator.NormSpec{Method: estimator.NormZScore}, b, []float64{-15 / sd, nan, 15 / sd, -5 / sd, 5 / sd}, ""},
		// The largest scores highest, as in every other method.
		{"Rank", estimator.NormSpec{Method: estimator.NormRank}, estimator.Bounds{}, []float64{25, nan, 100, 50, 75}, ""},
		{"Goalposts", estimator.NormSpec{Method: estimator.NormGoalposts, Lo: 15, Hi: 35}, estimator.Bounds{}, []float64{0, nan, 100, 25, 75}, ""},
		{"ErrNoBounds", estimator.NormSpec{Method: estimator.NormMinMax}, estimator.Bounds{}, nil, "bounds"},
		{"ErrMethod", estimator.NormSpec{Method: 9}, b, nil, "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := estimator.Normalize(v, tt.spec, tt.b)
			if tt.errPath != "" {
				wantViolation(t, err, tt.errPath)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameScores(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if s := estimator.NormGoalposts.String(); s != "goalposts" {
		t.Errorf("String = %q", s)
	}
}
