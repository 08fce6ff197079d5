package estimator_test

import (
	"math"
	"testing"

	"github.com/computescale/computescale/estimator"
)

func TestChipSpecFLOPS(t *testing.T) {
	tests := []struct {
		name string
		spec estimator.ChipSpec
		p    estimator.Precision
		want float64
	}{
		{"PerCycle", xeon8480, estimator.FP32, 7.168e12}, // 56 × 2e9 × 64
		{"Peak", h100, estimator.FP16, 989e12},
		{"NoRate", h100, estimator.FP64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.FLOPS(tt.p); got != tt.want {
				t.Errorf("FLOPS(%s) = %g, want %g", tt.p, got, tt.want)
			}
		})
	}
}

func TestChipSpecValidate(t *testing.T) {
	catalog := xeon8480
	catalog.ID, catalog.Source = "xeon-8480p", "Intel ARK"
	peak := func(p float64) func(*estimator.ChipSpec) {
		return func(c *estimator.ChipSpec) { c.Rates = []estimator.Rate{{Precision: estimator.FP32, PeakFLOPS: p}} }
	}
	tests := []struct {
		name   string
		edit   func(c *estimator.ChipSpec)
		needID bool
		field  string
	}{
		{"OKCatalog", func(c *estimator.ChipSpec) {}, true, ""},
		{"OKInlineWithoutID", func(c *estimator.ChipSpec) { c.ID, c.Source = "", "" }, false, ""},
		{"OKPeak", peak(1e12), true, ""},
		{"ErrMissingID", func(c *estimator.ChipSpec) { c.ID = "" }, true, "id"},
		{"ErrBadID", func(c *estimator.ChipSpec) { c.ID = "Xeon 8480+" }, false, "id"},
		{"ErrMissingSource", func(c *estimator.ChipSpec) { c.Source = "" }, true, "source"},
		{"ErrKind", func(c *estimator.ChipSpec) { c.Kind = estimator.KindUnspecified }, true, "kind"},
		{"ErrNoRates", func(c *estimator.ChipSpec) { c.Rates = nil }, true, "rates"},
		{"ErrUnknownPrecision", func(c *estimator.ChipSpec) { c.Rates[0].Precision = 42 }, true, "rates[0].precision"},
		{"ErrDuplicatePrecision", func(c *estimator.ChipSpec) { c.Rates = append(c.Rates, c.Rates[0]) }, true, "rates[1].precision"},
		{"ErrNaNPeak", peak(math.NaN()), true, "rates[0].rate"},
		{"ErrInfPeak", peak(math.Inf(1)), true, "rates[0].rate"},
		{"ErrNegativePeak", peak(-1e12), true, "rates[0].rate"},
		{"ErrZeroPeak", peak(0), true, "rates[0].rate"},
		{"ErrPeakAndPerCycle", func(c *estimator.ChipSpec) { c.Rates[0].PeakFLOPS = 1e12 }, true, "rates[0].rate"},
		{"ErrPeakAboveLimit", peak(2e18), true, "rates[0].peak_flops"},
		{"ErrFlopsPerCycle", func(c *estimator.ChipSpec) { c.Rates[0].FlopsPerCycle = 2e6 }, true, "rates[0].flops_per_cycle"},
		{"ErrCoresZero", func(c *estimator.ChipSpec) { c.Cores = 0 }, true, "cores"},
		{"ErrClockZero", func(c *estimator.ChipSpec) { c.ClockHz = 0 }, true, "clock_hz"},
		{"ErrClockTooHigh", func(c *estimator.ChipSpec) { c.ClockHz = 2e11 }, true, "clock_hz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := catalog
			c.Rates = append([]estimator.Rate(nil), c.Rates...)
			tt.edit(&c)
			vs := c.Validate("chip.", tt.needID)
			if tt.field == "" {
				if len(vs) > 0 {
					t.Fatalf("Validate = %v, want none", vs)
				}
				return
			}
			if !hasField(vs, "chip."+tt.field) {
				t.Errorf("Validate = %v, want a violation of %q", vs, "chip."+tt.field)
			}
		})
	}
}

func TestFactorsValidate(t *testing.T) {
	tests := []struct {
		name  string
		f     estimator.Factors
		field string
	}{
		{"OK", estimator.DefaultFactors(), ""},
		{"ErrFP16Zero", estimator.Factors{FP16: 0, FP64: 2}, "f.fp16"},
		{"ErrFP64NaN", estimator.Factors{FP16: 0.5, FP64: math.NaN()}, "f.fp64"},
		{"ErrFP64Large", estimator.Factors{FP16: 0.5, FP64: 101}, "f.fp64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := tt.f.Validate("f.")
			if tt.field == "" && len(vs) > 0 || tt.field != "" && !hasField(vs, tt.field) {
				t.Errorf("Validate = %v, want %q", vs, tt.field)
			}
		})
	}
}
