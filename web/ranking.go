package web

import (
	"fmt"
	"io"
	"math"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Ranking is a horizontal bar chart of scores in rank order: a province
// ranking of the composite index or of one sub-index (the blue book's
// figures 10-15), or one province's six scores.
type Ranking struct {
	Title    string
	Subtitle string
	// FirstTier is the first-tier threshold: bars without a Tier are
	// highlighted above it (the blue book's tiers start at 40).
	FirstTier float64
	Bars      []Bar
	// Link, if set, makes each bar with a Code a link to Link+Code (the
	// dashboard's province pages); the report's files leave it empty.
	Link string
	// Revision and Methodology are the store revision and methodology
	// version the scores reflect (0 = not known).
	Revision    uint64
	Methodology uint64
	// Legend, if set, replaces the tier legend (for bars that are not all
	// composites, whose tiers mean nothing for a sub-index).
	Legend []LegendEntry
}

// LegendEntry is one colour of a chart's legend.
type LegendEntry struct{ Fill, Label string }

// Bar is one bar of a Ranking.
type Bar struct {
	Code    string // province code, for links and data attributes; may be empty
	Label   string // e.g. "Guangdong 广东"
	Rank    int    // 0 when unranked
	Value   float64
	Present bool   // false: no score (drawn as "—", without a bar)
	Tier    int    // 1-3 colours by tier; 0 colours by FirstTier
	Fill    string // if set, the bar's colour, whatever its value or tier
}

// Dimensions are the five sub-indices in the blue book's order, with the
// names of its figures 11-15.
var Dimensions = []struct{ Code, Name, NameZh string }{
	{"scale", "compute scale", "算力规模分指数"},
	{"industry", "computing industry", "计算产业分指数"},
	{"tech", "computing technology", "计算技术分指数"},
	{"env", "development environment", "发展环境分指数"},
	{"app", "computing applications", "计算应用分指数"},
}

// dimensionName names a dimension (or, for "", the composite).
func dimensionName(code string) string {
	for _, d := range Dimensions {
		if d.Code == code {
			return fmt.Sprintf("%s sub-index (%s)", d.Name, d.NameZh)
		}
	}
	if code == "" {
		return "compute development index (算力发展指数)"
	}
	return code
}

// ProvinceLabel is how a chart names a province: pinyin and Chinese.
func ProvinceLabel(p *pb.Province) string { return p.GetName() + " " + p.GetNameZh() }

// RankingFromScores charts ListIndex's scores, in the order given (rank
// order), by the composite (dimension "") or by one dimension.
func RankingFromScores(year int, dimension string, scores []*pb.IndexScore, firstTier float64) Ranking {
	r := Ranking{Title: fmt.Sprintf("%d %s", year, dimensionName(dimension)), FirstTier: firstTier}
	for _, s := range scores {
		b := Bar{Code: s.GetProvince().GetCode(), Label: ProvinceLabel(s.GetProvince())}
		if dimension == "" {
			b.Value, b.Rank, b.Present, b.Tier = s.GetComposite(), int(s.GetRank()), s.GetProduced(), int(s.GetTier())
		} else if d := dimensionOf(s, dimension); d != nil {
			b.Value, b.Rank, b.Present = d.GetScore(), int(d.GetRank()), d.GetPresent()
		}
		r.Bars = append(r.Bars, b)
		r.Revision, r.Methodology = max(r.Revision, s.GetRevision()), s.GetMethodologyVersion()
	}
	return r
}

// ScoreBars charts one province's composite and five dimension scores, each
// with its rank among the provinces. The composite is coloured by its tier;
// the sub-indices, which have no tiers, in one neutral colour, and the
// legend says so rather than showing the tiers' thresholds.
func ScoreBars(s *pb.IndexScore, firstTier float64) Ranking {
	r := Ranking{Title: fmt.Sprintf("%s: index scores %d", ProvinceLabel(s.GetProvince()), s.GetYear()), FirstTier: firstTier,
		Revision: s.GetRevision(), Methodology: s.GetMethodologyVersion()}
	composite := Bar{Label: "composite 算力发展指数", Rank: int(s.GetRank()), Value: s.GetComposite(), Present: s.GetProduced(), Tier: int(s.GetTier())}
	composite.Fill = barFill(composite, firstTier)
	r.Bars = append(r.Bars, composite)
	for _, d := range Dimensions {
		ds := dimensionOf(s, d.Code)
		r.Bars = append(r.Bars, Bar{Label: d.Code + " " + d.NameZh, Rank: int(ds.GetRank()), Value: ds.GetScore(), Present: ds.GetPresent(), Fill: colourSubIndex})
	}
	tier := "composite (no tier)"
	if s.GetProduced() && s.GetTier() > 0 {
		tier = fmt.Sprintf("composite: tier %d", s.GetTier())
	}
	r.Legend = []LegendEntry{{Fill: composite.Fill, Label: tier}, {Fill: colourSubIndex, Label: "sub-indices (ranked, not tiered)"}}
	return r
}

func dimensionOf(s *pb.IndexScore, code string) *pb.DimensionScore {
	for _, d := range s.GetDimensions() {
		if d.GetDimension() == code {
			return d
		}
	}
	return nil
}

// Layout of a ranking, in pixels.
const (
	rankWidth    = 820.0
	rankLabelEnd = 190.0 // labels are right-aligned here
	rankValueGap = 64.0  // room right of the longest bar for its value
	rankTop      = 78.0
	rankRowH     = 22.0
	rankBarH     = 15.0
)

type rankingView struct {
	Width, Height, Font string
	Title, Subtitle     string
	Revision, Version   uint64
	Legend              []legendItem
	Rows                []rankRow
	ZeroX, AxisTop      string
	AxisBottom          string
}

type legendItem struct{ X, TextX, Fill, Label string }

type rankRow struct {
	Code, Href, Label, Value, Rank, Tip, Fill string
	Y, TextY, X, W, ValueX, LabelX, RankX     string
	Present                                   bool
}

// RenderRanking writes r as a standalone SVG document.
func RenderRanking(w io.Writer, r Ranking) error {
	lo, hi := 0.0, 0.0
	for _, b := range r.Bars {
		if b.Present {
			lo, hi = math.Min(lo, b.Value), math.Max(hi, b.Value)
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	span := rankWidth - rankLabelEnd - 8 - rankValueGap
	x := func(v float64) float64 { return rankLabelEnd + 8 + (v-lo)/(hi-lo)*span }
	v := rankingView{Width: px(rankWidth), Height: px(rankTop + rankRowH*float64(len(r.Bars)) + 12), Font: fontFamily,
		Title: r.Title, Subtitle: chartSubtitle(r.Subtitle, r.Revision, r.Methodology), Revision: r.Revision, Version: r.Methodology,
		ZeroX: px(x(0)), AxisTop: px(rankTop - 4), AxisBottom: px(rankTop + rankRowH*float64(len(r.Bars)))}
	v.Legend = rankingLegend(r)
	for i, b := range r.Bars {
		y := rankTop + rankRowH*float64(i)
		row := rankRow{Code: b.Code, Label: b.Label, Present: b.Present, Y: px(y + (rankRowH-rankBarH)/2), TextY: px(y + rankRowH/2 + 4),
			LabelX: px(rankLabelEnd), RankX: px(28), Value: "—", Fill: barFill(b, r.FirstTier)}
		if b.Rank > 0 {
			row.Rank = fmt.Sprint(b.Rank)
		}
		if r.Link != "" && b.Code != "" {
			row.Href = r.Link + b.Code
		}
		row.Tip = b.Label + ": no score"
		if b.Present {
			x0, x1 := x(math.Min(0, b.Value)), x(math.Max(0, b.Value))
			row.X, row.W, row.Value, row.ValueX = px(x0), px(math.Max(x1-x0, 0.5)), num(b.Value), px(x1+4)
			row.Tip = fmt.Sprintf("%s: %s", b.Label, num(b.Value))
			if b.Rank > 0 {
				row.Tip += fmt.Sprintf(", rank %d", b.Rank)
			}
			if b.Tier > 0 {
				row.Tip += fmt.Sprintf(", tier %d", b.Tier)
			}
		} else {
			row.ValueX = px(x(0) + 4)
		}
		v.Rows = append(v.Rows, row)
	}
	return render(w, "ranking.svg.tmpl", v)
}

func barFill(b Bar, firstTier float64) string {
	switch {
	case b.Fill != "":
		return b.Fill
	case b.Tier == 1:
		return colourTier1
	case b.Tier == 2:
		return colourTier2
	case b.Tier == 3:
		return colourTier3
	case b.Value > firstTier:
		return colourTier1
	}
	return colourTier2
}

func rankingLegend(r Ranking) []legendItem {
	if r.Legend != nil {
		items := make([]legendItem, len(r.Legend))
		for i, e := range r.Legend {
			x := rankLabelEnd + 8 + 210*float64(i)
			items[i] = legendItem{X: px(x), TextX: px(x + 16), Fill: e.Fill, Label: e.Label}
		}
		return items
	}
	tiered := false
	for _, b := range r.Bars {
		tiered = tiered || b.Tier > 0
	}
	t := fmt.Sprintf("%g", r.FirstTier)
	items := []legendItem{{Fill: colourTier1, Label: "above " + t + " (first-tier level)"}, {Fill: colourTier2, Label: t + " or below"}}
	if tiered {
		items = []legendItem{{Fill: colourTier1, Label: "first tier (composite > " + t + ")"},
			{Fill: colourTier2, Label: "second tier"}, {Fill: colourTier3, Label: "third tier"}}
	}
	for i := range items {
		x := rankLabelEnd + 8 + 210*float64(i)
		items[i].X, items[i].TextX = px(x), px(x+16)
	}
	return items
}

// chartSubtitle appends the revision and methodology a chart reflects.
func chartSubtitle(sub string, rev, version uint64) string {
	s := sub
	add := func(part string) {
		if s != "" {
			s += " · "
		}
		s += part
	}
	if version > 0 {
		add(fmt.Sprintf("methodology v%d", version))
	}
	if rev > 0 {
		add(fmt.Sprintf("store revision %d", rev))
	}
	return s
}
