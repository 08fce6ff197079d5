package estimator

import (
	"fmt"
	"math"
	"math/bits"
)

// Series is one stored aggregate stream per province and period.
type Series uint8

// The series. Values are stored in keys; never renumber.
const (
	SeriesBasic    Series = 1 // general servers' CPUs, FP32
	SeriesAI       Series = 2 // AI servers' accelerators, FP16
	SeriesAIHost   Series = 3 // AI servers' host CPUs, FP32
	SeriesSuperOn  Series = 4 // supercomputers commissioned, FP64
	SeriesSuperOff Series = 5 // supercomputers decommissioned, FP64
)

func (s Series) String() string {
	switch s {
	case SeriesBasic:
		return "basic"
	case SeriesAI:
		return "ai"
	case SeriesAIHost:
		return "ai_host"
	case SeriesSuperOn:
		return "super_on"
	case SeriesSuperOff:
		return "super_off"
	}
	return fmt.Sprintf("series(%d)", uint8(s))
}

// Amount is an exact aggregate: integer MFLOPS, units and records.
type Amount struct {
	MFLOPS  int64
	Units   int64
	Records int64
}

// Add returns a+b, or an error if any field would overflow.
func (a Amount) Add(b Amount) (Amount, error) {
	m, ok1 := addInt64(a.MFLOPS, b.MFLOPS)
	u, ok2 := addInt64(a.Units, b.Units)
	r, ok3 := addInt64(a.Records, b.Records)
	if !ok1 || !ok2 || !ok3 {
		return Amount{}, Errorf(EResourceExhausted, "aggregate would overflow 64 bits")
	}
	return Amount{m, u, r}, nil
}

// Sub returns a-b, or an error if any field would overflow. It subtracts
// directly rather than adding -b, since -math.MinInt64 overflows silently.
func (a Amount) Sub(b Amount) (Amount, error) {
	m, ok1 := subInt64(a.MFLOPS, b.MFLOPS)
	u, ok2 := subInt64(a.Units, b.Units)
	r, ok3 := subInt64(a.Records, b.Records)
	if !ok1 || !ok2 || !ok3 {
		return Amount{}, Errorf(EResourceExhausted, "aggregate would overflow 64 bits")
	}
	return Amount{m, u, r}, nil
}

// IsZero reports whether every field is zero, so that the cell can be deleted.
func (a Amount) IsZero() bool { return a == Amount{} }

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0) || b == 0
}

func subInt64(a, b int64) (int64, bool) {
	d := a - b
	return d, (d < a) == (b > 0) || b == 0
}

// Contribution is what one record adds to one series in one period.
type Contribution struct {
	Series Series
	Period Period
	Amount
}

// Cell is one stored aggregate: a series of one province in one period.
type Cell struct {
	Province uint32
	Series   Series
	Period   Period
	Amount
}

// Factors convert compute at each precision into FP32-equivalent compute
// (METHOD.md section 2), and say whether AI servers' host CPUs count as basic.
type Factors struct {
	FP16              float64
	FP64              float64
	IncludeAIHostCPUs bool
}

// DefaultFactors are METHOD.md's: FP16 × 0.5, FP64 × 2, host CPUs excluded.
func DefaultFactors() Factors { return Factors{FP16: 0.5, FP64: 2} }

// Validate checks that the factors are positive and finite.
func (f Factors) Validate(prefix string) []FieldViolation {
	var vs []FieldViolation
	if !finitePositive(f.FP16) || f.FP16 > 100 {
		vs = append(vs, FieldViolation{prefix + "fp16", "factor must be in (0, 100]"})
	}
	if !finitePositive(f.FP64) || f.FP64 > 100 {
		vs = append(vs, FieldViolation{prefix + "fp64", "factor must be in (0, 100]"})
	}
	return vs
}

// YearTotals is what one shipment year adds to a window, in EFlops.
type YearTotals struct {
	Year        int
	BasicFP32   float64
	AIFP16      float64
	TotalFP32Eq float64
}

// Totals is compute scale as of the end of a period, in EFlops.
type Totals struct {
	Period       Period
	Window       Window
	BasicFP32    float64 // includes AIHostFP32 when Factors.IncludeAIHostCPUs
	AIFP16       float64
	AIFP32Eq     float64
	AIHostFP32   float64
	SuperFP64    float64
	SuperFP32Eq  float64
	TotalFP32Eq  float64
	Years        []YearTotals
	Records      int64
	GeneralUnits float64
	AIUnits      float64
	SuperSystems int64
	Factors      Factors
}

// Sum computes totals as of end from aggregate cells of one province or many
// (METHOD.md section 3): shipments inside the six-year window ending at end,
// a year-only cell counted one quarter per quarter of it inside the window,
// plus supercomputers commissioned and not yet decommissioned by end.
// Sums are exact integers (in quarter-MFLOPS) until the final conversion.
func Sum(cells []Cell, end Period, f Factors) Totals {
	w := WindowEnding(end)
	t := Totals{Period: end, Window: w, Factors: f}
	var series [SeriesSuperOff + 1]int128
	var units [SeriesSuperOff + 1]int128
	// Per calendar year of the window (at most seven: six years ending
	// mid-year), indexed from its first year; an array, not a map, because
	// scoring a year sums every province.
	var years [8][SeriesAIHost + 1]int128
	endIdx := end.quarterIndex()
	for _, c := range cells {
		var weight int64
		switch c.Series {
		case SeriesSuperOn, SeriesSuperOff:
			if c.Period.quarterIndex() <= endIdx {
				weight = 4
			}
		case SeriesBasic, SeriesAI, SeriesAIHost:
			weight = w.weight(c.Period)
		default:
			continue
		}
		if weight == 0 {
			continue
		}
		series[c.Series].addMul(c.MFLOPS, weight)
		units[c.Series].addMul(c.Units, weight)
		if c.Series == SeriesSuperOff {
			t.Records -= c.Records
		} else {
			t.Records += c.Records
		}
		if i := c.Period.Year - w.Start.Year; c.Series <= SeriesAIHost && i >= 0 && i < len(years) {
			years[i][c.Series].addMul(c.MFLOPS, weight)
		}
	}
	t.AIHostFP32 = series[SeriesAIHost].eflops()
	t.BasicFP32 = series[SeriesBasic].eflops()
	if f.IncludeAIHostCPUs {
		t.BasicFP32 += t.AIHostFP32
	}
	t.AIFP16 = series[SeriesAI].eflops()
	t.AIFP32Eq = t.AIFP16 * f.FP16
	on, off := series[SeriesSuperOn], series[SeriesSuperOff]
	t.SuperFP64 = on.sub(off).eflops()
	t.SuperFP32Eq = t.SuperFP64 * f.FP64
	t.TotalFP32Eq = t.BasicFP32 + t.AIFP32Eq + t.SuperFP32Eq
	t.GeneralUnits = units[SeriesBasic].float() / 4
	t.AIUnits = units[SeriesAI].float() / 4
	t.SuperSystems = int64(units[SeriesSuperOn].sub(units[SeriesSuperOff]).float() / 4)
	for _, y := range w.Years() {
		yt := YearTotals{Year: y}
		if i := y - w.Start.Year; i >= 0 && i < len(years) {
			s := &years[i]
			yt.BasicFP32 = s[SeriesBasic].eflops()
			if f.IncludeAIHostCPUs {
				yt.BasicFP32 += s[SeriesAIHost].eflops()
			}
			yt.AIFP16 = s[SeriesAI].eflops()
		}
		yt.TotalFP32Eq = yt.BasicFP32 + yt.AIFP16*f.FP16
		t.Years = append(t.Years, yt)
	}
	return t
}

// int128 is a two's-complement 128-bit accumulator, so that sums of many
// int64 cells (times a quarter weight) can never overflow before conversion.
type int128 struct {
	hi int64
	lo uint64
}

func (a *int128) addMul(v, k int64) {
	hi, lo := bits.Mul64(uint64(abs64(v)), uint64(k))
	b := int128{int64(hi), lo}
	if v < 0 {
		b = b.neg()
	}
	*a = a.add(b)
}

func (a int128) add(b int128) int128 {
	lo, carry := bits.Add64(a.lo, b.lo, 0)
	return int128{a.hi + b.hi + int64(carry), lo}
}

func (a int128) neg() int128 {
	lo, borrow := bits.Sub64(0, a.lo, 0)
	return int128{-a.hi - int64(borrow), lo}
}

func (a int128) sub(b int128) int128 { return a.add(b.neg()) }

func (a int128) float() float64 {
	if a.hi < 0 {
		return -a.neg().float()
	}
	return float64(a.hi)*math.Exp2(64) + float64(a.lo)
}

// eflops converts quarter-weighted MFLOPS (×4) to EFlops: 10^18 / 10^6 = 10^12.
func (a int128) eflops() float64 { return a.float() / 4 / 1e12 }

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
