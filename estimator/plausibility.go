package estimator

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// DefaultMaxGrowthFactor is the multiple of an indicator's largest stored
// value above which a new value is taken for a mistake (a unit slip, an
// extra digit, a forged figure) rather than growth: no provincial statistic
// in the blue book's tables grows tenfold past the largest province's value
// from one edition to the next.
const DefaultMaxGrowthFactor = 10

// Plausibility bounds observation values (issue 12): a statistics feed that
// is wrong by orders of magnitude would otherwise move every province's
// composite. It is part of the methodology, so it is versioned with the
// judgements it protects.
type Plausibility struct {
	// MaxGrowthFactor: a value above this multiple of the largest value
	// stored for its indicator (any province, any year) is refused. 0 means
	// DefaultMaxGrowthFactor.
	MaxGrowthFactor float64
	// Ranges are stated bounds for single indicators.
	Ranges map[string]Range
}

// Range bounds one indicator: an inclusive interval of accepted values
// (none when Min and Max are both 0, a range no statistic would state), and
// a growth factor of its own (0: the methodology's).
type Range struct {
	Min, Max     float64
	GrowthFactor float64
}

// stated reports whether r states an interval.
func (r Range) stated() bool { return r.Min != 0 || r.Max != 0 }

// validFactor reports whether f is a usable growth factor or 0 (unset).
func validFactor(f float64) bool { return f == 0 || (!math.IsNaN(f) && !math.IsInf(f, 0) && f >= 1) }

// GrowthFactor is the factor in force: MaxGrowthFactor, or the default.
func (p Plausibility) GrowthFactor() float64 {
	if p.MaxGrowthFactor == 0 {
		return DefaultMaxGrowthFactor
	}
	return p.MaxGrowthFactor
}

// Validate checks the bounds themselves, naming fields under
// "plausibility.".
func (p Plausibility) Validate() []FieldViolation {
	var vs []FieldViolation
	if !validFactor(p.MaxGrowthFactor) {
		vs = append(vs, FieldViolation{"plausibility.max_growth_factor", "must be finite and at least 1 (0 = the default 10)"})
	}
	for _, code := range slices.Sorted(maps.Keys(p.Ranges)) {
		r := p.Ranges[code]
		f := "plausibility.ranges[" + code + "]."
		if ind, ok := LookupIndicator(code); !ok || ind.Derived {
			vs = append(vs, FieldViolation{f + "indicator", fmt.Sprintf("%q is not an observed indicator", code)})
		}
		if math.IsNaN(r.Min) || math.IsNaN(r.Max) || !(r.Max >= r.Min) {
			vs = append(vs, FieldViolation{f + "max", "need min ≤ max"})
		}
		if !validFactor(r.GrowthFactor) {
			vs = append(vs, FieldViolation{f + "max_growth_factor", "must be finite and at least 1 (0 = the methodology's)"})
		}
	}
	return vs
}

// Check says why value is implausible for indicator code, or "" if it is
// not. largest is the largest value stored for the indicator and has
// whether there is one: the first values of an indicator only meet its
// range.
func (p Plausibility) Check(code string, value, largest float64, has bool) string {
	r := p.Ranges[code]
	if r.stated() && (value < r.Min || value > r.Max) {
		return fmt.Sprintf("%s %g is outside its stated range %g..%g; check the unit, or set replace and force", code, value, r.Min, r.Max)
	}
	f := p.GrowthFactor()
	if r.GrowthFactor != 0 {
		f = r.GrowthFactor
	}
	if has && largest > 0 && value > f*largest {
		return fmt.Sprintf("%s %g is more than %g times the largest stored value (%g); check the unit, or set replace and force", code, value, f, largest)
	}
	return ""
}
