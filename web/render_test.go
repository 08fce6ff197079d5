package web_test

import (
	"encoding/xml"
	"errors"
	"html"
	"io"
	"strings"
	"testing"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/web"
)

// wellFormed fails t unless svg parses as XML: the report writes it as a
// standalone .svg file, which browsers refuse if it is not.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
	}
}

func containsInOrder(t *testing.T, s string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Errorf("missing %q (in order) in:\n%s", w, s)
			return
		}
		at += i + len(w)
	}
}

func TestRenderRanking(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var b strings.Builder
		err := web.RenderRanking(&b, web.Ranking{Title: "2024 index <test> & more", FirstTier: 40, Link: "/province/", Revision: 58, Methodology: 2,
			Bars: []web.Bar{
				{Code: "440000", Label: "Guangdong 广东", Rank: 1, Value: 99.1849, Present: true, Tier: 1},
				{Code: "110000", Label: "Beijing 北京", Rank: 2, Value: 72.8151, Present: true, Tier: 1},
				{Code: "540000", Label: "Xizang 西藏", Rank: 3, Value: 0.98, Present: true, Tier: 3},
				{Code: "999999", Label: `Nowhere "<script>"`},
			}})
		if err != nil {
			t.Fatal(err)
		}
		svg := b.String()
		wellFormed(t, svg)
		containsInOrder(t, svg, "2024 index &lt;test&gt; &amp; more", "methodology v2 · store revision 58",
			"Guangdong 广东", "99.18", "Beijing 北京", "72.82", "Xizang 西藏", "0.98", "Nowhere &#34;&lt;script&gt;&#34;", "—")
		if strings.Contains(svg, "<script>") {
			t.Error("a label was not escaped")
		}
		for _, want := range []string{`href="/province/440000"`, `data-revision="58"`, `fill="#1f4e96"`, `fill="#bcd0e8"`, "first tier (composite &gt; 40)"} {
			if !strings.Contains(svg, want) {
				t.Errorf("missing %s", want)
			}
		}
	})
	t.Run("OKDimension", func(t *testing.T) {
		score := func(name, zh, code string, tech float64, rank int32) *pb.IndexScore {
			return &pb.IndexScore{Province: &pb.Province{Code: code, Name: name, NameZh: zh}, Produced: true, Composite: 50, Rank: 9, Tier: 1,
				Dimensions: []*pb.DimensionScore{{Dimension: "tech", Present: true, Score: tech, Rank: rank}}, MethodologyVersion: 3, Revision: 7}
		}
		r := web.RankingFromScores(2023, "tech", []*pb.IndexScore{score("Guangdong", "广东", "440000", 100.32, 1), score("Beijing", "北京", "110000", 27.49, 2)}, 40)
		var b strings.Builder
		if err := web.RenderRanking(&b, r); err != nil {
			t.Fatal(err)
		}
		// Ranked by tech: its ranks and values, not the composite's.
		containsInOrder(t, b.String(), "2023 computing technology sub-index (计算技术分指数)", "methodology v3 · store revision 7",
			`data-rank="1" data-value="100.3"`, "Guangdong 广东", `data-rank="2" data-value="27.49"`, "Beijing 北京")
		if strings.Contains(b.String(), "50.00") || strings.Contains(b.String(), "href=") {
			t.Error("a dimension chart shows the composite, or links without Link")
		}
	})
}

func TestRenderTrend(t *testing.T) {
	var b strings.Builder
	err := web.RenderTrend(&b, web.Trend{Title: "China <trend>", Revision: 9, Points: []web.TrendPoint{
		{Label: "2019", PrevLabel: "2018", Now: web.Kinds{Basic: 30, AI: 4, Super: 0.4}, Prev: web.Kinds{Super: 0.4}},
		{Label: "2024", PrevLabel: "2023", Now: web.Kinds{Basic: 160, AI: 600, Super: 5}, Prev: web.Kinds{Basic: 120, AI: 300, Super: 5}},
		{Label: "2025Q2", PrevLabel: "2024Q2", Now: web.Kinds{Basic: 175, AI: 782, Super: 5.2}, Prev: web.Kinds{Basic: 152, AI: 399, Super: 5.2}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	wellFormed(t, svg)
	containsInOrder(t, svg, "China &lt;trend&gt;")
	// html/template writes + as &#43;: compare the text as a browser reads it.
	containsInOrder(t, html.UnescapeString(svg), "store revision 9",
		`data-period="2019" data-total="34.40" data-growth=""`, // basic and AI start: no total growth
		`data-period="2024" data-total="765.0" data-growth="+80%"`, "basic +33%", "AI +100%", "super ±0%",
		`data-period="2025Q2" data-total="962.2" data-growth="+73%"`, "2025Q2", "basic +15%", "AI +96%")
}

func TestRenderRelationship(t *testing.T) {
	resp := &pb.AnalyzeRelationshipResponse{Slope: 1188, Intercept: -2300.5, RSquared: 0.8812, N: 3, Revision: 4, MethodologyVersion: 2,
		Points: []*pb.RelationshipPoint{
			{Province: &pb.Province{Code: "440000", Name: "Guangdong", NameZh: "广东"}, Composite: 99.18, Y: 141633.8},
			{Province: &pb.Province{Code: "320000", Name: "Jiangsu", NameZh: "江苏"}, Composite: 61.47, Y: 137008},
			{Province: &pb.Province{Code: "540000", Name: "Xizang", NameZh: "西藏"}, Composite: 0.98, Y: 2764.9},
		}}
	rel := web.RelationshipFromResponse(2024, resp)
	if got, want := rel.Equation(), "y = 1188.0x − 2300.5"; got != want {
		t.Errorf("equation %q, want %q", got, want)
	}
	var b strings.Builder
	if err := web.RenderRelationship(&b, rel); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	wellFormed(t, svg)
	containsInOrder(t, svg, "2024 compute development index and GDP", "methodology v2 · store revision 4",
		"y = 1188.0x − 2300.5   R² = 0.881   n = 3", `class="fit-line"`,
		"Guangdong 广东: index 99.18", "Jiangsu 江苏: index 61.47", "Xizang 西藏: index 0.98")
}
