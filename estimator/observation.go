package estimator

import (
	"fmt"
	"math"
)

// Observation is one statistics value: an observed indicator (not derived
// from shipments) of one province in one year. Observations are keyed by
// (Province, Year, Indicator); Actor is the caller that sent it.
type Observation struct {
	Province  uint32
	Year      int
	Indicator string
	Value     float64
	Unit      string
	Source    string
	Actor     string
}

// MaxObservationValue bounds a value (10^15: far above any provincial
// statistic in its unit) so that a typo cannot swamp a year's bounds.
const MaxObservationValue = 1e15

// Validate checks o, naming fields relative to the observation.
func (o *Observation) Validate(maxYear int) []FieldViolation {
	var vs []FieldViolation
	bad := func(field, format string, args ...any) {
		vs = append(vs, FieldViolation{field, fmt.Sprintf(format, args...)})
	}
	if _, ok := ProvinceByCode(o.Province); !ok {
		bad("province", "unknown province")
	}
	if o.Year < MinYear || o.Year > maxYear {
		bad("year", "year %d is outside %d..%d", o.Year, MinYear, maxYear)
	}
	ind, ok := LookupIndicator(o.Indicator)
	switch {
	case !ok:
		bad("indicator", "unknown indicator %q", o.Indicator)
	case ind.Derived:
		bad("indicator", "%s is derived from shipments and cannot be observed", o.Indicator)
	case o.Unit != ind.Unit:
		bad("unit", "%s is measured in %q, not %q", o.Indicator, ind.Unit, o.Unit)
	}
	switch {
	case math.IsNaN(o.Value) || math.IsInf(o.Value, 0):
		bad("value", "value must be finite")
	case o.Value < 0:
		bad("value", "value %g is negative", o.Value)
	case o.Value > MaxObservationValue:
		bad("value", "value %g is above %g", o.Value, MaxObservationValue)
	}
	if len(o.Source) > MaxNoteBytes {
		bad("source", "source is longer than %d bytes", MaxNoteBytes)
	}
	return vs
}

// InIndex reports whether the observation feeds the index (rather than only
// the relationship analysis).
func (o *Observation) InIndex() bool { return DimensionOf(o.Indicator) != "" }
