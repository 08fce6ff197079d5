package protoconv

import (
	"math"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// MatrixFromProto converts a pairwise matrix.
func MatrixFromProto(m *pb.PairwiseMatrix) [][]float64 {
	if m == nil {
		return nil
	}
	out := make([][]float64, len(m.GetRows()))
	for i, r := range m.GetRows() {
		out[i] = append([]float64(nil), r.GetValues()...)
	}
	return out
}

// MatrixToProto converts a pairwise matrix; nil stays nil.
func MatrixToProto(m [][]float64) *pb.PairwiseMatrix {
	if m == nil {
		return nil
	}
	out := &pb.PairwiseMatrix{}
	for _, r := range m {
		out.Rows = append(out.Rows, &pb.MatrixRow{Values: append([]float64(nil), r...)})
	}
	return out
}

// AHPMethodFromProto maps unspecified to the eigenvector method.
func AHPMethodFromProto(m pb.AhpMethod) estimator.AHPMethod {
	if m == pb.AhpMethod_AHP_METHOD_GEOMETRIC_MEAN {
		return estimator.AHPGeometricMean
	}
	return estimator.AHPEigenvector
}

func ahpMethodToProto(m estimator.AHPMethod) pb.AhpMethod {
	if m == estimator.AHPGeometricMean {
		return pb.AhpMethod_AHP_METHOD_GEOMETRIC_MEAN
	}
	return pb.AhpMethod_AHP_METHOD_EIGENVECTOR
}

// WeightNodeFromProto converts a hierarchy.
func WeightNodeFromProto(n *pb.WeightNode) estimator.WeightNode {
	out := estimator.WeightNode{
		Code: n.GetCode(), Weights: append([]float64(nil), n.GetWeights()...),
		Matrix: MatrixFromProto(n.GetMatrix()), Method: AHPMethodFromProto(n.GetMethod()),
	}
	for _, e := range n.GetExperts() {
		out.Experts = append(out.Experts, estimator.ExpertMatrix{Weight: e.GetWeight(), Matrix: MatrixFromProto(e.GetMatrix())})
	}
	for _, c := range n.GetChildren() {
		out.Children = append(out.Children, WeightNodeFromProto(c))
	}
	return out
}

// WeightNodeToProto converts a hierarchy.
func WeightNodeToProto(n estimator.WeightNode) *pb.WeightNode {
	out := &pb.WeightNode{Code: n.Code, Weights: n.Weights, Matrix: MatrixToProto(n.Matrix)}
	if n.Matrix != nil || n.Experts != nil {
		out.Method = ahpMethodToProto(n.Method)
	}
	for _, e := range n.Experts {
		out.Experts = append(out.Experts, &pb.ExpertJudgement{Weight: e.Weight, Matrix: MatrixToProto(e.Matrix)})
	}
	for _, c := range n.Children {
		out.Children = append(out.Children, WeightNodeToProto(c))
	}
	return out
}

var normMethods = map[pb.NormalizationMethod]estimator.NormMethod{
	pb.NormalizationMethod_NORMALIZATION_METHOD_UNSPECIFIED: estimator.NormTarget,
	pb.NormalizationMethod_NORMALIZATION_METHOD_TARGET:      estimator.NormTarget,
	pb.NormalizationMethod_NORMALIZATION_METHOD_MIN_MAX:     estimator.NormMinMax,
	pb.NormalizationMethod_NORMALIZATION_METHOD_Z_SCORE:     estimator.NormZScore,
	pb.NormalizationMethod_NORMALIZATION_METHOD_RANK:        estimator.NormRank,
	pb.NormalizationMethod_NORMALIZATION_METHOD_GOALPOSTS:   estimator.NormGoalposts,
}

func normMethodToProto(m estimator.NormMethod) pb.NormalizationMethod {
	for k, v := range normMethods {
		if v == m && k != pb.NormalizationMethod_NORMALIZATION_METHOD_UNSPECIFIED {
			return k
		}
	}
	return pb.NormalizationMethod_NORMALIZATION_METHOD_UNSPECIFIED
}

// MethodologyFromProto converts a methodology document. Enum values the
// domain does not know map to values that Methodology.Weights rejects.
func MethodologyFromProto(m *pb.Methodology, allowInconsistent bool) estimator.Methodology {
	out := estimator.Methodology{
		Description:       m.GetDescription(),
		Hierarchy:         WeightNodeFromProto(m.GetHierarchy()),
		BaseYear:          int(m.GetNormalization().GetBaseYear()),
		CoverageThreshold: m.GetCoverageThreshold(),
		FirstTierAbove:    m.GetFirstTierAbove(),
		SecondTierMaxRank: int(m.GetSecondTierMaxRank()),
		AllowInconsistent: allowInconsistent,
		Factors:           estimator.DefaultFactors(),
	}
	norm, ok := normMethods[m.GetNormalization().GetMethod()]
	if !ok {
		norm = estimator.NormMethod(math.MaxUint8)
	}
	out.Norm = norm
	if m.GetNormalization().GetBoundsScope() == pb.BoundsScope_BOUNDS_SCOPE_POOLED {
		out.Scope = estimator.ScopePooled
	}
	if m.GetAggregation() == pb.Aggregation_AGGREGATION_GEOMETRIC {
		out.Aggregation = estimator.AggGeometric
	}
	if f := m.GetFactors(); f != nil {
		out.Factors = estimator.Factors{FP16: f.GetFp16(), FP64: f.GetFp64(), IncludeAIHostCPUs: f.GetIncludeAiHostCpus()}
	}
	out.Plausibility.MaxGrowthFactor = m.GetPlausibility().GetMaxGrowthFactor()
	for _, r := range m.GetPlausibility().GetRanges() {
		if out.Plausibility.Ranges == nil {
			out.Plausibility.Ranges = map[string]estimator.Range{}
		}
		out.Plausibility.Ranges[r.GetIndicator()] = estimator.Range{Min: r.GetMin(), Max: r.GetMax(), GrowthFactor: r.GetMaxGrowthFactor()}
	}
	for _, in := range m.GetNormalization().GetIndicators() {
		if out.Indicators == nil {
			out.Indicators = map[string]estimator.NormSpec{}
		}
		method := norm
		if in.GetMethod() != pb.NormalizationMethod_NORMALIZATION_METHOD_UNSPECIFIED {
			if method, ok = normMethods[in.GetMethod()]; !ok {
				method = estimator.NormMethod(math.MaxUint8)
			}
		}
		out.Indicators[in.GetIndicator()] = estimator.NormSpec{Method: method, Target: in.GetTarget(), Lo: in.GetLow(), Hi: in.GetHigh()}
	}
	return out
}

// MethodologyToProto converts a stored methodology, adding the indicator
// list and the leaves' global weights.
func MethodologyToProto(m estimator.Methodology, weights map[string]float64) *pb.Methodology {
	out := &pb.Methodology{
		Version: m.Version, Description: m.Description, Hierarchy: WeightNodeToProto(m.Hierarchy),
		Normalization: &pb.Normalization{Method: normMethodToProto(m.Norm), BaseYear: int32(m.BaseYear),
			BoundsScope: pb.BoundsScope_BOUNDS_SCOPE_PER_YEAR},
		Aggregation:       pb.Aggregation_AGGREGATION_ARITHMETIC,
		CoverageThreshold: m.CoverageThreshold,
		Factors:           &pb.ConversionFactors{Fp16: m.Factors.FP16, Fp64: m.Factors.FP64, IncludeAiHostCpus: m.Factors.IncludeAIHostCPUs},
		FirstTierAbove:    m.FirstTierAbove,
		SecondTierMaxRank: int32(m.SecondTierMaxRank),
	}
	// The factor in force is shown, so a reader need not know the default.
	out.Plausibility = &pb.Plausibility{MaxGrowthFactor: m.Plausibility.GrowthFactor()}
	for _, code := range sortedKeys(m.Plausibility.Ranges) {
		r := m.Plausibility.Ranges[code]
		out.Plausibility.Ranges = append(out.Plausibility.Ranges, &pb.IndicatorRange{Indicator: code, Min: r.Min, Max: r.Max, MaxGrowthFactor: r.GrowthFactor})
	}
	if !m.Created.IsZero() {
		out.CreateTime = timestamppb.New(m.Created.UTC().Truncate(time.Microsecond))
	}
	if m.Scope == estimator.ScopePooled {
		out.Normalization.BoundsScope = pb.BoundsScope_BOUNDS_SCOPE_POOLED
	}
	if m.Aggregation == estimator.AggGeometric {
		out.Aggregation = pb.Aggregation_AGGREGATION_GEOMETRIC
	}
	for _, code := range sortedKeys(m.Indicators) {
		s := m.Indicators[code]
		out.Normalization.Indicators = append(out.Normalization.Indicators, &pb.IndicatorNormalization{
			Indicator: code, Method: normMethodToProto(s.Method), Target: s.Target, Low: s.Lo, High: s.Hi})
	}
	for _, code := range append(estimator.Indicators(), extraIndicators()...) {
		out.Indicators = append(out.Indicators, &pb.IndicatorInfo{Code: code.Code, Dimension: code.Dimension,
			SubIndicator: code.SubIndicator, Name: code.NameEN, NameZh: code.NameZH, Unit: code.Unit, Derived: code.Derived})
	}
	for _, code := range sortedKeys(weights) {
		out.LeafWeights = append(out.LeafWeights, &pb.LeafWeight{Indicator: code, Weight: weights[code]})
	}
	return out
}

func extraIndicators() []estimator.Indicator {
	var out []estimator.Indicator
	for _, code := range []string{"gdp", "digital_economy_core"} {
		if ind, ok := estimator.LookupIndicator(code); ok {
			out = append(out, ind)
		}
	}
	return out
}

// AHPToProto converts one matrix's evaluation.
func AHPToProto(r estimator.AHPResult) *pb.AhpEvaluation {
	out := &pb.AhpEvaluation{Weights: r.Weights, LambdaMax: r.LambdaMax, ConsistencyIndex: r.CI,
		ConsistencyRatio: r.CR, RandomIndex: r.RI, RandomIndexTable: r.RITable, Acceptable: r.Acceptable}
	for _, h := range r.Hints {
		out.Hints = append(out.Hints, &pb.InconsistencyHint{Row: int32(h.Row), Column: int32(h.Col),
			Judgement: h.Judgement, ConsistentValue: h.Consistent, Epsilon: h.Epsilon})
	}
	return out
}

// NodesToProto converts the per-node weight derivations.
func NodesToProto(nodes []estimator.NodeResult) []*pb.NodeWeights {
	var out []*pb.NodeWeights
	for _, n := range nodes {
		nw := &pb.NodeWeights{Code: n.Code, Path: n.Path, Source: n.Source, Children: n.Children,
			LocalWeights: n.Local, GlobalWeight: n.Global}
		if n.AHP != nil {
			nw.Evaluation = AHPToProto(*n.AHP)
		}
		out = append(out, nw)
	}
	return out
}

// ScoreToProto converts one province's scores.
func ScoreToProto(s estimator.ProvinceScore, methodology, revision uint64) *pb.IndexScore {
	prov, _ := estimator.ProvinceByCode(s.Province)
	out := &pb.IndexScore{Province: ProvinceToProto(prov), Year: int32(s.Year), Produced: s.Produced,
		Rank: int32(s.Rank), Tier: int32(s.Tier), Coverage: s.Coverage, MethodologyVersion: methodology, Revision: revision}
	if s.Produced {
		out.Composite = s.Composite
	}
	for _, d := range estimator.Dimensions() {
		v, present := s.Dimensions[d]
		ds := &pb.DimensionScore{Dimension: d, Present: present, Coverage: s.DimensionCoverage[d]}
		if present {
			ds.Score, ds.Rank = v, int32(s.DimensionRanks[d])
		}
		out.Dimensions = append(out.Dimensions, ds)
	}
	for _, l := range s.Leaves {
		ls := &pb.LeafScore{Indicator: l.Code, Weight: l.Weight, Present: !math.IsNaN(l.Value)}
		if ls.Present {
			ls.Value, ls.Normalized = l.Value, l.Normalized
		}
		out.Leaves = append(out.Leaves, ls)
	}
	return out
}

// ObservationFromProto converts an observation; the province is resolved
// with estimator.LookupProvince and left 0 when unknown.
func ObservationFromProto(o *pb.Observation) estimator.Observation {
	out := estimator.Observation{Year: int(o.GetYear()), Indicator: o.GetIndicator(), Value: o.GetValue(),
		Unit: o.GetUnit(), Source: o.GetSource()}
	if p, ok := estimator.LookupProvince(o.GetProvince()); ok {
		out.Province = p.Code
	}
	return out
}

// ObservationToProto converts a domain observation, naming the province by
// its GB/T 2260 code. Actor is not part of the message: the server takes it
// from the caller's credentials.
func ObservationToProto(o estimator.Observation) *pb.Observation {
	return &pb.Observation{Province: strconv.FormatUint(uint64(o.Province), 10), Year: int32(o.Year),
		Indicator: o.Indicator, Value: o.Value, Unit: o.Unit, Source: o.Source}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
