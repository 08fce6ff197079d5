package catalog

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// TestChips checks every row of the embedded chips.csv. Note what is NOT
// required: FP16 >= FP32 >= FP64. Data sheets break that order on purpose
// (an H800 has FP64 1 TFLOPS but FP32 67; a T4 publishes no FP64 at all).
func TestChips(t *testing.T) {
	chips, err := parseChips(bytes.NewReader(chipsCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(chips) < 40 {
		t.Errorf("%d chips, want at least 40", len(chips))
	}
	ids := map[string]bool{}
	for _, c := range chips {
		t.Run(c.ID, func(t *testing.T) {
			if ids[c.ID] {
				t.Errorf("id %q is not unique", c.ID)
			}
			ids[c.ID] = true
			if vs := c.Validate("", true); len(vs) > 0 {
				t.Errorf("Validate: %v", vs)
			}
			if c.Source == "" {
				t.Error("no source")
			}
			switch {
			case c.Kind.IsAccelerator() && !(c.FLOPS(estimator.FP16) > 0):
				t.Error("accelerator has no FP16 peak")
			case c.Kind == estimator.KindCPU && !(c.FLOPS(estimator.FP32) > 0):
				t.Error("CPU has no FP32 rate")
			}
			for _, r := range c.Rates {
				if c.Kind == estimator.KindCPU && r.FlopsPerCycle == 0 {
					t.Errorf("CPU rate %s is not per cycle", r.Precision)
				}
				if c.Kind != estimator.KindCPU && r.PeakFLOPS == 0 {
					t.Errorf("accelerator rate %s is not a stated peak", r.Precision)
				}
			}
		})
	}
}

// TestChipFLOPS pins hand-computed peaks, so that a unit slip in the file
// (Hz for GHz, TFLOPS for FLOPS) shows up.
func TestChipFLOPS(t *testing.T) {
	for _, tc := range []struct {
		id   string
		p    estimator.Precision
		want float64 // FLOP/s
	}{
		{"intel-xeon-platinum-8480p", estimator.FP32, 56 * 2.0e9 * 64}, // 7.168 TFLOPS
		{"intel-xeon-platinum-8480p", estimator.FP64, 56 * 2.0e9 * 32}, // 3.584 TFLOPS
		{"intel-xeon-gold-5118", estimator.FP32, 12 * 2.3e9 * 32},      // 0.883 TFLOPS
		{"amd-epyc-9654", estimator.FP32, 96 * 2.4e9 * 32},             // 7.373 TFLOPS
		{"huawei-kunpeng-920-6426", estimator.FP32, 64 * 2.6e9 * 16},   // 2.662 TFLOPS
		{"phytium-ft-2000plus-64", estimator.FP64, 563.2e9},            // vendor's peak
		{"nvidia-h800-sxm5", estimator.FP16, 989.4e12},
		{"nvidia-h800-sxm5", estimator.FP64, 1e12},
		{"nvidia-a100-sxm4-80gb", estimator.FP16, 312e12},
		{"nvidia-t4", estimator.FP64, 0}, // not published
		{"huawei-ascend-910b", estimator.FP16, 320e12},
	} {
		c, ok := Chip(tc.id)
		if !ok {
			t.Errorf("Chip(%q) not found", tc.id)
			continue
		}
		if got := c.FLOPS(tc.p); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("%s %s = %g, want %g", tc.id, tc.p, got, tc.want)
		}
	}
}

func TestChipReturnsCopy(t *testing.T) {
	c, _ := Chip("nvidia-t4")
	c.Rates[0].PeakFLOPS = 1
	Chips()[0].Rates[0].FlopsPerCycle = 1
	if again, _ := Chip("nvidia-t4"); again.Rates[0].PeakFLOPS == 1 {
		t.Error("modifying Chip's result changed the catalog")
	}
	if Chips()[0].Rates[0].FlopsPerCycle == 1 {
		t.Error("modifying Chips' result changed the catalog")
	}
	if _, ok := Chip("no-such-chip"); ok {
		t.Error("Chip found an unknown id")
	}
}

func TestSupercomputers(t *testing.T) {
	systems := Supercomputers()
	if len(systems) < 6 {
		t.Fatalf("%d systems, want at least 6", len(systems))
	}
	byID := map[string]Supercomputer{}
	for _, s := range systems {
		if _, dup := byID[s.ID]; dup {
			t.Errorf("id %q is not unique", s.ID)
		}
		byID[s.ID] = s
		if s.Source == "" || s.Site == "" {
			t.Errorf("%s: missing source or site", s.ID)
		}
	}
	for _, tc := range []struct {
		id       string
		province uint32
		rpeak    float64
		on       estimator.Period
	}{
		{"sunway-taihulight", 320000, 125.4359e15, estimator.Period{Year: 2016, Quarter: 2}},
		{"tianhe-2a", 440000, 100.6787e15, estimator.Period{Year: 2018}},
		{"tianhe-1a", 120000, 4.701e15, estimator.Period{Year: 2010, Quarter: 4}},
	} {
		s, ok := byID[tc.id]
		if !ok {
			t.Errorf("%s missing", tc.id)
			continue
		}
		if s.Province != tc.province || math.Abs(s.RpeakFP64-tc.rpeak) > 1e6 || s.Commissioned != tc.on {
			t.Errorf("%s = %+v, want province %d, Rpeak %g, commissioned %v", tc.id, s, tc.province, tc.rpeak, tc.on)
		}
	}
	if s := byID["tianhe-2"]; s.Decommissioned != (estimator.Period{Year: 2018}) {
		t.Errorf("tianhe-2 decommissioned %v, want 2018 (replaced by Tianhe-2A)", s.Decommissioned)
	}
}

const chipHeader = "id,vendor,model,kind,cores,clock_hz,basis,fp64,fp32,fp16,bf16,fp8,int8,source\n"

// TestParseChipsErrors feeds bad files: the error must name line and column.
func TestParseChipsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, csv string
		line, col int
		field     string
	}{
		{"BadNumber", chipHeader + "# a comment\nx,V,M,GPU,,,peak,1,2,abc,,,,src\n", 3, 22, "fp16"},
		{"BadKind", chipHeader + "x,V,M,TPU,,,peak,1,2,3,,,,src\n", 2, 7, "kind"},
		{"BadBasis", chipHeader + "x,V,M,GPU,,,both,1,2,3,,,,src\n", 2, 13, "basis"},
		{"BadCores", chipHeader + "x,V,M,CPU,-4,2000000000,cycle,8,16,,,,,src\n", 2, 11, "cores"},
		{"NoSource", chipHeader + "x,V,M,GPU,,,peak,1,2,3,,,,\n", 2, 27, "source"},
		{"CycleWithoutClock", chipHeader + "x,V,M,CPU,8,,cycle,8,16,,,,,src\n", 2, 13, "clock_hz"},
		{"NaNRate", chipHeader + "x,V,M,GPU,,,peak,NaN,2,3,,,,src\n", 2, 18, "fp64"},
		{"DuplicateID", chipHeader + "x,V,M,GPU,,,peak,,,3,,,,s\nx,V,M,GPU,,,peak,,,3,,,,s\n", 3, 1, "id"},
		{"WrongFieldCount", chipHeader + "x,V,M,GPU\n", 2, 1, ""},
		{"BadHeader", "id,vendor\n", 1, 1, ""},
		{"Empty", "", 1, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseChips(strings.NewReader(tc.csv))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line != tc.line || pe.Column != tc.col || pe.Field != tc.field {
				t.Errorf("error at line %d column %d (%q), want line %d column %d (%q): %v",
					pe.Line, pe.Column, pe.Field, tc.line, tc.col, tc.field, err)
			}
			if !strings.Contains(err.Error(), "line ") || !strings.Contains(err.Error(), "column ") {
				t.Errorf("message %q does not name line and column", err)
			}
		})
	}
}

func TestParseSupercomputersErrors(t *testing.T) {
	const header = "id,name,site,province,commissioned,decommissioned,rpeak_tflops,source\n"
	for _, tc := range []struct {
		name, csv string
		field     string
	}{
		{"BadProvince", header + "s,S,site,999999,2016Q2,,1,src\n", "province"},
		{"BadPeriod", header + "s,S,site,320000,2016Q5,,1,src\n", "commissioned"},
		{"DecommissionedFirst", header + "s,S,site,320000,2016,2015,1,src\n", "decommissioned"},
		{"BadRpeak", header + "s,S,site,320000,2016,,-1,src\n", "rpeak_tflops"},
		{"NoSource", header + "s,S,site,320000,2016,,1,\n", "source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSupercomputers(strings.NewReader(tc.csv))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != 2 || pe.Field != tc.field {
				t.Errorf("error %v, want a ParseError on line 2 in column %s", err, tc.field)
			}
		})
	}
}
