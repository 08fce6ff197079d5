package estimator_test

import (
	"testing"

	"github.com/computescale/computescale/estimator"
)

// fuzzMaxYear is the latest year FuzzRecordValidate's records may carry.
const fuzzMaxYear = 2030

// fuzzCPU is the one catalog chip FuzzRecordValidate's resolver knows, with
// the figures of a Xeon Platinum 8480+ (56 cores, 2 GHz).
var fuzzCPU = estimator.ChipSpec{
	ID: "fuzz-cpu", Vendor: "Intel", Model: "Xeon Platinum 8480+", Kind: estimator.KindCPU,
	Cores: 56, ClockHz: 2_000_000_000, Source: "fuzz fixture",
	Rates: []estimator.Rate{
		{Precision: estimator.FP64, FlopsPerCycle: 32},
		{Precision: estimator.FP32, FlopsPerCycle: 64},
		{Precision: estimator.FP16, FlopsPerCycle: 128},
	},
}

func resolveFuzzCPU(id string) (estimator.ChipSpec, bool) {
	if id == fuzzCPU.ID {
		return fuzzCPU, true
	}
	return estimator.ChipSpec{}, false
}

// FuzzRecordValidate builds a record from fuzzed fields: a first component
// with a chip id and/or an inline spec, an optional second component naming
// the catalog chip, an Rpeak and a decommissioning. Validate must never
// panic, and a record it accepts must either be refused by Contributions
// with EInvalid (unknown chip, no compute, overflow) or derive contributions
// that are exact: non-negative integer MFLOPS that are a whole multiple of
// the record's units (a product that wrapped around would not be), and
// exactly one contribution carrying the record's units and record count.
// Seed corpus: testdata/fuzz/FuzzRecordValidate/.
func FuzzRecordValidate(f *testing.F) {
	f.Fuzz(func(t *testing.T,
		id string, province uint32, year, quarter int, class uint8, units int64, note string,
		count uint32, chipID string, inline bool, kind uint8, cores uint32, clockHz uint64,
		precision uint8, perCycle, peak float64,
		count2 uint32, rpeak float64, decYear, decQuarter int,
	) {
		r := estimator.Record{
			ID: id, Province: province, Period: estimator.Period{Year: year, Quarter: quarter},
			Class: estimator.ServerClass(class), Units: units, Note: note, RpeakFP64: rpeak,
			Decommissioned: estimator.Period{Year: decYear, Quarter: decQuarter},
		}
		if count != 0 || chipID != "" || inline {
			c := estimator.Component{Count: count, ChipID: chipID}
			if inline {
				c.Inline = &estimator.ChipSpec{Kind: estimator.ChipKind(kind), Cores: cores, ClockHz: clockHz,
					Rates: []estimator.Rate{{Precision: estimator.Precision(precision), FlopsPerCycle: perCycle, PeakFLOPS: peak}}}
			}
			r.Components = append(r.Components, c)
		}
		if count2 != 0 {
			r.Components = append(r.Components, estimator.Component{Count: count2, ChipID: fuzzCPU.ID})
		}
		if vs := r.Validate(fuzzMaxYear); len(vs) > 0 {
			return
		}
		cs, err := r.Contributions(resolveFuzzCPU)
		if err != nil {
			if code := estimator.ErrorCode(err); code != estimator.EInvalid {
				t.Fatalf("Contributions of a valid record: %v (code %s), want EInvalid", err, code)
			}
			return
		}
		checkContributions(t, r, cs)
	})
}

func checkContributions(t *testing.T, r estimator.Record, cs []estimator.Contribution) {
	t.Helper()
	var main, on, off []estimator.Contribution
	for _, c := range cs {
		if c.MFLOPS < 0 {
			t.Fatalf("%s contribution of %+v has MFLOPS %d < 0", c.Series, r, c.MFLOPS)
		}
		if c.MFLOPS%r.Units != 0 {
			t.Fatalf("%s contribution of %d units has MFLOPS %d, not a whole multiple: the product overflowed",
				c.Series, r.Units, c.MFLOPS)
		}
		switch {
		case c.Series == estimator.SeriesSuperOff:
			off = append(off, c) // undoes the commissioning later
		case c.Records == 1 && c.Units == r.Units:
			main = append(main, c)
		case c.Records != 0 || c.Units != 0:
			t.Fatalf("%s contribution counts %d records, %d units; want 1 and %d, or none", c.Series, c.Records, c.Units, r.Units)
		}
		if c.Series == estimator.SeriesSuperOn {
			on = append(on, c)
		}
	}
	if len(main) != 1 {
		t.Fatalf("%d contributions count the record, want exactly 1: %+v", len(main), cs)
	}
	decommissioned := r.Class == estimator.ClassSuper && !r.Decommissioned.IsZero()
	if decommissioned != (len(off) == 1) || len(off) > 1 || len(off) == 1 && (len(on) != 1 || off[0].Amount != on[0].Amount) {
		t.Fatalf("decommissioning %v gave contributions %+v: want one SuperOff equal to the SuperOn", r.Decommissioned, cs)
	}
}
