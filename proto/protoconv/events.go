package protoconv

import (
	"math"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// CellChangeToProto converts a cell a committed write changed, with its new
// amount (zero: the cell is now empty), for a watch event.
func CellChangeToProto(cell estimator.Cell) *pb.ComputeCellChange {
	prov, _ := estimator.ProvinceByCode(cell.Province)
	return &pb.ComputeCellChange{
		Province: ProvinceToProto(prov), Series: pb.ComputeSeries(cell.Series),
		Period: PeriodToProto(cell.Period), Eflops: float64(cell.MFLOPS) / 1e12,
		Mflops: cell.MFLOPS, Units: cell.Units, Records: cell.Records,
	}
}

// ScoreChangeToProto converts a stored score summary a committed write
// changed, for a watch event. A deleted summary has only its province and
// year; NaN scores (absent) are left zero.
func ScoreChangeToProto(sc store.ScoreChange) *pb.IndexScoreChange {
	prov, _ := estimator.ProvinceByCode(sc.Province)
	ch := &pb.IndexScoreChange{Province: ProvinceToProto(prov), Year: int32(sc.Year)}
	if sc.Deleted {
		return ch
	}
	s := sc.Summary
	ch.Produced, ch.Coverage, ch.Rank, ch.Tier = s.Produced, s.Coverage, int32(s.Rank), int32(s.Tier)
	if s.Produced {
		ch.Composite = s.Composite
	}
	for i, d := range s.Dimensions {
		dc := &pb.DimensionScoreChange{Dimension: estimator.Dimensions()[i], Present: d.Present, Rank: int32(d.Rank)}
		if d.Present && !math.IsNaN(d.Score) {
			dc.Score = d.Score
		}
		ch.Dimensions = append(ch.Dimensions, dc)
	}
	return ch
}
