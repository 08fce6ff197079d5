package estimator_test

import (
	"testing"

	"github.com/computescale/computescale/estimator"
)

// TestPlausibilityCheck: hand-made cases of the bounds (issue 12).
func TestPlausibilityCheck(t *testing.T) {
	p := estimator.Plausibility{Ranges: map[string]estimator.Range{
		"env.open_data": {Min: 0, Max: 100},
		"tech.rnd":      {GrowthFactor: 2},
	}}
	for _, tc := range []struct {
		name           string
		code           string
		value, largest float64
		has            bool
		bad            bool
	}{
		{"OKFirstValue", "app.cases", 999999, 0, false, false},
		{"OKTenTimes", "app.cases", 1000, 100, true, false},
		{"ErrOverTenTimes", "app.cases", 1000.5, 100, true, true},
		{"OKNothingStoredAboveZero", "app.cases", 5, 0, true, false},
		{"ErrAboveRange", "env.open_data", 100.1, 0, false, true},
		{"ErrBelowRange", "env.open_data", -1, 0, false, true},
		{"OKInRangeAndGrowth", "env.open_data", 80, 60, true, false},
		{"ErrOwnFactor", "tech.rnd", 201, 100, true, true},
		{"OKOwnFactor", "tech.rnd", 200, 100, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			why := p.Check(tc.code, tc.value, tc.largest, tc.has)
			if (why != "") != tc.bad {
				t.Errorf("Check(%s, %g, largest %g) = %q, want refused: %v", tc.code, tc.value, tc.largest, why, tc.bad)
			}
		})
	}
	if got := (estimator.Plausibility{}).GrowthFactor(); got != estimator.DefaultMaxGrowthFactor {
		t.Errorf("default factor %g, want %d", got, estimator.DefaultMaxGrowthFactor)
	}
}
