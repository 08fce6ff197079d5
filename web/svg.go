package web

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// The charts are html/template files: the template escapes every label
// (province names, titles) for the element or attribute it lands in, and the
// Go code below only computes coordinates, formatted with fmt.
//
//go:embed templates/*.svg.tmpl templates/*.html.tmpl
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"px": px,
}).ParseFS(templateFS, "templates/*.tmpl"))

// Colours: the three kinds of compute, the three tiers, and the chart's ink.
const (
	colourBasic = "#4e79a7"
	colourAI    = "#f28e2b"
	colourSuper = "#59a14f"
	colourTier1 = "#1f4e96"
	colourTier2 = "#6c9bd2"
	colourTier3 = "#bcd0e8"
	// colourSubIndex is a sub-index's bar on a province page: not a tier's.
	colourSubIndex = "#8c8c8c"
	colourUp       = "#1a7f37"
	colourDown     = "#c0392b"
	colourInk      = "#222222"
	colourMuted    = "#666666"
	colourGrid     = "#e3e3e3"
)

// fontFamily lists a CJK-capable font on each platform, so that the Chinese
// province names render wherever the SVG is opened.
const fontFamily = `system-ui, "Segoe UI", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif`

// px formats a coordinate to a tenth of a pixel.
func px(v float64) string { return fmt.Sprintf("%.1f", v) }

// num formats a chart value: two decimals below 100, one above, as the
// tables of the CLI do for scores.
func num(v float64) string {
	if math.Abs(v) >= 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// growth formats a growth rate as a signed whole percentage ("+73%"), or ""
// when the base is zero.
func growth(now, prev float64) string {
	if !(prev > 0) {
		return ""
	}
	g := (now/prev - 1) * 100
	if math.Abs(g) < 0.5 {
		return "±0%"
	}
	return fmt.Sprintf("%+.0f%%", g)
}

// growthColour colours a growth label green when up, red when down.
func growthColour(label string) string {
	if strings.HasPrefix(label, "-") {
		return colourDown
	}
	return colourUp
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so that axis
// ticks fall on round numbers.
func niceCeil(v float64) float64 {
	if !(v > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p*(1+1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// ticks returns n+1 evenly spaced round values from 0 to at least top.
func ticks(top float64, n int) []float64 {
	step := niceCeil(top / float64(n))
	out := make([]float64, 0, n+1)
	for i := 0; i <= n; i++ {
		out = append(out, float64(i)*step)
	}
	return out
}

// tick is one axis tick: where it is drawn and its label.
type tick struct {
	Pos   string
	Label string
}

// render runs one chart template.
func render(w io.Writer, name string, data any) error {
	if err := templates.ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	return nil
}

// svgString renders a chart to an HTML-safe string for a page: the template
// escaped everything that came from data.
func svgString(fn func(io.Writer) error) (template.HTML, error) {
	var b strings.Builder
	if err := fn(&b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // the template's output is escaped HTML/SVG
}
