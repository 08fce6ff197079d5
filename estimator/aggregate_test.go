package estimator_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// Chips used across the tests, with their arithmetic in the comments.
var (
	// Xeon Platinum 8480+: 56 cores × 2.0 GHz × 64 FP32 FLOPs/cycle
	// (2 AVX-512 FMA units × 16 lanes × 2) = 7.168 TFLOPS per socket.
	xeon8480 = estimator.ChipSpec{
		Kind: estimator.KindCPU, Cores: 56, ClockHz: 2_000_000_000,
		Rates: []estimator.Rate{{Precision: estimator.FP32, FlopsPerCycle: 64}},
	}
	// H100 SXM: 989 TFLOPS dense FP16 (Tensor Core, no sparsity).
	h100 = estimator.ChipSpec{
		Kind:  estimator.KindGPU,
		Rates: []estimator.Rate{{Precision: estimator.FP16, PeakFLOPS: 989e12}},
	}
)

func inline(count uint32, spec estimator.ChipSpec) estimator.Component {
	return estimator.Component{Count: count, Inline: &spec}
}

func noCatalog(string) (estimator.ChipSpec, bool) { return estimator.ChipSpec{}, false }

// cellsOf turns records into one cell per contribution (Sum need not merge).
func cellsOf(t *testing.T, rs ...estimator.Record) []estimator.Cell {
	t.Helper()
	var cells []estimator.Cell
	for _, r := range rs {
		cs, err := r.Contributions(noCatalog)
		if err != nil {
			t.Fatalf("record %q: %v", r.ID, err)
		}
		for _, c := range cs {
			cells = append(cells, estimator.Cell{Province: r.Province, Series: c.Series, Period: c.Period, Amount: c.Amount})
		}
	}
	return cells
}

func approx(got, want float64) bool {
	return got == want || math.Abs(got-want) <= 1e-12*math.Max(math.Abs(got), math.Abs(want))
}

var (
	dualXeon = estimator.Record{
		ID: "xeon", Province: 440000, Period: estimator.Period{Year: 2024, Quarter: 3},
		Class: estimator.ClassGeneral, Units: 1, Components: []estimator.Component{inline(2, xeon8480)},
	}
	hgxH100 = estimator.Record{
		ID: "hgx", Province: 110000, Period: estimator.Period{Year: 2024},
		Class: estimator.ClassAI, Units: 1, Components: []estimator.Component{inline(8, h100), inline(2, xeon8480)},
	}
	elCapitan = estimator.Record{
		ID: "el-capitan", Province: 440000, Period: estimator.Period{Year: 2024, Quarter: 4},
		Class: estimator.ClassSuper, Units: 1, RpeakFP64: 2.746e18,
	}
)

func TestSumFLOPS(t *testing.T) {
	withHost := estimator.DefaultFactors()
	withHost.IncludeAIHostCPUs = true
	end := estimator.Period{Year: 2025, Quarter: 2}
	tests := []struct {
		name    string
		records []estimator.Record
		f       estimator.Factors
		// EFlops
		basic, ai, aiEq, aiHost, super, superEq, total float64
	}{
		// 2 × 56 × 2.0e9 × 64 = 14.336e12 FLOP/s = 1.4336e-5 EFlops.
		{name: "DualXeon8480", records: []estimator.Record{dualXeon}, f: estimator.DefaultFactors(),
			basic: 1.4336e-5, total: 1.4336e-5},
		// 8 × 989e12 = 7.912e15 FP16 = 0.007912 EFlops; × 0.5 = 0.003956.
		// The two host CPUs (1.4336e-5) are reported but not counted.
		{name: "HGXH100", records: []estimator.Record{hgxH100}, f: estimator.DefaultFactors(),
			ai: 0.007912, aiEq: 0.003956, aiHost: 1.4336e-5, total: 0.003956},
		{name: "HGXH100WithHostCPUs", records: []estimator.Record{hgxH100}, f: withHost,
			basic: 1.4336e-5, ai: 0.007912, aiEq: 0.003956, aiHost: 1.4336e-5, total: 0.003956 + 1.4336e-5},
		// Rpeak 2.746e18 FP64 = 2.746 EFlops; × 2 = 5.492.
		{name: "ElCapitan", records: []estimator.Record{elCapitan}, f: estimator.DefaultFactors(),
			super: 2.746, superEq: 5.492, total: 5.492},
		{name: "All", records: []estimator.Record{dualXeon, hgxH100, elCapitan}, f: estimator.DefaultFactors(),
			basic: 1.4336e-5, ai: 0.007912, aiEq: 0.003956, aiHost: 1.4336e-5, super: 2.746, superEq: 5.492,
			total: 1.4336e-5 + 0.003956 + 5.492},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := estimator.Sum(cellsOf(t, tt.records...), end, tt.f)
			for _, c := range []struct {
				field     string
				got, want float64
			}{
				{"BasicFP32", got.BasicFP32, tt.basic},
				{"AIFP16", got.AIFP16, tt.ai},
				{"AIFP32Eq", got.AIFP32Eq, tt.aiEq},
				{"AIHostFP32", got.AIHostFP32, tt.aiHost},
				{"SuperFP64", got.SuperFP64, tt.super},
				{"SuperFP32Eq", got.SuperFP32Eq, tt.superEq},
				{"TotalFP32Eq", got.TotalFP32Eq, tt.total},
			} {
				if !approx(c.got, c.want) {
					t.Errorf("%s = %.10g EFlops, want %.10g", c.field, c.got, c.want)
				}
			}
			if got.Records != int64(len(tt.records)) {
				t.Errorf("Records = %d, want %d", got.Records, len(tt.records))
			}
		})
	}
}

func TestRecordContributionsPerUnit(t *testing.T) {
	// MFLOPS per record: 14.336e12 / 1e6 = 14_336_000 for the dual Xeon;
	// 7.912e15 / 1e6 = 7_912_000_000 for the H100 board.
	tests := []struct {
		name   string
		r      estimator.Record
		series estimator.Series
		mflops int64
	}{
		{"DualXeon", dualXeon, estimator.SeriesBasic, 14_336_000},
		{"HGXAccelerators", hgxH100, estimator.SeriesAI, 7_912_000_000},
		{"HGXHost", hgxH100, estimator.SeriesAIHost, 14_336_000},
		{"ElCapitan", elCapitan, estimator.SeriesSuperOn, 2_746_000_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := tt.r.Contributions(noCatalog)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cs {
				if c.Series == tt.series {
					if c.MFLOPS != tt.mflops {
						t.Errorf("MFLOPS = %d, want %d", c.MFLOPS, tt.mflops)
					}
					return
				}
			}
			t.Errorf("no %s contribution in %+v", tt.series, cs)
		})
	}
}

func TestRecordContributionsCatalog(t *testing.T) {
	r := dualXeon
	r.Components = []estimator.Component{{Count: 2, ChipID: "xeon-8480p"}}
	resolve := func(id string) (estimator.ChipSpec, bool) { return xeon8480, id == "xeon-8480p" }
	cs, err := r.Contributions(resolve)
	if err != nil {
		t.Fatal(err)
	}
	want := []estimator.Contribution{{Series: estimator.SeriesBasic, Period: r.Period,
		Amount: estimator.Amount{MFLOPS: 14_336_000, Units: 1, Records: 1}}}
	if !reflect.DeepEqual(cs, want) {
		t.Errorf("Contributions = %+v, want %+v", cs, want)
	}
}

func TestAmountOverflow(t *testing.T) {
	tests := []struct {
		name    string
		a, b    estimator.Amount
		sub     bool
		want    estimator.Amount
		wantErr bool
	}{
		{name: "OK", a: estimator.Amount{MFLOPS: 5, Units: 2, Records: 1}, b: estimator.Amount{MFLOPS: 3, Units: 1, Records: 1},
			want: estimator.Amount{MFLOPS: 8, Units: 3, Records: 2}},
		{name: "SubOK", a: estimator.Amount{MFLOPS: 5, Units: 2, Records: 1}, b: estimator.Amount{MFLOPS: 3, Units: 1, Records: 1}, sub: true,
			want: estimator.Amount{MFLOPS: 2, Units: 1}},
		{name: "ErrMFLOPS", a: estimator.Amount{MFLOPS: math.MaxInt64}, b: estimator.Amount{MFLOPS: 1}, wantErr: true},
		{name: "ErrUnits", a: estimator.Amount{Units: math.MaxInt64 - 1}, b: estimator.Amount{Units: 2}, wantErr: true},
		{name: "ErrRecordsNegative", a: estimator.Amount{Records: math.MinInt64}, b: estimator.Amount{Records: -1}, wantErr: true},
		{name: "ErrSubMinInt64", a: estimator.Amount{}, b: estimator.Amount{MFLOPS: math.MinInt64}, sub: true, wantErr: true},
		{name: "SubMinInt64OK", a: estimator.Amount{MFLOPS: -1}, b: estimator.Amount{MFLOPS: math.MinInt64}, sub: true,
			want: estimator.Amount{MFLOPS: math.MaxInt64}},
		{name: "ErrSubBelowMin", a: estimator.Amount{MFLOPS: math.MinInt64}, b: estimator.Amount{MFLOPS: 1}, sub: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := tt.a.Add
			if tt.sub {
				op = tt.a.Sub
			}
			got, err := op(tt.b)
			if tt.wantErr {
				if code := estimator.ErrorCode(err); code != estimator.EResourceExhausted {
					t.Fatalf("code = %q (err %v), want %q", code, err, estimator.EResourceExhausted)
				}
				if wrapped := fmt.Errorf("storing cell: %w", err); estimator.ErrorCode(wrapped) != estimator.EResourceExhausted {
					t.Errorf("wrapped code = %q", estimator.ErrorCode(wrapped))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// randomRecord draws a valid record of any class with an inline spec.
func randomRecord(rng *rand.Rand, i int) estimator.Record {
	ps := estimator.Provinces()
	r := estimator.Record{
		ID:       fmt.Sprintf("r%d", i),
		Province: ps[rng.IntN(len(ps))].Code,
		Period:   estimator.Period{Year: 2015 + rng.IntN(11), Quarter: rng.IntN(5)},
		Units:    1 + rng.Int64N(100_000),
	}
	switch rng.IntN(3) {
	case 0:
		r.Class = estimator.ClassGeneral
		cpu := xeon8480
		cpu.Cores = uint32(4 + rng.IntN(128))
		cpu.ClockHz = uint64(1e9 + rng.Float64()*3e9)
		r.Components = []estimator.Component{inline(uint32(1+rng.IntN(4)), cpu)}
	case 1:
		r.Class = estimator.ClassAI
		gpu := h100
		gpu.Rates = []estimator.Rate{{Precision: estimator.FP16, PeakFLOPS: 1e12 + rng.Float64()*2e15}}
		r.Components = []estimator.Component{inline(uint32(1+rng.IntN(16)), gpu), inline(2, xeon8480)}
	default:
		r.Class = estimator.ClassSuper
		r.Units = 1
		r.RpeakFP64 = 1e15 + rng.Float64()*2e18
		if rng.IntN(2) == 0 {
			r.Decommissioned = estimator.Period{Year: r.Period.Year + 1 + rng.IntN(5), Quarter: rng.IntN(5)}
		}
	}
	return r
}

type cellKey struct {
	province uint32
	series   estimator.Series
	period   estimator.Period
}

func TestAmountExactRetraction(t *testing.T) {
	rng := rand.New(rand.NewPCG(2024, 2025))
	var all []estimator.Cell
	for i := range 500 {
		r := randomRecord(rng, i)
		if vs := r.Validate(2030); len(vs) > 0 {
			t.Fatalf("record %d invalid: %v", i, vs)
		}
		all = append(all, cellsOf(t, r)...)
	}
	cells := map[cellKey]estimator.Amount{}
	apply := func(c estimator.Cell, op func(estimator.Amount, estimator.Amount) (estimator.Amount, error)) {
		k := cellKey{c.Province, c.Series, c.Period}
		sum, err := op(cells[k], c.Amount)
		if err != nil {
			t.Fatal(err)
		}
		cells[k] = sum
	}
	for _, c := range all {
		apply(c, estimator.Amount.Add)
	}

	// Sum over the merged cells, in two different orders, must agree bit for bit.
	var merged []estimator.Cell
	for k, a := range cells {
		merged = append(merged, estimator.Cell{Province: k.province, Series: k.series, Period: k.period, Amount: a})
	}
	end := estimator.Period{Year: 2025, Quarter: 2}
	want := estimator.Sum(merged, end, estimator.DefaultFactors())
	for trial := range 5 {
		rng.Shuffle(len(merged), func(i, j int) { merged[i], merged[j] = merged[j], merged[i] })
		got := estimator.Sum(merged, end, estimator.DefaultFactors())
		if !reflect.DeepEqual(got, want) || math.Float64bits(got.TotalFP32Eq) != math.Float64bits(want.TotalFP32Eq) {
			t.Fatalf("trial %d: Sum depends on cell order:\n got %+v\nwant %+v", trial, got, want)
		}
	}
	// Unmerged cells give the same totals as merged ones.
	if got := estimator.Sum(all, end, estimator.DefaultFactors()); !reflect.DeepEqual(got, want) {
		t.Errorf("Sum of unmerged cells differs:\n got %+v\nwant %+v", got, want)
	}

	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, c := range all {
		apply(c, estimator.Amount.Sub)
	}
	for k, a := range cells {
		if !a.IsZero() {
			t.Errorf("cell %+v = %+v after retraction, want zero", k, a)
		}
	}
}

func TestSumExtremes(t *testing.T) {
	big := int64(math.MaxInt64)
	tests := []struct {
		name   string
		cells  []estimator.Cell
		basic  float64
		super  float64
		supers int64
	}{
		// 2 × (2^63 − 1) MFLOPS overflows int64 but not the 128-bit sum.
		{"BeyondInt64", []estimator.Cell{
			{Series: estimator.SeriesBasic, Period: q(2024, 1), Amount: estimator.Amount{MFLOPS: big}},
			{Series: estimator.SeriesBasic, Period: q(2024, 2), Amount: estimator.Amount{MFLOPS: big}},
		}, 2 * float64(big) / 1e12, 0, 0},
		// A retraction seen without its commissioning leaves a negative total,
		// which the sum must carry rather than wrap.
		{"Negative", []estimator.Cell{
			{Series: estimator.SeriesSuperOff, Period: q(2020, 1), Amount: estimator.Amount{MFLOPS: 1e11, Units: 1, Records: 1}},
		}, 0, -0.1, -1},
		{"UnknownSeriesIgnored", []estimator.Cell{{Series: 9, Period: q(2024, 1), Amount: estimator.Amount{MFLOPS: 5}}}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := estimator.Sum(tt.cells, q(2024, 0), estimator.DefaultFactors())
			if !approx(got.BasicFP32, tt.basic) || !approx(got.SuperFP64, tt.super) || got.SuperSystems != tt.supers {
				t.Errorf("basic %g super %g systems %d; want %g %g %d", got.BasicFP32, got.SuperFP64, got.SuperSystems, tt.basic, tt.super, tt.supers)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	tests := []struct {
		name      string
		got, want string
	}{
		{"Series", estimator.SeriesAIHost.String(), "ai_host"},
		{"SeriesUnknown", estimator.Series(9).String(), "series(9)"},
		{"Kind", estimator.KindNPU.String(), "NPU"},
		{"KindUnknown", estimator.ChipKind(9).String(), "UNSPECIFIED"},
		{"Precision", estimator.BF16.String(), "BF16"},
		{"Class", estimator.ClassSuper.String(), "SUPERCOMPUTER"},
		{"Period", q(2025, 2).String(), "2025Q2"},
		{"Year", q(2024, 0).String(), "2024"},
		{"AHPMethod", estimator.AHPGeometricMean.String(), "geometric_mean"},
		{"NormMethod", estimator.NormTarget.String(), "target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
