package estimator_test

import (
	"testing"

	"github.com/computescale/computescale/estimator"
)

func q(year, quarter int) estimator.Period { return estimator.Period{Year: year, Quarter: quarter} }

func TestWindowEnding(t *testing.T) {
	tests := []struct {
		name       string
		end        estimator.Period
		start, fin estimator.Period
		years      []int
	}{
		{"Year2024", q(2024, 0), q(2019, 1), q(2024, 4), []int{2019, 2020, 2021, 2022, 2023, 2024}},
		{"Quarter2025Q2", q(2025, 2), q(2019, 3), q(2025, 2), []int{2019, 2020, 2021, 2022, 2023, 2024, 2025}},
		{"Quarter2024Q4", q(2024, 4), q(2019, 1), q(2024, 4), []int{2019, 2020, 2021, 2022, 2023, 2024}},
		{"Quarter2025Q1", q(2025, 1), q(2019, 2), q(2025, 1), []int{2019, 2020, 2021, 2022, 2023, 2024, 2025}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := estimator.WindowEnding(tt.end)
			if w.Start != tt.start || w.End != tt.fin {
				t.Errorf("WindowEnding(%s) = %s..%s, want %s..%s", tt.end, w.Start, w.End, tt.start, tt.fin)
			}
			ys := w.Years()
			if len(ys) != len(tt.years) {
				t.Fatalf("Years = %v, want %v", ys, tt.years)
			}
			for i := range ys {
				if ys[i] != tt.years[i] {
					t.Errorf("Years = %v, want %v", ys, tt.years)
				}
			}
		})
	}
}

func TestQuartersOfYear(t *testing.T) {
	w := estimator.WindowEnding(q(2025, 2)) // 2019Q3..2025Q2
	tests := []struct {
		name string
		year int
		want int
	}{
		{"Before", 2018, 0},
		{"FirstHalfOut", 2019, 2},
		{"Inside", 2022, 4},
		{"LastHalfIn", 2025, 2},
		{"After", 2026, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.QuartersOfYear(tt.year); got != tt.want {
				t.Errorf("QuartersOfYear(%d) = %d, want %d", tt.year, got, tt.want)
			}
		})
	}
}

// generalRecord ships units servers of exactly 1 TFLOPS FP32 (10^6 MFLOPS)
// each, so that BasicFP32 in EFlops is units × 10^-6.
func generalRecord(p estimator.Period, units int64) estimator.Record {
	cpu := estimator.ChipSpec{Kind: estimator.KindCPU, Rates: []estimator.Rate{{Precision: estimator.FP32, PeakFLOPS: 1e12}}}
	return estimator.Record{ID: "g", Province: 440000, Period: p, Class: estimator.ClassGeneral, Units: units,
		Components: []estimator.Component{inline(1, cpu)}}
}

func TestSumWindowEdges(t *testing.T) {
	tests := []struct {
		name   string
		record estimator.Period
		end    estimator.Period
		units  float64 // GeneralUnits counted of 4 shipped
	}{
		{"YearInWindowOfYear", q(2019, 0), q(2024, 0), 4},
		{"YearHalfInWindowOfQuarter", q(2019, 0), q(2025, 2), 2},
		{"YearOutOfNextWindow", q(2019, 0), q(2025, 0), 0},
		{"YearEndingNow", q(2025, 0), q(2025, 2), 2},
		{"YearAfterEnd", q(2026, 0), q(2025, 2), 0},
		{"FirstQuarterIn", q(2019, 1), q(2024, 0), 4},
		{"QuarterBeforeStart", q(2018, 4), q(2024, 0), 0},
		{"LastQuarterIn", q(2024, 4), q(2024, 0), 4},
		{"QuarterAfterEnd", q(2025, 1), q(2024, 0), 0},
		{"Q2OutOfQ2Window", q(2019, 2), q(2025, 2), 0},
		{"Q3InQ2Window", q(2019, 3), q(2025, 2), 4},
		{"EndQuarterIn", q(2025, 2), q(2025, 2), 4},
		{"QuarterAfterEndQuarter", q(2025, 3), q(2025, 2), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := estimator.Sum(cellsOf(t, generalRecord(tt.record, 4)), tt.end, estimator.DefaultFactors())
			if got.GeneralUnits != tt.units {
				t.Errorf("GeneralUnits = %g, want %g", got.GeneralUnits, tt.units)
			}
			if want := tt.units * 1e-6; !approx(got.BasicFP32, want) {
				t.Errorf("BasicFP32 = %g, want %g", got.BasicFP32, want)
			}
		})
	}
}

func TestSumYearTotals(t *testing.T) {
	cells := cellsOf(t, generalRecord(q(2019, 0), 4), generalRecord(q(2024, 3), 8))
	got := estimator.Sum(cells, q(2025, 2), estimator.DefaultFactors())
	want := map[int]float64{2019: 2e-6, 2024: 8e-6}
	if len(got.Years) != 7 {
		t.Fatalf("len(Years) = %d, want 7 (2019..2025)", len(got.Years))
	}
	for _, y := range got.Years {
		if !approx(y.BasicFP32, want[y.Year]) || !approx(y.TotalFP32Eq, want[y.Year]) {
			t.Errorf("year %d: basic %g total %g, want %g", y.Year, y.BasicFP32, y.TotalFP32Eq, want[y.Year])
		}
	}
}

func superRecord(on, off estimator.Period) estimator.Record {
	return estimator.Record{ID: "s", Province: 110000, Period: on, Decommissioned: off,
		Class: estimator.ClassSuper, Units: 1, RpeakFP64: 1e17}
}

func TestSumSupercomputers(t *testing.T) {
	tests := []struct {
		name    string
		on, off estimator.Period
		end     estimator.Period
		counted bool
	}{
		{"NotWindowed", q(2010, 0), estimator.Period{}, q(2024, 0), true},
		{"YearOnlyFromFirstQuarter", q(2010, 0), estimator.Period{}, q(2010, 1), true},
		{"BeforeCommissioning", q(2010, 0), estimator.Period{}, q(2009, 0), false},
		{"QuarterCommissioned", q(2010, 3), estimator.Period{}, q(2010, 3), true},
		{"QuarterBefore", q(2010, 3), estimator.Period{}, q(2010, 2), false},
		{"BeforeDecommissioning", q(2010, 0), q(2022, 3), q(2022, 2), true},
		{"AtDecommissioning", q(2010, 0), q(2022, 3), q(2022, 3), false},
		{"AfterDecommissioning", q(2010, 0), q(2022, 3), q(2024, 0), false},
		{"YearOnlyOffBefore", q(2010, 0), q(2023, 0), q(2022, 4), true},
		{"YearOnlyOffFromFirstQuarter", q(2010, 0), q(2023, 0), q(2023, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := estimator.Sum(cellsOf(t, superRecord(tt.on, tt.off)), tt.end, estimator.DefaultFactors())
			wantFP64, wantSystems := 0.0, int64(0)
			if tt.counted {
				wantFP64, wantSystems = 0.1, 1 // 1e17 FLOP/s
			}
			if !approx(got.SuperFP64, wantFP64) || got.SuperSystems != wantSystems {
				t.Errorf("SuperFP64 = %g, SuperSystems = %d; want %g, %d", got.SuperFP64, got.SuperSystems, wantFP64, wantSystems)
			}
			if !approx(got.SuperFP32Eq, 2*wantFP64) {
				t.Errorf("SuperFP32Eq = %g, want %g", got.SuperFP32Eq, 2*wantFP64)
			}
		})
	}
}

func TestPeriodBefore(t *testing.T) {
	tests := []struct {
		name string
		a, b estimator.Period
		want bool
	}{
		{"QuarterBeforeQuarter", q(2020, 1), q(2020, 2), true},
		{"SameQuarter", q(2020, 2), q(2020, 2), false},
		{"YearIsItsFirstQuarter", q(2020, 0), q(2020, 1), false},
		{"YearBeforeSecondQuarter", q(2020, 0), q(2020, 2), true},
		{"QuarterAfterYear", q(2020, 3), q(2020, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Before(tt.b); got != tt.want {
				t.Errorf("%s.Before(%s) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
