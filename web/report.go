package web

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Report is what `computescale report` writes for an index year: the six
// rankings (the composite, then the five dimensions), the national trend up
// to the latest data, and the index against GDP — the dashboard's charts,
// loaded and drawn by the same code.
type Report struct {
	Year         int
	Rankings     []Ranking // composite first, then Dimensions' order
	Trend        Trend
	Relationship Relationship
	// Uncertainty is the year's rank-interval chart and Sensitivity one
	// Sobol chart per province, in the analysis's order (by median rank).
	Uncertainty RankIntervals
	Sensitivity []Ranking
	Revision    uint64 // the highest store revision among the reads
	Methodology uint64
	Generated   time.Time
}

// LoadReport reads a Report for year (0 = the latest year with scores)
// through src; now says which years to look for data in.
func LoadReport(ctx context.Context, src Source, year int, now time.Time) (Report, error) {
	if year == 0 {
		y, err := LatestIndexYear(ctx, src, now.Year()+1)
		if err != nil {
			return Report{}, err
		}
		if y == 0 {
			return Report{}, fmt.Errorf("no index scores in the ten years to %d: give --year", now.Year()+1)
		}
		year = y
	}
	rep := Report{Year: year, Generated: now}
	for _, dim := range append([]string{""}, dimensionCodes()...) {
		rk, err := LoadRanking(ctx, src, year, dim)
		if err != nil {
			return rep, fmt.Errorf("ranking %q of %d: %w", dim, year, err)
		}
		rep.Rankings = append(rep.Rankings, rk)
		rep.Revision, rep.Methodology = max(rep.Revision, rk.Revision), rk.Methodology
	}
	end, ok, err := LatestData(ctx, src, now.Year()+1)
	if err != nil {
		return rep, fmt.Errorf("latest shipments: %w", err)
	}
	if ok {
		if rep.Trend, err = LoadTrend(ctx, src, "", end); err != nil {
			return rep, fmt.Errorf("trend: %w", err)
		}
		rep.Revision = max(rep.Revision, rep.Trend.Revision)
	}
	if rep.Relationship, err = LoadRelationship(ctx, src, year); err != nil {
		return rep, fmt.Errorf("index and GDP in %d: %w", year, err)
	}
	rep.Revision = max(rep.Revision, rep.Relationship.Revision)
	u, err := LoadUncertainty(ctx, src, year)
	if err != nil {
		return rep, err
	}
	rep.Uncertainty = RankIntervalsFrom(u)
	for _, p := range u.GetProvinces() {
		if rk, ok := Sensitivity(u, p.GetProvince().GetCode()); ok && len(rk.Bars) > 0 {
			rep.Sensitivity = append(rep.Sensitivity, rk)
		}
	}
	rep.Revision = max(rep.Revision, rep.Uncertainty.Revision)
	return rep, nil
}

func dimensionCodes() []string {
	var out []string
	for _, d := range Dimensions {
		out = append(out, d.Code)
	}
	return out
}

// reportChart is one chart of a report: its file and how to draw it.
type reportChart struct {
	File  string
	draw  func(io.Writer) error
	Title string
	SVG   template.HTML
}

func (r Report) charts() []reportChart {
	var out []reportChart
	for i, rk := range r.Rankings {
		name := "composite"
		if i > 0 {
			name = Dimensions[i-1].Code
		}
		out = append(out, reportChart{File: "ranking-" + name + ".svg", Title: rk.Title, draw: func(w io.Writer) error { return RenderRanking(w, rk) }})
	}
	if len(r.Trend.Points) > 0 {
		out = append(out, reportChart{File: "trend.svg", Title: r.Trend.Title, draw: func(w io.Writer) error { return RenderTrend(w, r.Trend) }})
	}
	out = append(out, reportChart{File: "relationship.svg", Title: r.Relationship.Title,
		draw: func(w io.Writer) error { return RenderRelationship(w, r.Relationship) }})
	if len(r.Uncertainty.Rows) > 0 {
		out = append(out, reportChart{File: "uncertainty.svg", Title: r.Uncertainty.Title,
			draw: func(w io.Writer) error { return RenderRankIntervals(w, r.Uncertainty) }})
	}
	for i, rk := range r.Sensitivity {
		out = append(out, reportChart{File: "sensitivity-" + r.Uncertainty.Rows[i].Code + ".svg", Title: rk.Title,
			draw: func(w io.Writer) error { return RenderRanking(w, rk) }})
	}
	return out
}

// Write writes every chart as a standalone SVG file into dir (created if
// missing) and index.html, which shows them all inline and links each file,
// so that it works offline and alone; it returns the files' names.
func (r Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report directory: %w", err)
	}
	charts := r.charts()
	var names []string
	for i := range charts {
		var b strings.Builder
		if err := charts[i].draw(&b); err != nil {
			return names, err
		}
		if err := os.WriteFile(filepath.Join(dir, charts[i].File), []byte(b.String()), 0o644); err != nil {
			return names, fmt.Errorf("write %s: %w", charts[i].File, err)
		}
		charts[i].SVG = template.HTML(b.String()) // template output, escaped
		names = append(names, charts[i].File)
	}
	var b strings.Builder
	err := templates.ExecuteTemplate(&b, "report.html.tmpl", struct {
		Report
		Charts    []reportChart
		Generated string
	}{r, charts, r.Generated.UTC().Format(time.RFC3339)})
	if err != nil {
		return names, fmt.Errorf("render index.html: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(b.String()), 0o644); err != nil {
		return names, fmt.Errorf("write index.html: %w", err)
	}
	return append(names, "index.html"), nil
}
