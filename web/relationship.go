package web

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Relationship is a scatter of provinces' composite index against an
// economic figure, with the least-squares line (the blue book's figure 16).
type Relationship struct {
	Title    string
	Subtitle string
	XLabel   string
	YLabel   string
	Points   []Point
	// The fit y = Slope·x + Intercept over N points, as AnalyzeRelationship
	// computed it.
	Slope, Intercept, RSquared float64
	N                          int
	Revision                   uint64
	Methodology                uint64
}

// Point is one province on a Relationship.
type Point struct {
	Code  string
	Label string
	X, Y  float64
}

// RelationshipFromResponse charts AnalyzeRelationship's answer for GDP.
func RelationshipFromResponse(year int, r *pb.AnalyzeRelationshipResponse) Relationship {
	rel := Relationship{Title: fmt.Sprintf("%d compute development index and GDP (算力发展指数与 GDP 关系)", year),
		XLabel: "compute development index (composite)", YLabel: "GDP, 10^8 CNY (亿元)",
		Slope: r.GetSlope(), Intercept: r.GetIntercept(), RSquared: r.GetRSquared(), N: int(r.GetN()),
		Revision: r.GetRevision(), Methodology: r.GetMethodologyVersion()}
	for _, p := range r.GetPoints() {
		rel.Points = append(rel.Points, Point{Code: p.GetProvince().GetCode(), Label: ProvinceLabel(p.GetProvince()), X: p.GetComposite(), Y: p.GetY()})
	}
	return rel
}

// Equation is the fitted line as text, e.g. "y = 1188.2x + 2301.5".
func (r Relationship) Equation() string {
	sign, b := "+", r.Intercept
	if b < 0 {
		sign, b = "−", -b
	}
	return fmt.Sprintf("y = %.1fx %s %.1f", r.Slope, sign, b)
}

// Layout of a relationship chart, in pixels.
const (
	relWidth  = 820.0
	relHeight = 480.0
	relLeft   = 78.0
	relRight  = 24.0
	relTop    = 96.0
	relBottom = 48.0
	// relLabelled is how many points at most carry their name.
	relLabelled = 14
)

type relView struct {
	Width, Height, Font            string
	Title, Subtitle, Fit           string
	XLabel, YLabel                 string
	Revision, Version              uint64
	XTicks, YTicks                 []tick
	Left, Right, Top, Bottom       string
	XLabelX, XLabelY, YLabelX      string
	LineX1, LineY1, LineX2, LineY2 string
	Line                           bool
	Dots                           []relDot
}

type relDot struct {
	Code, Label, Tip, X, Y, LabelX, LabelY, Anchor string
	Named                                          bool
}

// placeLabels names up to relLabelled points, the largest provinces (by
// GDP, the chart's y, which the composite roughly follows) first, each in
// the first of four spots around its point (right, left, below right, below
// left) where its name overlaps no name already placed: the provinces crowd
// near the origin, and those left over name themselves in a tooltip. A
// spot that would run off the plot is not taken.
func placeLabels(dots []relDot, pts []Point, x, y func(float64) float64) {
	order := make([]int, len(pts))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(pts[b].Y, pts[a].Y); c != 0 {
			return c
		}
		return cmp.Compare(pts[b].X, pts[a].X)
	})
	type box struct{ x0, x1, y0, y1 float64 }
	overlaps := func(b box, placed []box) bool {
		return slices.ContainsFunc(placed, func(o box) bool { return b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1 })
	}
	var placed []box
	for _, i := range order {
		if len(placed) == relLabelled {
			break
		}
		px0, py := x(pts[i].X), y(pts[i].Y)
		w := textWidth(pts[i].Label, 11)
		for _, spot := range []struct {
			b      box
			anchor string
		}{
			{box{px0 + 6, px0 + 6 + w, py - 16, py - 2}, "start"},
			{box{px0 - 6 - w, px0 - 6, py - 16, py - 2}, "end"},
			{box{px0 + 6, px0 + 6 + w, py + 2, py + 16}, "start"},
			{box{px0 - 6 - w, px0 - 6, py + 2, py + 16}, "end"},
		} {
			b := spot.b
			if b.x0 < relLeft || b.x1 > relWidth-4 || b.y0 < relTop-12 || b.y1 > relHeight-relBottom || overlaps(b, placed) {
				continue
			}
			placed = append(placed, b)
			d := &dots[i]
			d.Named, d.Anchor, d.LabelY = true, spot.anchor, px(b.y1-4)
			d.LabelX = px(b.x0)
			if spot.anchor == "end" {
				d.LabelX = px(b.x1)
			}
			break
		}
	}
}

// textWidth estimates the width of s at a font size: CJK characters are
// square, Latin ones about 0.58 em.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			w += size
		} else {
			w += 0.58 * size
		}
	}
	return w
}

// RenderRelationship writes r as a standalone SVG document.
func RenderRelationship(w io.Writer, r Relationship) error {
	maxX, maxY := 0.0, 0.0
	for _, p := range r.Points {
		maxX, maxY = math.Max(maxX, p.X), math.Max(maxY, p.Y)
	}
	xs, ys := ticks(maxX, 5), ticks(maxY, 5)
	xTop, yTop := xs[len(xs)-1], ys[len(ys)-1]
	plotW, plotH := relWidth-relLeft-relRight, relHeight-relTop-relBottom
	x := func(v float64) float64 { return relLeft + v/xTop*plotW }
	y := func(v float64) float64 { return relHeight - relBottom - v/yTop*plotH }
	v := relView{Width: px(relWidth), Height: px(relHeight), Font: fontFamily, Title: r.Title,
		Subtitle: chartSubtitle(r.Subtitle, r.Revision, r.Methodology), XLabel: r.XLabel, YLabel: r.YLabel,
		Revision: r.Revision, Version: r.Methodology,
		Left: px(relLeft), Right: px(relWidth - relRight), Top: px(relTop), Bottom: px(relHeight - relBottom),
		XLabelX: px(relLeft + plotW/2), XLabelY: px(relHeight - 10), YLabelX: px(relLeft)}
	if r.N > 0 {
		v.Fit = fmt.Sprintf("least squares: %s   R² = %.3f   n = %d", r.Equation(), r.RSquared, r.N)
	}
	for _, t := range xs {
		v.XTicks = append(v.XTicks, tick{Pos: px(x(t)), Label: fmt.Sprintf("%g", t)})
	}
	for _, t := range ys {
		v.YTicks = append(v.YTicks, tick{Pos: px(y(t)), Label: fmt.Sprintf("%g", t)})
	}
	if r.N >= 2 && len(r.Points) > 0 {
		x1, x2 := fitSpan(r, xTop, yTop)
		v.Line = x2 > x1
		v.LineX1, v.LineY1, v.LineX2, v.LineY2 = px(x(x1)), px(y(r.Slope*x1+r.Intercept)), px(x(x2)), px(y(r.Slope*x2+r.Intercept))
	}
	for _, p := range r.Points {
		v.Dots = append(v.Dots, relDot{Code: p.Code, Label: p.Label, X: px(x(p.X)), Y: px(y(p.Y)),
			Tip: fmt.Sprintf("%s: index %s, %s %.0f", p.Label, num(p.X), r.YLabel, p.Y)})
	}
	placeLabels(v.Dots, r.Points, x, y)
	return render(w, "relationship.svg.tmpl", v)
}

// fitSpan is the x range over which the fitted line is drawn: the points'
// range, cut where the line would leave the plot.
func fitSpan(r Relationship, xTop, yTop float64) (x1, x2 float64) {
	x1, x2 = math.Inf(1), math.Inf(-1)
	for _, p := range r.Points {
		x1, x2 = math.Min(x1, p.X), math.Max(x2, p.X)
	}
	if r.Slope != 0 {
		// Where the line crosses y = 0 and y = yTop.
		a, b := (0-r.Intercept)/r.Slope, (yTop-r.Intercept)/r.Slope
		lo, hi := math.Min(a, b), math.Max(a, b)
		x1, x2 = math.Max(x1, lo), math.Min(x2, hi)
	}
	return math.Max(x1, 0), math.Min(x2, xTop)
}
