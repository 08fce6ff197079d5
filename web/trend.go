package web

import (
	"fmt"
	"io"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Trend is a stacked bar chart of compute scale by kind over periods, with
// year-on-year growth (the blue book's figures 4-5).
type Trend struct {
	Title    string
	Subtitle string
	Points   []TrendPoint
	Revision uint64 // store revision the totals reflect (0 = not known)
	// DataFrom is the first year with shipments (0 = not known); a point
	// whose window starts before it is drawn as partial.
	DataFrom int
}

// TrendPoint is the window totals ending at one period, and a year earlier.
type TrendPoint struct {
	Label     string // e.g. "2024" (the year's end) or "2025Q2"
	PrevLabel string // the period a year earlier
	Now       Kinds
	Prev      Kinds
	Records   int64 // records behind Now
	// Partial says Now's window starts before the data does, so that it
	// holds fewer than six years of shipments; PrevPartial says the same of
	// Prev. A partial total is low, and a growth rate on one misleads (a
	// window that gains a whole year of data "grows" by that year), so the
	// chart marks the one and leaves out the other.
	Partial, PrevPartial bool
}

// Kinds is compute scale by kind, in FP32-equivalent EFlops.
type Kinds struct {
	Basic float64 // general servers' CPUs, FP32
	AI    float64 // AI accelerators, FP16 as FP32-equivalent
	Super float64 // supercomputers in service, FP64 as FP32-equivalent
}

// Total is the sum of the three kinds.
func (k Kinds) Total() float64 { return k.Basic + k.AI + k.Super }

// totalGrowth is the growth of the total on prev, or "" when a kind that
// counts now had nothing then: where a series starts (the demo feed's first
// year, a province's first AI servers) the total's growth would only say
// how small the other kinds were.
func totalGrowth(now, prev Kinds) string {
	if now.Basic > 0 && prev.Basic <= 0 || now.AI > 0 && prev.AI <= 0 || now.Super > 0 && prev.Super <= 0 {
		return ""
	}
	return growth(now.Total(), prev.Total())
}

// KindsOf takes the FP32-equivalent figures of a ComputeTotals.
func KindsOf(t *pb.ComputeTotals) Kinds {
	return Kinds{Basic: t.GetBasicFp32Eflops(), AI: t.GetAiFp32EquivalentEflops(), Super: t.GetSuperFp32EquivalentEflops()}
}

func trendTitle(p *pb.Province) string {
	if p == nil {
		return "China's compute scale by kind (EFlops, FP32-equivalent; 我国算力规模及增速)"
	}
	return ProvinceLabel(p) + ": compute scale by kind (EFlops, FP32-equivalent)"
}

// Layout of a trend chart, in pixels.
const (
	trendWidth  = 820.0
	trendHeight = 430.0
	trendLeft   = 64.0
	trendRight  = 16.0
	trendTop    = 100.0
	trendBottom = 90.0 // period label and three growth lines
)

type trendView struct {
	Width, Height, Font string
	Title, Subtitle     string
	PartialNote, NoteY  string
	Revision            uint64
	Legend              []legendItem
	YTicks              []tick
	GridLeft, GridRight string
	BaseY               string
	Bars                []trendBar
}

type trendBar struct {
	Partial                               bool
	Period                                string // the period, for data-period; Label may carry a mark
	Label, Tip, Total, Growth, GrowthFill string
	X, W, CX, TotalY, GrowthY, LabelY     string
	Segments                              []segment
	KindGrowth                            []kindGrowth
}

type segment struct{ Y, H, Fill, Kind string }

type kindGrowth struct{ Y, Fill, Text string }

// RenderTrend writes t as a standalone SVG document.
func RenderTrend(w io.Writer, t Trend) error {
	top := 0.0
	for _, p := range t.Points {
		top = max(top, p.Now.Total())
	}
	ys := ticks(top*1.08, 5) // headroom for the labels above the tallest bar
	scaleTop := ys[len(ys)-1]
	plotH := trendHeight - trendTop - trendBottom
	base := trendHeight - trendBottom
	y := func(v float64) float64 { return base - v/scaleTop*plotH }
	v := trendView{Width: px(trendWidth), Height: px(trendHeight), Font: fontFamily, Title: t.Title,
		Subtitle: chartSubtitle(t.Subtitle, t.Revision, 0), Revision: t.Revision,
		GridLeft: px(trendLeft), GridRight: px(trendWidth - trendRight), BaseY: px(base)}
	if v.Title == "" {
		v.Title = trendTitle(nil)
	}
	for i, k := range []struct{ fill, label string }{{colourBasic, "basic (FP32)"}, {colourAI, "AI (FP16 → FP32-eq)"}, {colourSuper, "supercomputing (FP64 → FP32-eq)"}} {
		x := trendLeft + 200*float64(i)
		v.Legend = append(v.Legend, legendItem{X: px(x), TextX: px(x + 16), Fill: k.fill, Label: k.label})
	}
	for _, tv := range ys {
		v.YTicks = append(v.YTicks, tick{Pos: px(y(tv)), Label: fmt.Sprintf("%g", tv)})
	}
	slot := (trendWidth - trendLeft - trendRight) / float64(max(len(t.Points), 1))
	barW := min(56, slot*0.6)
	for i, p := range t.Points {
		cx := trendLeft + slot*(float64(i)+0.5)
		b := trendBar{Label: p.Label, X: px(cx - barW/2), W: px(barW), CX: px(cx), LabelY: px(base + 16),
			Total: num(p.Now.Total()), Growth: totalGrowth(p.Now, p.Prev), Partial: p.Partial, Period: p.Label}
		comparable := !p.Partial && !p.PrevPartial
		if !comparable {
			b.Growth = ""
		}
		if p.Partial {
			b.Label += "*"
			v.NoteY = px(trendHeight - 6)
			v.PartialNote = fmt.Sprintf("* partial window: it starts before the first shipments (%d), so the total covers fewer than six years; growth is shown only between complete windows", t.DataFrom)
		}
		b.GrowthFill = growthColour(b.Growth)
		b.TotalY, b.GrowthY = px(y(p.Now.Total())-18), px(y(p.Now.Total())-5)
		if b.Growth == "" {
			b.TotalY = px(y(p.Now.Total()) - 5)
		}
		b.Tip = fmt.Sprintf("%s: %s EFlops (basic %s, AI %s, supercomputing %s)", p.Label, num(p.Now.Total()), num(p.Now.Basic), num(p.Now.AI), num(p.Now.Super))
		if b.Growth != "" {
			b.Tip += fmt.Sprintf("; %s on %s", b.Growth, p.PrevLabel)
		}
		if p.Partial {
			b.Tip += fmt.Sprintf("; partial window (data from %d)", t.DataFrom)
		}
		acc := 0.0
		for _, s := range []struct {
			kind      string
			fill      string
			now, prev float64
		}{{"basic", colourBasic, p.Now.Basic, p.Prev.Basic}, {"AI", colourAI, p.Now.AI, p.Prev.AI}, {"super", colourSuper, p.Now.Super, p.Prev.Super}} {
			if s.now > 0 {
				b.Segments = append(b.Segments, segment{Y: px(y(acc + s.now)), H: px(y(acc) - y(acc+s.now)), Fill: s.fill, Kind: s.kind})
			}
			acc += s.now
			if g := growth(s.now, s.prev); g != "" && comparable {
				b.KindGrowth = append(b.KindGrowth, kindGrowth{Y: px(base + 32 + 14*float64(len(b.KindGrowth))), Fill: s.fill, Text: s.kind + " " + g})
			}
		}
		v.Bars = append(v.Bars, b)
	}
	return render(w, "trend.svg.tmpl", v)
}
