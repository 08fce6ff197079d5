// Package protoconv converts between computescale.v1 messages and the domain
// types of package estimator, and turns the store's committed changes into
// watch events. It is the one home of that conversion, the edge that
// STYLE.md asks for: the server, the tools and the tests all convert here
// (the server adds only what needs a request's context, such as its clock),
// and nothing deeper sees a proto message.
package protoconv

import (
	"fmt"
	"strconv"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// ChipFromProto converts a spec; it never fails, Validate judges the result.
func ChipFromProto(c *pb.ChipSpec) estimator.ChipSpec {
	spec := estimator.ChipSpec{
		ID: c.GetId(), Vendor: c.GetVendor(), Model: c.GetModel(),
		Kind: estimator.ChipKind(c.GetKind()), Cores: c.GetCores(), ClockHz: c.GetClockHz(),
		Source: c.GetSource(),
	}
	for _, r := range c.GetRates() {
		spec.Rates = append(spec.Rates, estimator.Rate{
			Precision:     estimator.Precision(r.GetPrecision()),
			FlopsPerCycle: r.GetFlopsPerCycle(),
			PeakFLOPS:     r.GetPeakFlops(),
		})
	}
	return spec
}

// ChipToProto converts a domain spec.
func ChipToProto(c estimator.ChipSpec) *pb.ChipSpec {
	out := &pb.ChipSpec{
		Id: c.ID, Vendor: c.Vendor, Model: c.Model, Kind: pb.ChipKind(c.Kind),
		Cores: c.Cores, ClockHz: c.ClockHz, Source: c.Source,
	}
	for _, r := range c.Rates {
		pr := &pb.PrecisionRate{Precision: pb.Precision(r.Precision)}
		if r.PeakFLOPS > 0 {
			pr.Rate = &pb.PrecisionRate_PeakFlops{PeakFlops: r.PeakFLOPS}
		} else {
			pr.Rate = &pb.PrecisionRate_FlopsPerCycle{FlopsPerCycle: r.FlopsPerCycle}
		}
		out.Rates = append(out.Rates, pr)
	}
	return out
}

// PeriodFromProto converts a period; nil is the zero period.
func PeriodFromProto(p *pb.Period) estimator.Period {
	return estimator.Period{Year: int(p.GetYear()), Quarter: int(p.GetQuarter())}
}

// PeriodToProto converts a period.
func PeriodToProto(p estimator.Period) *pb.Period {
	return &pb.Period{Year: int32(p.Year), Quarter: int32(p.Quarter)}
}

// ProvinceToProto converts a province with all its names.
func ProvinceToProto(p estimator.Province) *pb.Province {
	return &pb.Province{Code: strconv.FormatUint(uint64(p.Code), 10), IsoCode: p.ISO, Name: p.Name, NameZh: p.NameZH}
}

// TotalsToProto converts totals computed at a store revision.
func TotalsToProto(t estimator.Totals, revision uint64) *pb.ComputeTotals {
	out := &pb.ComputeTotals{
		Period:                    PeriodToProto(t.Period),
		WindowStart:               PeriodToProto(t.Window.Start),
		BasicFp32Eflops:           t.BasicFP32,
		AiFp16Eflops:              t.AIFP16,
		AiFp32EquivalentEflops:    t.AIFP32Eq,
		SuperFp64Eflops:           t.SuperFP64,
		SuperFp32EquivalentEflops: t.SuperFP32Eq,
		AiHostCpuFp32Eflops:       t.AIHostFP32,
		TotalFp32EquivalentEflops: t.TotalFP32Eq,
		RecordCount:               t.Records,
		GeneralServerUnits:        t.GeneralUnits,
		AiServerUnits:             t.AIUnits,
		SupercomputerSystems:      t.SuperSystems,
		Factors: &pb.ConversionFactors{
			Fp16: t.Factors.FP16, Fp64: t.Factors.FP64, IncludeAiHostCpus: t.Factors.IncludeAIHostCPUs,
		},
		Revision: revision,
	}
	for _, y := range t.Years {
		out.Years = append(out.Years, &pb.YearContribution{
			Year: int32(y.Year), BasicFp32Eflops: y.BasicFP32, AiFp16Eflops: y.AIFP16,
			TotalFp32EquivalentEflops: y.TotalFP32Eq,
		})
	}
	return out
}

// RecordFromProto converts a shipment record; the province string is resolved
// with estimator.LookupProvince and left 0 when unknown. It never fails:
// Record.Validate judges the result.
func RecordFromProto(r *pb.ShipmentRecord) estimator.Record {
	rec := estimator.Record{
		ID: r.GetRecordId(), Period: PeriodFromProto(r.GetPeriod()),
		Class: estimator.ServerClass(r.GetServerClass()), Units: r.GetUnits(),
		RpeakFP64: r.GetRpeakFp64Flops(), Decommissioned: PeriodFromProto(r.GetDecommissioned()),
		Note: r.GetNote(),
	}
	if p, ok := estimator.LookupProvince(r.GetProvince()); ok {
		rec.Province = p.Code
	}
	for _, c := range r.GetComponents() {
		comp := estimator.Component{Count: c.GetCount(), ChipID: c.GetChipId()}
		if c.GetInlineSpec() != nil {
			spec := ChipFromProto(c.GetInlineSpec())
			comp.Inline = &spec
		}
		rec.Components = append(rec.Components, comp)
	}
	return rec
}

// CheckedRecordFromProto converts a shipment record and validates everything
// that needs no catalog (Record.Validate with maxYear), returning violations
// relative to the record; an unknown province is named with the value given.
func CheckedRecordFromProto(r *pb.ShipmentRecord, maxYear int) (estimator.Record, []estimator.FieldViolation) {
	rec := RecordFromProto(r)
	var vs []estimator.FieldViolation
	if rec.Province == 0 {
		vs = append(vs, estimator.FieldViolation{Field: "province", Description: fmt.Sprintf("unknown province %q: give a GB/T 2260 code, ISO 3166-2 code, pinyin or Chinese name", r.GetProvince())})
	}
	for _, v := range rec.Validate(maxYear) {
		if v.Field == "province" && rec.Province == 0 {
			continue // already named with the value given
		}
		vs = append(vs, v)
	}
	return rec, vs
}

// RecordToProto converts a domain record, naming the province by its code.
func RecordToProto(r estimator.Record) *pb.ShipmentRecord {
	out := &pb.ShipmentRecord{
		RecordId: r.ID, Province: strconv.FormatUint(uint64(r.Province), 10), Period: PeriodToProto(r.Period),
		ServerClass: pb.ServerClass(r.Class), Units: r.Units, RpeakFp64Flops: r.RpeakFP64, Note: r.Note,
	}
	if !r.Decommissioned.IsZero() {
		out.Decommissioned = PeriodToProto(r.Decommissioned)
	}
	for _, c := range r.Components {
		pc := &pb.Component{Count: c.Count}
		if c.Inline != nil {
			pc.Chip = &pb.Component_InlineSpec{InlineSpec: ChipToProto(*c.Inline)}
		} else {
			pc.Chip = &pb.Component_ChipId{ChipId: c.ChipID}
		}
		out.Components = append(out.Components, pc)
	}
	return out
}
