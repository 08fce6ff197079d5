package estimator

import (
	"fmt"
	"math"
	"regexp"
)

// ChipKind is the kind of a processor chip.
type ChipKind uint8

// The chip kinds. Values are stored; never renumber.
const (
	KindUnspecified ChipKind = iota
	KindCPU
	KindGPU
	KindNPU // NPU or other AI ASIC
	KindFPGA
)

// IsAccelerator reports whether chips of kind k count as AI compute.
func (k ChipKind) IsAccelerator() bool { return k == KindGPU || k == KindNPU || k == KindFPGA }

func (k ChipKind) String() string {
	switch k {
	case KindCPU:
		return "CPU"
	case KindGPU:
		return "GPU"
	case KindNPU:
		return "NPU"
	case KindFPGA:
		return "FPGA"
	}
	return "UNSPECIFIED"
}

// Precision is a numeric format that compute is counted at.
type Precision uint8

// The precisions. Values are stored; never renumber.
const (
	PrecisionUnspecified Precision = iota
	FP64
	FP32
	FP16
	BF16
	FP8
	INT8
	numPrecisions
)

func (p Precision) String() string {
	return [...]string{"UNSPECIFIED", "FP64", "FP32", "FP16", "BF16", "FP8", "INT8"}[min(int(p), int(numPrecisions)-1)]
}

// Rate is a chip's dense throughput at one precision: either per core per
// cycle (for CPUs, times cores and clock) or a stated peak (accelerator data
// sheets, TOP500 Rpeak). Exactly one of the two is positive.
type Rate struct {
	Precision     Precision
	FlopsPerCycle float64
	PeakFLOPS     float64
}

// ChipSpec describes a chip well enough to compute its peak at each precision.
type ChipSpec struct {
	ID      string
	Vendor  string
	Model   string
	Kind    ChipKind
	Cores   uint32
	ClockHz uint64
	Rates   []Rate
	Source  string
}

// FLOPS returns the chip's dense peak at p in FLOP/s, 0 where it states none:
// cores × clock × FLOPs per cycle per core (blue book footnote 12), or the
// stated peak.
func (c ChipSpec) FLOPS(p Precision) float64 {
	for _, r := range c.Rates {
		if r.Precision != p {
			continue
		}
		if r.PeakFLOPS > 0 {
			return r.PeakFLOPS
		}
		return float64(c.Cores) * float64(c.ClockHz) * r.FlopsPerCycle
	}
	return 0
}

var chipIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// maxChipFLOPS bounds a single chip's stated peak (10^18 FLOP/s, a thousand
// times today's largest accelerator) so that typos cannot overflow totals.
const maxChipFLOPS = 1e18

// Validate checks c, naming fields under prefix. A catalog spec (needID)
// must carry an id and a source; an inline one need not.
func (c ChipSpec) Validate(prefix string, needID bool) []FieldViolation {
	var vs []FieldViolation
	bad := func(field, format string, args ...any) {
		vs = append(vs, FieldViolation{prefix + field, fmt.Sprintf(format, args...)})
	}
	if needID || c.ID != "" {
		if !chipIDPattern.MatchString(c.ID) {
			bad("id", "chip id %q must be 1-64 of a-z 0-9 . _ - starting with a letter or digit", c.ID)
		}
	}
	if needID && c.Source == "" {
		bad("source", "a catalog spec must name its source")
	}
	if len(c.Vendor) > 128 || len(c.Model) > 128 || len(c.Source) > 512 {
		bad("model", "vendor and model are at most 128 bytes, source 512")
	}
	if c.Kind < KindCPU || c.Kind > KindFPGA {
		bad("kind", "kind must be CPU, GPU, NPU or FPGA")
	}
	if len(c.Rates) == 0 {
		bad("rates", "at least one precision rate is required")
	}
	seen := map[Precision]bool{}
	perCycle := false
	for i, r := range c.Rates {
		f := fmt.Sprintf("rates[%d].", i)
		switch {
		case r.Precision <= PrecisionUnspecified || r.Precision >= numPrecisions:
			bad(f+"precision", "unknown precision %d", r.Precision)
		case seen[r.Precision]:
			bad(f+"precision", "precision %s is given twice", r.Precision)
		}
		seen[r.Precision] = true
		switch {
		case !finitePositive(r.FlopsPerCycle) && !finitePositive(r.PeakFLOPS):
			bad(f+"rate", "give a positive, finite flops_per_cycle or peak_flops")
		case r.FlopsPerCycle != 0 && r.PeakFLOPS != 0:
			bad(f+"rate", "give flops_per_cycle or peak_flops, not both")
		case r.PeakFLOPS > maxChipFLOPS:
			bad(f+"peak_flops", "%g FLOP/s is above the 1e18 limit for one chip", r.PeakFLOPS)
		case r.FlopsPerCycle > 1e6:
			bad(f+"flops_per_cycle", "%g FLOPs per cycle per core is implausible (limit 1e6)", r.FlopsPerCycle)
		}
		if r.FlopsPerCycle != 0 {
			perCycle = true
		}
	}
	if perCycle {
		if c.Cores == 0 || c.Cores > 1<<20 {
			bad("cores", "cores must be 1..1048576 when a rate is given per cycle")
		}
		if c.ClockHz < 1e6 || c.ClockHz > 1e11 {
			bad("clock_hz", "clock %d Hz is outside 1 MHz..100 GHz", c.ClockHz)
		}
	}
	return vs
}

func finitePositive(f float64) bool { return f > 0 && !math.IsInf(f, 0) && !math.IsNaN(f) }
