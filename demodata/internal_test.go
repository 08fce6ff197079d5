package demodata

import (
	"math"
	"slices"
	"testing"

	"github.com/computescale/computescale/estimator"
)

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		total   int64
		weights []float64
		want    []int64
	}{
		{"OK", 10, []float64{1, 1, 1}, []int64{4, 3, 3}}, // tie: earliest index gets the extra unit
		{"Remainders", 7, []float64{0.5, 0.3, 0.2}, []int64{4, 2, 1}},
		{"Zero", 0, []float64{1, 2}, []int64{0, 0}},
		{"NoWeight", 5, []float64{0, 0}, []int64{0, 0}},
		{"Large", 3_731_000, []float64{0.25, 0.75}, []int64{932_750, 2_798_250}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apportion(tc.total, tc.weights); !slices.Equal(got, tc.want) {
				t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
			}
		})
	}
}

func TestGrowthRate(t *testing.T) {
	// 1, 2, 4, 8 then 16: r = 2.
	if r := growthRate(16, 15); math.Abs(r-2) > 1e-9 {
		t.Errorf("growthRate(16, 15) = %v, want 2", r)
	}
}

func TestNationalUnits(t *testing.T) {
	for _, tc := range []struct {
		class          estimator.ServerClass
		y2023, sixYear int64
	}{
		{estimator.ClassGeneral, 3_886_458, generalSixYearsUnits}, // 3,731,000 / 0.96
		{estimator.ClassAI, 326_425, aiSixYearsUnits},             // 630,000 / 1.93
	} {
		u := nationalUnits(tc.class)
		var six int64
		for y := 2019; y <= 2024; y++ {
			six += u[y]
			if y > 2019 && u[y-1] > u[y] && y < 2024 {
				t.Errorf("%s: %d units in %d fall below %d's %d", tc.class, u[y], y, y-1, u[y-1])
			}
		}
		if u[2023] != tc.y2023 || six != tc.sixYear {
			t.Errorf("%s: 2023 %d, 2019-2024 %d; want %d and %d", tc.class, u[2023], six, tc.y2023, tc.sixYear)
		}
	}
}

// TestBlend checks that the solved blends fall inside [0, 1] (blend panics
// otherwise) and reports them.
func TestBlend(t *testing.T) {
	f := estimator.DefaultFactors()
	for _, tc := range []struct {
		class  estimator.ServerClass
		target float64
	}{
		{estimator.ClassGeneral, targetBasicFP32},
		{estimator.ClassAI, targetAIFP32Eq / f.FP16},
	} {
		theta := blend(tc.class, nationalUnits(tc.class), tc.target)
		t.Logf("%s: θ = %.4f", tc.class, theta)
	}
}

func TestMixesUseKnownConfigs(t *testing.T) {
	for class, years := range mixes {
		from := firstYear
		if class == estimator.ClassAI {
			from = aiFirstYear
		}
		for year := from; year <= lastYear; year++ {
			mix, ok := years[year]
			if !ok {
				t.Errorf("%s: no mix for %d", class, year)
			}
			for _, s := range mix {
				if c := configByName(s.config); c.class != class {
					t.Errorf("%s %d: config %s is a %s", class, year, s.config, c.class)
				}
			}
		}
	}
}
