package estimator

import "fmt"

// MinYear is the earliest year a record may carry.
const MinYear = 1990

// WindowYears is the length of the compute-scale window (METHOD.md section 3).
const WindowYears = 6

// Period is a year (Quarter 0) or one quarter of a year (Quarter 1-4).
type Period struct {
	Year    int
	Quarter int
}

func (p Period) String() string {
	if p.Quarter == 0 {
		return fmt.Sprintf("%d", p.Year)
	}
	return fmt.Sprintf("%dQ%d", p.Year, p.Quarter)
}

// IsZero reports whether p is unset.
func (p Period) IsZero() bool { return p == Period{} }

// Validate checks p against 1990..maxYear and quarter 0-4, naming fields under
// prefix (e.g. "period.").
func (p Period) Validate(prefix string, maxYear int) []FieldViolation {
	var vs []FieldViolation
	if p.Year < MinYear || p.Year > maxYear {
		vs = append(vs, FieldViolation{prefix + "year", fmt.Sprintf("year %d is outside %d..%d", p.Year, MinYear, maxYear)})
	}
	if p.Quarter < 0 || p.Quarter > 4 {
		vs = append(vs, FieldViolation{prefix + "quarter", fmt.Sprintf("quarter %d is not 0 (whole year) or 1-4", p.Quarter)})
	}
	return vs
}

// quarterIndex numbers quarters consecutively: year*4 + quarter-1. A whole
// year stands for its last quarter, since "as of 2024" means the end of 2024Q4.
func (p Period) quarterIndex() int {
	q := p.Quarter
	if q == 0 {
		q = 4
	}
	return p.Year*4 + q - 1
}

func periodOfIndex(i int) Period { return Period{Year: i / 4, Quarter: i%4 + 1} }

// Before reports whether p starts before o, comparing whole years as their
// first quarter.
func (p Period) Before(o Period) bool { return p.startIndex() < o.startIndex() }

func (p Period) startIndex() int {
	if p.Quarter == 0 {
		return p.Year * 4
	}
	return p.quarterIndex()
}

// Window is an inclusive run of quarters.
type Window struct {
	Start, End Period // both quarter-resolved
}

// WindowEnding returns the six-year window (24 quarters) that ends at end;
// a whole year ends at its fourth quarter.
func WindowEnding(end Period) Window {
	e := end.quarterIndex()
	return Window{Start: periodOfIndex(e - WindowYears*4 + 1), End: periodOfIndex(e)}
}

// QuartersOfYear is how many of year's quarters lie inside w (0-4).
func (w Window) QuartersOfYear(year int) int {
	lo, hi := max(year*4, w.Start.quarterIndex()), min(year*4+3, w.End.quarterIndex())
	if hi < lo {
		return 0
	}
	return hi - lo + 1
}

// weight is the share of p inside w, in quarters: a quarter counts 4 if it
// is inside; a whole year counts once per quarter inside (so the result, over
// 4, is the share of the year's units in the window).
func (w Window) weight(p Period) int64 {
	if p.Quarter == 0 {
		return int64(w.QuartersOfYear(p.Year))
	}
	if i := p.quarterIndex(); i >= w.Start.quarterIndex() && i <= w.End.quarterIndex() {
		return 4
	}
	return 0
}

// Years lists the calendar years that w touches, oldest first.
func (w Window) Years() []int {
	var ys []int
	for y := w.Start.Year; y <= w.End.Year; y++ {
		ys = append(ys, y)
	}
	return ys
}
