package web

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// RankIntervals is COINr's uncertainty plot of a year's composite ranks:
// one row per province, ordered by median rank (as ListRankUncertainty
// returns them), with the nominal rank as a dot, the median as a tick and
// the 5-95 % interval of the Monte Carlo runs as a whisker.
type RankIntervals struct {
	Title, Subtitle string
	Rows            []IntervalRow
	// Ranks is the length of the rank axis (the provinces, 31).
	Ranks int
	// Link, if set, links each row to Link+Code (the dashboard's pages).
	Link        string
	Revision    uint64
	Methodology uint64
}

// IntervalRow is one province of RankIntervals; Nominal is 0 when the
// methodology produces no composite for it.
type IntervalRow struct {
	Code, Label           string
	Nominal               int
	Median, P05, P95      float64
	PFirstTier, MeanShift float64
}

// LoadUncertainty reads a year's default rank-uncertainty analysis (the one
// the server keeps current) through src, every province on one page.
func LoadUncertainty(ctx context.Context, src Source, year int) (*pb.ListRankUncertaintyResponse, error) {
	resp, err := src.ListRankUncertainty(ctx, &pb.ListRankUncertaintyRequest{Year: int32(year)})
	if err != nil {
		return nil, fmt.Errorf("rank uncertainty of %d: %w", year, err)
	}
	return resp, nil
}

// RankIntervalsFrom charts an analysis.
func RankIntervalsFrom(resp *pb.ListRankUncertaintyResponse) RankIntervals {
	run := resp.GetRun()
	ri := RankIntervals{Title: fmt.Sprintf("%d: how sure is each rank? (compute development index)", run.GetYear()),
		Subtitle: runSummary(run), Ranks: len(resp.GetProvinces()), Revision: run.GetRevision(), Methodology: run.GetMethodologyVersion()}
	for _, p := range resp.GetProvinces() {
		ri.Rows = append(ri.Rows, IntervalRow{Code: p.GetProvince().GetCode(), Label: ProvinceLabel(p.GetProvince()),
			Nominal: int(p.GetNominalRank()), Median: p.GetMedianRank(), P05: p.GetP05Rank(), P95: p.GetP95Rank(),
			PFirstTier: p.GetPFirstTier(), MeanShift: p.GetMeanAbsRankShift()})
	}
	return ri
}

// runSummary says what an analysis varied and how many runs it took.
func runSummary(run *pb.UncertaintyRun) string {
	var varied []string
	for _, a := range run.GetAssumptions().GetVary() {
		varied = append(varied, assumptionLabel(a))
	}
	switch len(varied) {
	case 0:
		varied = []string{"nothing"}
	case len(pb.UncertainAssumption_name) - 1:
		varied = []string{"every choice"} // the subtitle must fit the chart
	}
	return fmt.Sprintf("%d runs (%d samples, seed %d) varying %s", run.GetRuns(), run.GetSamples(), run.GetSeed(), strings.Join(varied, ", "))
}

// assumptionLabel names a choice in a chart.
func assumptionLabel(a pb.UncertainAssumption) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(a.String(), "UNCERTAIN_ASSUMPTION_")), "_", " ")
}

// Sensitivity charts one province's Sobol indices from an analysis: per
// varied choice, the total index (the share of the rank's variance it
// explains with its interactions) and the first-order one (alone). The
// second result is false if the province is not in the analysis.
func Sensitivity(resp *pb.ListRankUncertaintyResponse, code string) (Ranking, bool) {
	run := resp.GetRun()
	for _, p := range resp.GetProvinces() {
		if p.GetProvince().GetCode() != code {
			continue
		}
		r := Ranking{Title: fmt.Sprintf("%s: what moves its %d rank (Sobol indices)", ProvinceLabel(p.GetProvince()), run.GetYear()),
			Subtitle: fmt.Sprintf("nominal rank %d, 5-95 %%: %g-%g; %s", p.GetNominalRank(), p.GetP05Rank(), p.GetP95Rank(), runSummary(run)),
			Revision: run.GetRevision(), Methodology: run.GetMethodologyVersion(),
			Legend: []LegendEntry{{Fill: colourTier1, Label: "total (with interactions)"}, {Fill: colourTier3, Label: "first-order (alone)"}}}
		for _, s := range p.GetSensitivity() {
			name := assumptionLabel(s.GetAssumption())
			r.Bars = append(r.Bars, Bar{Label: name + " · total", Value: s.GetTotal(), Present: true, Fill: colourTier1},
				Bar{Label: name + " · first-order", Value: s.GetFirstOrder(), Present: true, Fill: colourTier3})
		}
		return r, true
	}
	return Ranking{}, false
}

// Layout of the rank-interval chart, in pixels.
const (
	intervalTop  = 84.0
	intervalRowH = 18.0
	intervalLeft = 198.0
	intervalEnd  = 800.0
)

type intervalView struct {
	Width, Height, Font                    string
	Title, Subtitle                        string
	Revision, Version                      uint64
	LegendX, LegendX2, LegendX3, LegendX3e string
	Top, Bottom, LabelX, AxisLabelX        string
	Ticks                                  []tick
	Rows                                   []intervalRowView
}

type intervalRowView struct {
	Code, Href, Label, Tip, Median, Nominal, P05, P95 string
	Y, YTop, YBottom, TextY                           string
	X05, X95, XMedian, XNominal                       string
	HasNominal                                        bool
}

// RenderRankIntervals writes ri as a standalone SVG document.
func RenderRankIntervals(w io.Writer, ri RankIntervals) error {
	n := max(ri.Ranks, 2)
	for _, r := range ri.Rows {
		n = max(n, int(math.Ceil(r.P95)))
	}
	x := func(rank float64) float64 { return intervalLeft + (rank-1)/float64(n-1)*(intervalEnd-intervalLeft) }
	bottom := intervalTop + intervalRowH*float64(len(ri.Rows))
	v := intervalView{Width: px(rankWidth), Height: px(bottom + 42), Font: fontFamily, Title: ri.Title,
		Subtitle: chartSubtitle(ri.Subtitle, ri.Revision, ri.Methodology), Revision: ri.Revision, Version: ri.Methodology,
		LegendX: px(intervalLeft + 4), LegendX2: px(intervalLeft + 130), LegendX3: px(intervalLeft + 250), LegendX3e: px(intervalLeft + 280),
		Top: px(intervalTop - 4), Bottom: px(bottom), LabelX: px(intervalLeft - 10), AxisLabelX: px((intervalLeft + intervalEnd) / 2)}
	for _, t := range []int{1, 5, 10, 15, 20, 25, 30} {
		if t <= n {
			v.Ticks = append(v.Ticks, tick{Pos: px(x(float64(t))), Label: fmt.Sprint(t)})
		}
	}
	for i, r := range ri.Rows {
		y := intervalTop + intervalRowH*(float64(i)+0.5)
		row := intervalRowView{Code: r.Code, Label: r.Label, Median: fmt.Sprint(r.Median), Nominal: fmt.Sprint(r.Nominal),
			P05: fmt.Sprint(r.P05), P95: fmt.Sprint(r.P95), Y: px(y), YTop: px(y - 5), YBottom: px(y + 5), TextY: px(y + 4),
			X05: px(x(r.P05)), X95: px(x(r.P95)), XMedian: px(x(r.Median)), HasNominal: r.Nominal > 0}
		nominal := "no composite"
		if r.Nominal > 0 {
			row.XNominal, nominal = px(x(float64(r.Nominal))), fmt.Sprintf("nominal rank %d", r.Nominal)
		}
		row.Tip = fmt.Sprintf("%s: %s, median %g, 5-95 %%: %g-%g, first tier in %.0f %% of runs, mean shift %.2f",
			r.Label, nominal, r.Median, r.P05, r.P95, r.PFirstTier*100, r.MeanShift)
		if ri.Link != "" && r.Code != "" {
			row.Href = ri.Link + r.Code
		}
		v.Rows = append(v.Rows, row)
	}
	return render(w, "uncertainty.svg.tmpl", v)
}
