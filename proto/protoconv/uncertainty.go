package protoconv

import (
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// AssumptionsFromProto converts what to vary; nil means
// estimator.DefaultAssumptions. Unset numbers take the defaults; an unknown
// choice in vary is returned in bad (its index), for the caller to report.
func AssumptionsFromProto(a *pb.UncertaintyAssumptions) (out estimator.Assumptions, bad []int) {
	out = estimator.DefaultAssumptions()
	if a == nil {
		return out, nil
	}
	out.Vary = [estimator.NumAssumptions]bool{}
	for i, v := range a.GetVary() {
		k := int(v) - 1
		if k < 0 || k >= estimator.NumAssumptions {
			bad = append(bad, i)
			continue
		}
		out.Vary[k] = true
	}
	if a.JudgementSteps != nil {
		out.JudgementSteps = int(a.GetJudgementSteps())
	}
	if a.WeightSpread != nil {
		out.WeightSpread = a.GetWeightSpread()
	}
	for _, n := range a.GetNormalizations() {
		m, ok := normMethods[n]
		if !ok {
			m = estimator.NormMethod(255) // refused by the estimator, by index
		}
		out.Normalizations = append(out.Normalizations, m)
	}
	if r := a.GetFp16(); r != nil {
		out.FP16Lo, out.FP16Hi = r.GetLow(), r.GetHigh()
	}
	if r := a.GetFp64(); r != nil {
		out.FP64Lo, out.FP64Hi = r.GetLow(), r.GetHigh()
	}
	return out, bad
}

// AssumptionsToProto states the assumptions as used, defaults filled in;
// the normalisation alternatives are the ones drawn from (norms).
func AssumptionsToProto(a estimator.Assumptions, norms []estimator.NormMethod) *pb.UncertaintyAssumptions {
	steps, spread := int32(a.JudgementSteps), a.WeightSpread
	out := &pb.UncertaintyAssumptions{
		JudgementSteps: &steps, WeightSpread: &spread,
		Fp16: &pb.FactorRange{Low: a.FP16Lo, High: a.FP16Hi},
		Fp64: &pb.FactorRange{Low: a.FP64Lo, High: a.FP64Hi},
	}
	for i, on := range a.Vary {
		if on {
			out.Vary = append(out.Vary, AssumptionToProto(estimator.Assumption(i)))
		}
	}
	for _, n := range norms {
		out.Normalizations = append(out.Normalizations, normMethodToProto(n))
	}
	return out
}

// AssumptionToProto converts one choice.
func AssumptionToProto(a estimator.Assumption) pb.UncertainAssumption {
	return pb.UncertainAssumption(int(a) + 1)
}

// RankUncertaintyToProto converts one province's analysis; varied lists the
// choices its sensitivities belong to, in order.
func RankUncertaintyToProto(p estimator.ProvinceUncertainty, varied []estimator.Assumption) *pb.RankUncertainty {
	prov, _ := estimator.ProvinceByCode(p.Province)
	out := &pb.RankUncertainty{
		Province: ProvinceToProto(prov), NominalRank: int32(p.NominalRank),
		MedianRank: p.MedianRank, P05Rank: p.P05Rank, P95Rank: p.P95Rank,
		PFirstTier: p.PFirstTier, MeanAbsRankShift: p.MeanAbsShift,
	}
	for i, s := range p.Sensitivity {
		out.Sensitivity = append(out.Sensitivity, &pb.AssumptionSensitivity{
			Assumption: AssumptionToProto(varied[i]), FirstOrder: s.First, Total: s.Total})
	}
	return out
}
