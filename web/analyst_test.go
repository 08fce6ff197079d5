package web_test

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/web"
)

// TestTrendMarksPartialWindows: a window that starts before the first
// shipments holds fewer than six years and is marked, and no growth is
// shown on it or against it (the "+157 %" of a window gaining a year of
// data is not growth).
func TestTrendMarksPartialWindows(t *testing.T) {
	e := newEnv(t, loadCatalog)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := aiServers("first", "CN-GD", 1000)
	first.Period = &pb.Period{Year: 2022}
	e.ingest(ctx, t, first, aiServers("later", "CN-GD", 3000))
	_, body := get(t, e, "GET", "/fragment/trend", readerToken)
	for _, period := range []string{"2019", "2022", "2024"} {
		g := periodGroup(t, body, period)
		if !strings.Contains(g, `data-partial="true"`) || !strings.Contains(g, `data-growth=""`) || !strings.Contains(g, ">"+period+"*</text>") {
			t.Errorf("window ending %s starts before the data (2022): want it marked partial, without growth:\n%s", period, g)
		}
	}
	if !strings.Contains(body, "starts before the first shipments (2022)") {
		t.Errorf("the chart does not say what the mark means:\n%s", body)
	}

	// Complete windows keep their growth; one on a partial window loses it.
	var b strings.Builder
	err := web.RenderTrend(&b, web.Trend{DataFrom: 2014, Points: []web.TrendPoint{
		{Label: "2019", PrevLabel: "2018", Now: web.Kinds{Basic: 10, AI: 10}, Prev: web.Kinds{Basic: 5, AI: 5}, Partial: true, PrevPartial: true},
		{Label: "2020", PrevLabel: "2019", Now: web.Kinds{Basic: 20, AI: 20}, Prev: web.Kinds{Basic: 10, AI: 10}, PrevPartial: true},
		{Label: "2021", PrevLabel: "2020", Now: web.Kinds{Basic: 30, AI: 30}, Prev: web.Kinds{Basic: 20, AI: 20}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.String())
	svg := html.UnescapeString(b.String()) // html/template writes + as &#43;
	if g := periodGroup(t, svg, "2020"); strings.Contains(g, "data-partial") || !strings.Contains(g, `data-growth=""`) || strings.Contains(g, "basic +") {
		t.Errorf("2020 is complete but its previous window is not: no growth wanted:\n%s", g)
	}
	if g := periodGroup(t, svg, "2021"); !strings.Contains(g, `data-growth="+50%"`) || !strings.Contains(g, "basic +50%") {
		t.Errorf("2021 and 2020 are complete: want +50%%:\n%s", g)
	}
}

// periodGroup is the trend's <g> of one period.
func periodGroup(t *testing.T, svg, period string) string {
	t.Helper()
	i := strings.Index(svg, `data-period="`+period+`"`)
	if i < 0 {
		t.Fatalf("no period %s in:\n%s", period, svg)
	}
	start := strings.LastIndex(svg[:i], "<g ")
	end := strings.Index(svg[i:], "</g>")
	return svg[start : i+end]
}

var yearOption = regexp.MustCompile(`<option value="(\d{4})"[^>]*>`)

// TestDashboardAsAnalystReadsIt checks, on the demo data, what an analyst
// reading the dashboard relies on: the demo's trend is complete windows,
// the largest provinces are named in the relationship chart, the year menu
// offers only years with scores, and a province page shows its score over
// the years and its sub-indices without the composite's tiers.
func TestDashboardAsAnalystReadsIt(t *testing.T) {
	e := newEnv(t, loadDemo)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var years []int
	for y := time.Now().Year() + 1; y > time.Now().Year()-10; y-- {
		if s, err := e.reader.ListIndex(ctx, y, "", 0); err == nil && len(s) > 0 && s[0].GetProduced() {
			years = append(years, y)
		}
	}
	if len(years) < 2 {
		t.Fatalf("the demo scores %v; want several years", years)
	}

	// The demo feed starts in 2014, so every charted window is complete and
	// has its growth, but for 2019's: the window a year earlier starts in
	// 2013, before the data.
	t.Run("OKDemoTrendIsCompleteWindows", func(t *testing.T) {
		_, body := get(t, e, "GET", "/fragment/trend", readerToken)
		if strings.Contains(body, "data-partial") {
			t.Errorf("the demo feed leaves charted windows partial:\n%s", body)
		}
		for _, period := range []string{"2020", "2021", "2024", "2025Q2"} {
			if g := periodGroup(t, body, period); strings.Contains(g, `data-growth=""`) {
				t.Errorf("%s has no growth:\n%s", period, g)
			}
		}
		if g := periodGroup(t, body, "2019"); !strings.Contains(g, `data-growth=""`) {
			t.Errorf("2019's growth compares with a partial window:\n%s", g)
		}
	})

	t.Run("OKRelationshipNamesTheLargest", func(t *testing.T) {
		rel, err := e.reader.AnalyzeRelationship(ctx, years[0], pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP, 0)
		if err != nil {
			t.Fatal(err)
		}
		pts := slices.Clone(rel.GetPoints())
		slices.SortFunc(pts, func(a, b *pb.RelationshipPoint) int { return -cmp.Compare(a.GetY(), b.GetY()) })
		_, body := get(t, e, "GET", fmt.Sprintf("/fragment/relationship?year=%d", years[0]), readerToken)
		for _, p := range pts[:8] {
			if !strings.Contains(body, `<g class="point named" data-code="`+p.GetProvince().GetCode()+`"`) {
				t.Errorf("%s (GDP %.0f, among the eight largest) is not named", p.GetProvince().GetName(), p.GetY())
			}
		}
	})

	t.Run("OKYearMenuOnlyYearsWithScores", func(t *testing.T) {
		for _, path := range []string{"/", "/province/440000"} {
			_, body := get(t, e, "GET", path, readerToken)
			var offered []int
			for _, m := range yearOption.FindAllStringSubmatch(body, -1) {
				var y int
				fmt.Sscan(m[1], &y)
				offered = append(offered, y)
			}
			if !slices.Equal(offered, years) {
				t.Errorf("%s offers years %v, want the years with scores %v", path, offered, years)
			}
		}
	})

	t.Run("OKProvinceScoreTrendAndSubIndices", func(t *testing.T) {
		_, body := get(t, e, "GET", fmt.Sprintf("/province/440000?year=%d", years[0]), readerToken)
		charts := strings.Split(body, "<svg ")
		var scores, trend string
		for _, c := range charts {
			switch {
			case strings.Contains(c, fmt.Sprintf("index scores %d", years[0])):
				scores = c
			case strings.Contains(c, "composite index by year"):
				trend = c
			}
		}
		if scores == "" || trend == "" {
			t.Fatalf("the province page lacks its scores or its score trend:\n%s", body)
		}
		if strings.Contains(scores, "first tier") || strings.Contains(scores, "second tier") || !strings.Contains(scores, "sub-indices (ranked, not tiered)") {
			t.Errorf("the sub-indices are drawn with the composite's tier legend:\n%s", scores)
		}
		if n := strings.Count(scores, `fill="#8c8c8c"`); n < 5+1 { // five bars and the legend's swatch
			t.Errorf("%d neutral sub-index bars, want 5:\n%s", n-1, scores)
		}
		for _, y := range years {
			score, err := e.reader.Index(ctx, "440000", y, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(`data-rank="%d" data-value="%s"`, score.GetRank(), chartNum(score.GetComposite()))
			if !strings.Contains(trend, want) || !strings.Contains(trend, fmt.Sprintf(`>%d</text>`, y)) {
				t.Errorf("the score trend lacks %d (%s):\n%s", y, want, trend)
			}
		}
	})
}
