package server_test

import (
	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// observation builds an observation in its indicator's unit.
func observation(province string, year int, indicator string, value float64) *pb.Observation {
	ind, _ := estimator.LookupIndicator(indicator)
	return &pb.Observation{Province: province, Year: int32(year), Indicator: indicator, Value: value,
		Unit: ind.Unit, Source: "hand-made test value"}
}

// putObs sends obs as one PutObservations batch and returns the ack.
func (e *env) putObs(c *client.Client, replace bool, obs ...*pb.Observation) client.BatchResult {
	e.t.Helper()
	var got client.BatchResult
	sum, err := c.PutObservations(ctx(e.t), obs, client.IngestOptions{BatchSize: len(obs) + 1, Replace: replace,
		OnAck: func(b client.BatchResult) { got = b }})
	if err != nil {
		e.t.Fatalf("put observations: %v", err)
	}
	if sum.Batches != 1 {
		e.t.Fatalf("put observations: %d batches, want 1", sum.Batches)
	}
	return got
}

// score returns one province's index, failing the test on error.
func (e *env) score(province string, year int, version uint64) *pb.IndexScore {
	e.t.Helper()
	s, err := e.reader.Index(ctx(e.t), province, year, version)
	if err != nil {
		e.t.Fatalf("index of %s in %d (methodology %d): %v", province, year, version, err)
	}
	return s
}

// unitEFlops is one general server of general(): two Xeon 8480+ at FP32,
// 2 × 56 cores × 2 GHz × 64 FLOPs/cycle = 14.336 TFLOPS, in EFlops.
const unitEFlops = 2 * 56 * 2e9 * 64 / 1e18

// handMethodology weighs three leaves, one in each of three dimensions,
// with explicit weights and five-year targets, so that every score of
// TestIndexHandCalculation can be worked by hand:
//
//	scale.basic       weight 0.2, target 2000 servers' worth (0.028672 EFlops)
//	industry.devices  weight 0.5, target 200 (10^4 units)
//	tech.rnd          weight 0.3, target 400 (10^8 CNY)
//
// A score needs 60 % of the weight; the first tier is above 54 and the
// second runs to rank 2.
func handMethodology() *pb.Methodology {
	return &pb.Methodology{
		Description: "hand-checked: three leaves, explicit weights and targets",
		Hierarchy: &pb.WeightNode{Code: "index", Weights: []float64{0.2, 0.5, 0.3}, Children: []*pb.WeightNode{
			{Code: "scale.basic"}, {Code: "industry.devices"}, {Code: "tech.rnd"}}},
		Normalization: &pb.Normalization{Method: pb.NormalizationMethod_NORMALIZATION_METHOD_TARGET,
			Indicators: []*pb.IndicatorNormalization{
				{Indicator: "scale.basic", Target: 2000 * unitEFlops},
				{Indicator: "industry.devices", Target: 200},
				{Indicator: "tech.rnd", Target: 400},
			}},
		CoverageThreshold: 0.6, FirstTierAbove: 54, SecondTierMaxRank: 2,
	}
}

// cyclicMatrix is as inconsistent as a 3 × 3 matrix gets: a beats b, b beats
// c and c beats a, each by 9. Its weights are equal and its CR is about 6.
func cyclicMatrix() *pb.PairwiseMatrix {
	return &pb.PairwiseMatrix{Rows: []*pb.MatrixRow{
		{Values: []float64{1, 9, 1.0 / 9}}, {Values: []float64{1.0 / 9, 1, 9}}, {Values: []float64{9, 1.0 / 9, 1}}}}
}

// indexDim returns a score's sub-index of one dimension.
func indexDim(s *pb.IndexScore, code string) *pb.DimensionScore {
	for _, d := range s.GetDimensions() {
		if d.GetDimension() == code {
			return d
		}
	}
	return nil
}

// indexLeaf returns a score's leaf of one indicator.
func indexLeaf(s *pb.IndexScore, code string) *pb.LeafScore {
	for _, l := range s.GetLeaves() {
		if l.GetIndicator() == code {
			return l
		}
	}
	return nil
}
