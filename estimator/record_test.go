package estimator_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/computescale/computescale/estimator"
)

const maxYear = 2026

func hasField(vs []estimator.FieldViolation, field string) bool {
	for _, v := range vs {
		if v.Field == field {
			return true
		}
	}
	return false
}

func TestRecordValidate(t *testing.T) {
	tests := []struct {
		name  string
		base  estimator.Record
		edit  func(r *estimator.Record)
		field string // "" means valid
	}{
		{"OK", dualXeon, func(r *estimator.Record) {}, ""},
		{"OKSuperDecommissioned", elCapitan, func(r *estimator.Record) { r.Decommissioned = q(2026, 0) }, ""},
		{"ErrMissingID", dualXeon, func(r *estimator.Record) { r.ID = "" }, "record_id"},
		{"ErrNonASCIIID", dualXeon, func(r *estimator.Record) { r.ID = "广东-1" }, "record_id"},
		{"ErrLongID", dualXeon, func(r *estimator.Record) { r.ID = strings.Repeat("x", 129) }, "record_id"},
		{"ErrProvince", dualXeon, func(r *estimator.Record) { r.Province = 810000 }, "province"},
		{"ErrYear1989", dualXeon, func(r *estimator.Record) { r.Period.Year = 1989 }, "period.year"},
		{"ErrYearAfterMax", dualXeon, func(r *estimator.Record) { r.Period.Year = maxYear + 1 }, "period.year"},
		{"ErrQuarter5", dualXeon, func(r *estimator.Record) { r.Period.Quarter = 5 }, "period.quarter"},
		{"ErrQuarterNegative", dualXeon, func(r *estimator.Record) { r.Period.Quarter = -1 }, "period.quarter"},
		{"ErrClass", dualXeon, func(r *estimator.Record) { r.Class = estimator.ClassUnspecified }, "server_class"},
		{"ErrUnitsZero", dualXeon, func(r *estimator.Record) { r.Units = 0 }, "units"},
		{"ErrUnitsNegative", dualXeon, func(r *estimator.Record) { r.Units = -3 }, "units"},
		{"ErrUnitsTooMany", dualXeon, func(r *estimator.Record) { r.Units = estimator.MaxUnits + 1 }, "units"},
		{"ErrNote", dualXeon, func(r *estimator.Record) { r.Note = strings.Repeat("n", 513) }, "note"},
		{"ErrRpeakOnGeneral", dualXeon, func(r *estimator.Record) { r.RpeakFP64 = 1e15 }, "rpeak_fp64_flops"},
		{"ErrDecommissionedGeneral", dualXeon, func(r *estimator.Record) { r.Decommissioned = q(2025, 1) }, "decommissioned"},
		{"ErrRpeakNegative", elCapitan, func(r *estimator.Record) { r.RpeakFP64 = -1 }, "rpeak_fp64_flops"},
		{"ErrRpeakAboveLimit", elCapitan, func(r *estimator.Record) { r.RpeakFP64 = 2e21 }, "rpeak_fp64_flops"},
		{"ErrRpeakAndComponents", elCapitan, func(r *estimator.Record) { r.Components = dualXeon.Components }, "components"},
		{"ErrNoComponents", dualXeon, func(r *estimator.Record) { r.Components = nil }, "components"},
		{"ErrTooManyComponents", dualXeon, func(r *estimator.Record) {
			r.Components = make([]estimator.Component, 65)
			for i := range r.Components {
				r.Components[i] = inline(1, xeon8480)
			}
		}, "components"},
		{"ErrCountZero", dualXeon, func(r *estimator.Record) { r.Components = []estimator.Component{inline(0, xeon8480)} }, "components[0].count"},
		{"ErrChipIDAndInline", dualXeon, func(r *estimator.Record) {
			c := inline(1, xeon8480)
			c.ChipID = "xeon-8480p"
			r.Components = []estimator.Component{inline(1, xeon8480), c}
		}, "components[1].chip"},
		{"ErrNoChip", dualXeon, func(r *estimator.Record) { r.Components = []estimator.Component{{Count: 1}} }, "components[0].chip"},
		{"ErrInlineSpec", dualXeon, func(r *estimator.Record) {
			bad := xeon8480
			bad.Cores = 0
			r.Components = []estimator.Component{inline(1, bad)}
		}, "components[0].inline_spec.cores"},
		{"ErrDecommissionedBeforeCommissioning", elCapitan, func(r *estimator.Record) { r.Decommissioned = q(2024, 3) }, "decommissioned"},
		{"ErrDecommissionedSameQuarter", elCapitan, func(r *estimator.Record) { r.Decommissioned = q(2024, 4) }, "decommissioned"},
		{"ErrDecommissionedYearOfQuarter", elCapitan, func(r *estimator.Record) { r.Decommissioned = q(2024, 0) }, "decommissioned"},
		{"ErrDecommissionedQuarter", elCapitan, func(r *estimator.Record) { r.Decommissioned = q(2025, 7) }, "decommissioned.quarter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.base
			r.Components = append([]estimator.Component(nil), r.Components...)
			tt.edit(&r)
			vs := r.Validate(maxYear)
			if tt.field == "" {
				if len(vs) > 0 {
					t.Fatalf("Validate = %v, want none", vs)
				}
				return
			}
			if !hasField(vs, tt.field) {
				t.Errorf("Validate = %v, want a violation of %q", vs, tt.field)
			}
		})
	}
}

func TestRecordContributionsErrors(t *testing.T) {
	// 10^6 chips of 10^18 FLOP/s = 10^18 MFLOPS per unit; × 10^9 units
	// overflows int64 (≈ 9.2 × 10^18).
	huge := estimator.ChipSpec{Kind: estimator.KindCPU, Rates: []estimator.Rate{{Precision: estimator.FP32, PeakFLOPS: 1e18}}}
	fp32Only := estimator.ChipSpec{Kind: estimator.KindGPU, Rates: []estimator.Rate{{Precision: estimator.FP32, PeakFLOPS: 1e13}}}
	tests := []struct {
		name  string
		r     estimator.Record
		field string
	}{
		{"ErrOverflow", estimator.Record{ID: "x", Province: 440000, Period: q(2024, 0), Class: estimator.ClassGeneral,
			Units: estimator.MaxUnits, Components: []estimator.Component{inline(estimator.MaxChipsPerUnit, huge)}}, "units"},
		{"ErrUnknownChip", estimator.Record{ID: "x", Province: 440000, Period: q(2024, 0), Class: estimator.ClassGeneral,
			Units: 1, Components: []estimator.Component{inline(1, xeon8480), {Count: 1, ChipID: "nope"}}}, "components[1].chip_id"},
		{"ErrAIWithoutAccelerator", estimator.Record{ID: "x", Province: 440000, Period: q(2024, 0), Class: estimator.ClassAI,
			Units: 1, Components: []estimator.Component{inline(2, xeon8480)}}, "components"},
		{"ErrNoRateAtPrecision", estimator.Record{ID: "x", Province: 440000, Period: q(2024, 0), Class: estimator.ClassAI,
			Units: 1, Components: []estimator.Component{inline(8, fp32Only)}}, "components"},
		{"ErrGeneralWithoutCPU", estimator.Record{ID: "x", Province: 440000, Period: q(2024, 0), Class: estimator.ClassGeneral,
			Units: 1, Components: []estimator.Component{inline(8, h100)}}, "components"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if vs := tt.r.Validate(maxYear); len(vs) > 0 {
				t.Fatalf("record should pass Validate: %v", vs)
			}
			_, err := tt.r.Contributions(noCatalog)
			var e *estimator.Error
			if !errors.As(err, &e) || e.Code != estimator.EInvalid {
				t.Fatalf("err = %v, want an EInvalid *Error", err)
			}
			if !hasField(e.Violations, tt.field) {
				t.Errorf("violations = %v, want %q", e.Violations, tt.field)
			}
		})
	}
}

func TestRecordChipIDs(t *testing.T) {
	r := estimator.Record{Components: []estimator.Component{{ChipID: "a"}, inline(1, xeon8480), {ChipID: "b"}, {ChipID: "a"}}}
	got := r.ChipIDs()
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("ChipIDs = %v, want [a b]", got)
	}
}
