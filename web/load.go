package web

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Source is the read side of the computescale services, with the gRPC
// handlers' signatures: *server.Server implements it in-process, and the
// report command adapts a client connection to it. Everything this package
// shows is loaded through it.
type Source interface {
	GetProvinceCompute(context.Context, *pb.GetProvinceComputeRequest) (*pb.GetProvinceComputeResponse, error)
	GetNationalCompute(context.Context, *pb.GetNationalComputeRequest) (*pb.GetNationalComputeResponse, error)
	GetIndex(context.Context, *pb.GetIndexRequest) (*pb.GetIndexResponse, error)
	ListIndex(context.Context, *pb.ListIndexRequest) (*pb.ListIndexResponse, error)
	GetMethodology(context.Context, *pb.GetMethodologyRequest) (*pb.GetMethodologyResponse, error)
	AnalyzeRelationship(context.Context, *pb.AnalyzeRelationshipRequest) (*pb.AnalyzeRelationshipResponse, error)
	ListRankUncertainty(context.Context, *pb.ListRankUncertaintyRequest) (*pb.ListRankUncertaintyResponse, error)
}

// TrendFrom is the first year of the compute trend: the blue book's series
// (figures 4-5) starts there.
const TrendFrom = 2019

// DefaultFirstTier is the blue book's first-tier threshold, used when a
// methodology cannot be read.
const DefaultFirstTier = 40

// Period is a year's end (Quarter 0) or the end of a quarter.
type Period struct{ Year, Quarter int }

func (p Period) String() string {
	if p.Quarter == 0 {
		return fmt.Sprint(p.Year)
	}
	return fmt.Sprintf("%dQ%d", p.Year, p.Quarter)
}

// computeOf reads the window totals ending at p, of a province or (province
// "") of the nation.
func computeOf(ctx context.Context, src Source, province string, p Period) (*pb.ComputeTotals, error) {
	if province == "" {
		r, err := src.GetNationalCompute(ctx, &pb.GetNationalComputeRequest{Year: int32(p.Year), Quarter: int32(p.Quarter)})
		return r.GetTotals(), err
	}
	r, err := src.GetProvinceCompute(ctx, &pb.GetProvinceComputeRequest{Province: province, Year: int32(p.Year), Quarter: int32(p.Quarter)})
	return r.GetTotals(), err
}

// contribution is what shipments of year adds to t.
func contribution(t *pb.ComputeTotals, year int) float64 {
	for _, y := range t.GetYears() {
		if int(y.GetYear()) == year {
			return y.GetTotalFp32EquivalentEflops()
		}
	}
	return 0
}

// LatestData finds the latest period with shipment data, looking back from
// the year from: the latest year contributing to a window, then the first
// quarter of it after which that year's contribution stops growing (Quarter
// 0 if it grows into the fourth). ok is false when no window back to 1990
// holds any shipment.
func LatestData(ctx context.Context, src Source, from int) (p Period, ok bool, err error) {
	// A window spans six years, so stepping back six years at a time
	// misses none; a year past the server's range is skipped.
	for y := from; y >= 1990 && !ok; {
		t, err := computeOf(ctx, src, "", Period{Year: y})
		if status.Code(err) == codes.InvalidArgument {
			y--
			continue
		} else if err != nil {
			return p, false, err
		}
		for _, c := range t.GetYears() {
			if c.GetTotalFp32EquivalentEflops() > 0 && int(c.GetYear()) > p.Year {
				p.Year, ok = int(c.GetYear()), true
			}
		}
		y -= 6
	}
	if !ok {
		return Period{}, false, nil
	}
	full, err := computeOf(ctx, src, "", p)
	if err != nil {
		return p, false, err
	}
	for q := 1; q < 4; q++ {
		t, err := computeOf(ctx, src, "", Period{p.Year, q})
		if err != nil {
			return p, false, err
		}
		if contribution(t, p.Year) >= contribution(full, p.Year)*(1-1e-12) {
			p.Quarter = q
			break
		}
	}
	return p, true, nil
}

// LatestIndexYear is the latest year, from the year from back, in which the
// index scores some province; 0 when none of the ten years before does.
func LatestIndexYear(ctx context.Context, src Source, from int) (int, error) {
	for y := from; y > from-10; y-- {
		r, err := src.ListIndex(ctx, &pb.ListIndexRequest{Year: int32(y), PageSize: 1})
		if status.Code(err) == codes.InvalidArgument {
			continue
		} else if err != nil {
			return 0, err
		}
		// Produced scores rank first, so the first tells.
		if s := r.GetScores(); len(s) > 0 && s[0].GetProduced() {
			return y, nil
		}
	}
	return 0, nil
}

// IndexYears are the years, from the year from back over ten years, in which
// the index scores some province, newest first: the years the dashboard
// offers.
func IndexYears(ctx context.Context, src Source, from int) ([]int, error) {
	var out []int
	for y := from; y > from-10; y-- {
		r, err := src.ListIndex(ctx, &pb.ListIndexRequest{Year: int32(y), PageSize: 1})
		if status.Code(err) == codes.InvalidArgument {
			continue
		} else if err != nil {
			return nil, err
		}
		if s := r.GetScores(); len(s) > 0 && s[0].GetProduced() {
			out = append(out, y)
		}
	}
	return out, nil
}

// LoadScoreTrend reads a province's composite in each of years (newest
// first, as IndexYears gives them) as a chart of one bar a year, oldest at
// the top, each with the province's rank and tier that year.
func LoadScoreTrend(ctx context.Context, src Source, province string, years []int) (Ranking, error) {
	var r Ranking
	var label string
	for _, y := range slices.Backward(years) {
		resp, err := src.GetIndex(ctx, &pb.GetIndexRequest{Province: province, Year: int32(y)})
		if err != nil {
			return Ranking{}, err
		}
		s := resp.GetScore()
		label = ProvinceLabel(s.GetProvince())
		r.Bars = append(r.Bars, Bar{Label: fmt.Sprint(y), Rank: int(s.GetRank()), Value: s.GetComposite(), Present: s.GetProduced(), Tier: int(s.GetTier())})
		r.Revision, r.Methodology = max(r.Revision, s.GetRevision()), s.GetMethodologyVersion()
	}
	firstTier, err := firstTierOf(ctx, src, r.Methodology)
	if err != nil {
		return Ranking{}, err
	}
	r.FirstTier = firstTier
	r.Title = label + ": composite index by year (rank among the provinces on the left)"
	return r, nil
}

// TrendPeriods are the periods the trend plots up to end: each year's end
// from TrendFrom, and end itself when it is a quarter (a year's end only
// once that year is complete).
func TrendPeriods(end Period) []Period {
	var out []Period
	for y := min(TrendFrom, end.Year); y < end.Year; y++ {
		out = append(out, Period{Year: y})
	}
	return append(out, end)
}

// LoadTrend reads the window totals at each of TrendPeriods(end) and a year
// before each (for the growth rates), of a province or (province "") the
// nation, and marks the windows that start before the national data does.
func LoadTrend(ctx context.Context, src Source, province string, end Period) (Trend, error) {
	var tr Trend
	periods := TrendPeriods(end)
	from, err := firstDataYear(ctx, src, periods)
	if err != nil {
		return tr, err
	}
	tr.DataFrom = from
	partial := func(t *pb.ComputeTotals) bool {
		return from > 0 && (t.GetWindowStart() == nil || int(t.GetWindowStart().GetYear()) < from)
	}
	var prev *pb.ComputeTotals
	for _, p := range periods {
		before := Period{p.Year - 1, p.Quarter}
		if prev == nil || p.Quarter != 0 {
			t, err := computeOf(ctx, src, province, before)
			if status.Code(err) == codes.InvalidArgument {
				t = &pb.ComputeTotals{} // before the server's first year: no growth
			} else if err != nil {
				return tr, err
			}
			prev = t
		}
		t, err := computeOf(ctx, src, province, p)
		if err != nil {
			return tr, err
		}
		tr.Points = append(tr.Points, TrendPoint{Label: p.String(), PrevLabel: before.String(),
			Now: KindsOf(t), Prev: KindsOf(prev), Records: t.GetRecordCount(), Partial: partial(t), PrevPartial: partial(prev)})
		tr.Revision = max(tr.Revision, t.GetRevision())
		if tr.Title == "" {
			tr.Title = trendTitle(t.GetProvince())
		}
		prev = t
	}
	return tr, nil
}

// firstDataYear is the first year with national shipments, found in the
// national windows at periods (oldest first): windows overlap, so the first
// one holding any data holds the first year. 0 when none holds any.
func firstDataYear(ctx context.Context, src Source, periods []Period) (int, error) {
	for _, p := range periods {
		t, err := computeOf(ctx, src, "", p)
		if err != nil {
			return 0, err
		}
		for _, c := range t.GetYears() { // oldest first
			if c.GetTotalFp32EquivalentEflops() > 0 {
				return int(c.GetYear()), nil
			}
		}
	}
	return 0, nil
}

// LoadRanking reads a year's ranking by the composite (dimension "") or one
// dimension, and the first-tier threshold of the methodology that scored it.
func LoadRanking(ctx context.Context, src Source, year int, dimension string) (Ranking, error) {
	req := &pb.ListIndexRequest{Year: int32(year), Dimension: dimension}
	var scores []*pb.IndexScore
	var version, rev uint64
	for {
		r, err := src.ListIndex(ctx, req)
		if err != nil {
			return Ranking{}, err
		}
		scores = append(scores, r.GetScores()...)
		version, rev = r.GetMethodologyVersion(), max(rev, r.GetRevision())
		if req.PageToken = r.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	firstTier, err := firstTierOf(ctx, src, version)
	if err != nil {
		return Ranking{}, err
	}
	rk := RankingFromScores(year, dimension, scores, firstTier)
	rk.Revision, rk.Methodology = rev, version
	return rk, nil
}

func firstTierOf(ctx context.Context, src Source, version uint64) (float64, error) {
	m, err := src.GetMethodology(ctx, &pb.GetMethodologyRequest{Version: version})
	if err != nil {
		return DefaultFirstTier, err
	}
	return m.GetMethodology().GetFirstTierAbove(), nil
}

// LoadScores reads one province's index for a year as a chart of its
// composite and five dimension scores.
func LoadScores(ctx context.Context, src Source, province string, year int) (Ranking, error) {
	r, err := src.GetIndex(ctx, &pb.GetIndexRequest{Province: province, Year: int32(year)})
	if err != nil {
		return Ranking{}, err
	}
	firstTier, err := firstTierOf(ctx, src, r.GetScore().GetMethodologyVersion())
	if err != nil {
		return Ranking{}, err
	}
	return ScoreBars(r.GetScore(), firstTier), nil
}

// LoadRelationship reads the fit of GDP on the composite for a year.
func LoadRelationship(ctx context.Context, src Source, year int) (Relationship, error) {
	r, err := src.AnalyzeRelationship(ctx, &pb.AnalyzeRelationshipRequest{Year: int32(year), Y: pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP})
	if err != nil {
		return Relationship{}, err
	}
	return RelationshipFromResponse(year, r), nil
}
