package estimator

import (
	"fmt"
	"math"
	"math/bits"
)

// ServerClass says what a shipment record describes.
type ServerClass uint8

// The server classes. Values are stored; never renumber.
const (
	ClassUnspecified ServerClass = iota
	ClassGeneral
	ClassAI
	ClassSuper
)

func (c ServerClass) String() string {
	return [...]string{"UNSPECIFIED", "GENERAL_SERVER", "AI_SERVER", "SUPERCOMPUTER"}[min(int(c), 3)]
}

// Limits on one record, chosen so that no valid record can overflow an int64
// aggregate of MFLOPS: 10^9 units × 10^6 chips × 10^12 MFLOPS would, so the
// product is checked as well (see unitMFLOPS and Contributions).
const (
	MaxUnits         = 1_000_000_000
	MaxChipsPerUnit  = 1_000_000
	MaxRecordIDBytes = 128
	MaxNoteBytes     = 512
	MaxComponents    = 64
)

// Component is one kind of chip in a unit: a catalog id or an inline spec.
type Component struct {
	Count  uint32
	ChipID string
	Inline *ChipSpec
}

// Record is one vendor's shipment of Units identical units to a province in a
// period. For supercomputers Period is the commissioning period and
// Decommissioned, when set, the period it left service.
type Record struct {
	ID             string
	Province       uint32
	Period         Period
	Class          ServerClass
	Units          int64
	Components     []Component
	RpeakFP64      float64 // supercomputers: FLOP/s, instead of components
	Decommissioned Period
	Note           string
}

// Validate checks everything about r that needs no chip catalog. Field paths
// are relative to the record.
func (r *Record) Validate(maxYear int) []FieldViolation {
	var vs []FieldViolation
	bad := func(field, format string, args ...any) {
		vs = append(vs, FieldViolation{field, fmt.Sprintf(format, args...)})
	}
	if r.ID == "" || len(r.ID) > MaxRecordIDBytes || !printableASCII(r.ID) {
		bad("record_id", "record_id must be 1-%d printable ASCII characters", MaxRecordIDBytes)
	}
	if _, ok := ProvinceByCode(r.Province); !ok {
		bad("province", "unknown province")
	}
	vs = append(vs, r.Period.Validate("period.", maxYear)...)
	if r.Class < ClassGeneral || r.Class > ClassSuper {
		bad("server_class", "server_class must be GENERAL_SERVER, AI_SERVER or SUPERCOMPUTER")
	}
	if r.Units < 1 || r.Units > MaxUnits {
		bad("units", "units %d is outside 1..%d", r.Units, MaxUnits)
	}
	if len(r.Note) > MaxNoteBytes {
		bad("note", "note is longer than %d bytes", MaxNoteBytes)
	}
	if r.Class != ClassSuper {
		if r.RpeakFP64 != 0 {
			bad("rpeak_fp64_flops", "only a SUPERCOMPUTER record may state Rpeak")
		}
		if !r.Decommissioned.IsZero() {
			bad("decommissioned", "only a SUPERCOMPUTER record may be decommissioned")
		}
	}
	hasRpeak := r.RpeakFP64 != 0
	switch {
	case hasRpeak && !finitePositive(r.RpeakFP64):
		bad("rpeak_fp64_flops", "Rpeak must be positive and finite")
	case hasRpeak && r.RpeakFP64 > maxChipFLOPS*1e3:
		bad("rpeak_fp64_flops", "Rpeak %g FLOP/s is above the 1e21 limit", r.RpeakFP64)
	case hasRpeak && len(r.Components) > 0:
		bad("components", "give components or rpeak_fp64_flops, not both")
	case !hasRpeak && len(r.Components) == 0:
		bad("components", "a record needs at least one component")
	}
	if len(r.Components) > MaxComponents {
		bad("components", "at most %d components per unit", MaxComponents)
	}
	for i, c := range r.Components {
		f := componentPath(i) // not formatted per call: every record of every batch comes here
		if c.Count < 1 || c.Count > MaxChipsPerUnit {
			bad(f+"count", "count %d is outside 1..%d", c.Count, MaxChipsPerUnit)
		}
		switch {
		case c.Inline != nil && c.ChipID != "":
			bad(f+"chip", "give chip_id or inline_spec, not both")
		case c.Inline != nil:
			vs = append(vs, c.Inline.Validate(f+"inline_spec.", false)...)
		case c.ChipID == "":
			bad(f+"chip", "give chip_id or inline_spec")
		}
	}
	if r.Class == ClassSuper && !r.Decommissioned.IsZero() {
		if d := r.Decommissioned.Validate("decommissioned.", maxYear); len(d) > 0 {
			vs = append(vs, d...)
		} else if !r.Period.Before(r.Decommissioned) {
			bad("decommissioned", "decommissioned %s is not after commissioning %s", r.Decommissioned, r.Period)
		}
	}
	return vs
}

// componentPaths are the common components[i]. prefixes, ready-made.
var componentPaths = func() [MaxComponents]string {
	var out [MaxComponents]string
	for i := range out {
		out[i] = fmt.Sprintf("components[%d].", i)
	}
	return out
}()

func componentPath(i int) string {
	if i < len(componentPaths) {
		return componentPaths[i]
	}
	return fmt.Sprintf("components[%d].", i)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ChipResolver finds a catalog spec by id.
type ChipResolver func(id string) (ChipSpec, bool)

// ChipIDs lists the catalog ids r refers to, without repeats.
func (r *Record) ChipIDs() []string {
	var ids []string
	for _, c := range r.Components {
		if c.ChipID != "" && !contains(ids, c.ChipID) {
			ids = append(ids, c.ChipID)
		}
	}
	return ids
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Contributions returns what r adds to the aggregates (METHOD.md sections 1-3):
//   - general servers: their CPUs' FP32 into SeriesBasic; other chips in a
//     general server are not compute the blue book counts, and are ignored;
//   - AI servers: their accelerators' FP16 into SeriesAI, their host CPUs'
//     FP32 into SeriesAIHost (reported, and added to basic only when the
//     factors say so);
//   - supercomputers: every chip's FP64 (or Rpeak) into SeriesSuperOn at
//     commissioning and, if decommissioned, SeriesSuperOff then. Their periods
//     are quarter-resolved: a year-only commissioning counts from the year's
//     first quarter, a year-only decommissioning removes it from that quarter.
//
// r must have passed Validate. Unknown chip ids and impossible totals come back
// as an EInvalid error whose field paths are relative to the record.
func (r *Record) Contributions(resolve ChipResolver) ([]Contribution, error) {
	var vs []FieldViolation
	// Indexed by Series; set marks the series a component touched (even at
	// zero), as a map would, without a map's allocation on the ingest path.
	var perUnit [SeriesSuperOff + 1]float64
	var set [SeriesSuperOff + 1]bool
	add := func(s Series, v float64) { perUnit[s] += v; set[s] = true }
	accelerators := 0
	for i, c := range r.Components {
		spec, ok := r.spec(c, resolve)
		if !ok {
			vs = append(vs, FieldViolation{fmt.Sprintf("components[%d].chip_id", i), fmt.Sprintf("unknown chip id %q", c.ChipID)})
			continue
		}
		n := float64(c.Count)
		switch {
		case r.Class == ClassSuper:
			add(SeriesSuperOn, n*spec.FLOPS(FP64))
		case r.Class == ClassAI && spec.Kind.IsAccelerator():
			accelerators++
			add(SeriesAI, n*spec.FLOPS(FP16))
		case r.Class == ClassAI && spec.Kind == KindCPU:
			add(SeriesAIHost, n*spec.FLOPS(FP32))
		case r.Class == ClassGeneral && spec.Kind == KindCPU:
			add(SeriesBasic, n*spec.FLOPS(FP32))
		}
	}
	if r.Class == ClassSuper && r.RpeakFP64 > 0 {
		perUnit[SeriesSuperOn], set[SeriesSuperOn] = r.RpeakFP64, true
	}
	if len(vs) == 0 && r.Class == ClassAI && accelerators == 0 {
		vs = append(vs, FieldViolation{"components", "an AI server needs at least one GPU, NPU or FPGA component"})
	}
	if err := Invalid("record refers to unknown chips", vs); err != nil {
		return nil, err
	}
	main := mainSeries(r.Class)
	if math.Round(perUnit[main]/1e6) < 1 {
		// Below 1 MFLOPS a unit would round to nothing yet still count its
		// units and the record: refuse it rather than store a phantom.
		return nil, Invalid("record has no compute", []FieldViolation{{"components", fmt.Sprintf("per-unit %s compute of a %s is below 1 MFLOPS (no component has a usable %s rate)", mainPrecision(r.Class), r.Class, mainPrecision(r.Class))}})
	}
	var out []Contribution
	for _, s := range []Series{SeriesBasic, SeriesAI, SeriesAIHost, SeriesSuperOn} {
		if !set[s] {
			continue
		}
		flops := perUnit[s]
		mf, ok := mulUnits(flops, r.Units)
		if !ok {
			return nil, Invalid("record overflows", []FieldViolation{{"units", "units × per-unit compute overflows the store's 64-bit MFLOPS total"}})
		}
		c := Contribution{Series: s, Period: r.Period, Amount: Amount{MFLOPS: mf}}
		if s == main {
			c.Units, c.Records = r.Units, 1
		}
		out = append(out, c)
	}
	if r.Class == ClassSuper {
		out[0].Period = startQuarter(r.Period)
		if !r.Decommissioned.IsZero() {
			off := out[0]
			off.Series, off.Period = SeriesSuperOff, startQuarter(r.Decommissioned)
			out = append(out, off)
		}
	}
	return out, nil
}

func (r *Record) spec(c Component, resolve ChipResolver) (ChipSpec, bool) {
	if c.Inline != nil {
		return *c.Inline, true
	}
	return resolve(c.ChipID)
}

// mainSeries is the series a class's units and records are counted in.
func mainSeries(c ServerClass) Series {
	switch c {
	case ClassAI:
		return SeriesAI
	case ClassSuper:
		return SeriesSuperOn
	}
	return SeriesBasic
}

func mainPrecision(c ServerClass) Precision {
	switch c {
	case ClassAI:
		return FP16
	case ClassSuper:
		return FP64
	}
	return FP32
}

func startQuarter(p Period) Period {
	if p.Quarter == 0 {
		p.Quarter = 1
	}
	return p
}

// mulUnits turns a per-unit rate in FLOP/s into the record's integer MFLOPS,
// rounding the per-unit figure once so that the result depends only on the
// record, never on the order of arithmetic elsewhere.
func mulUnits(flops float64, units int64) (int64, bool) {
	per := math.Round(flops / 1e6)
	if per < 0 || per >= 1<<62 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(per), uint64(units))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	return int64(lo), true
}
