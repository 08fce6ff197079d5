package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/web"
)

func analysis() *pb.ListRankUncertaintyResponse {
	prov := func(code, name, zh string) *pb.Province { return &pb.Province{Code: code, Name: name, NameZh: zh} }
	return &pb.ListRankUncertaintyResponse{
		Run: &pb.UncertaintyRun{Year: 2024, MethodologyVersion: 2, Revision: 58, Samples: 1000, Runs: 3000, Kept: true,
			Assumptions: &pb.UncertaintyAssumptions{Vary: []pb.UncertainAssumption{pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_WEIGHTS}}},
		Provinces: []*pb.RankUncertainty{
			{Province: prov("440000", "Guangdong", "广东"), NominalRank: 1, MedianRank: 1, P05Rank: 1, P95Rank: 2, PFirstTier: 1,
				Sensitivity: []*pb.AssumptionSensitivity{{Assumption: pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_WEIGHTS, FirstOrder: 0.9, Total: 1}}},
			{Province: prov("110000", "Beijing", "北京"), NominalRank: 3, MedianRank: 2, P05Rank: 1, P95Rank: 3, PFirstTier: 0.5,
				Sensitivity: []*pb.AssumptionSensitivity{{Assumption: pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_WEIGHTS, FirstOrder: 0.7, Total: 0.8}}},
			{Province: prov("540000", "Xizang", `西藏 "<x>"`), MedianRank: 3, P05Rank: 3, P95Rank: 3},
		},
	}
}

func TestRenderRankIntervals(t *testing.T) {
	var b strings.Builder
	if err := web.RenderRankIntervals(&b, web.RankIntervalsFrom(analysis())); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	wellFormed(t, svg)
	containsInOrder(t, svg, "2024: how sure is each rank?", "3000 runs (1000 samples, seed 0) varying weights · methodology v2 · store revision 58",
		`data-code="440000" data-median="1" data-nominal="1" data-p05="1" data-p95="2"`, "Guangdong 广东",
		`data-code="110000" data-median="2" data-nominal="3"`, "nominal rank 3, median 2, 5-95 %: 1-3, first tier in 50 % of runs",
		`data-code="540000"`, "no composite")
	if n := strings.Count(svg, `<circle`); n != 3 { // the legend's and two nominal ranks; Xizang has none
		t.Errorf("%d circles, want 3", n)
	}
	if strings.Contains(svg, "<x>") {
		t.Error("a label was not escaped")
	}
}

func TestRenderSensitivity(t *testing.T) {
	rk, ok := web.Sensitivity(analysis(), "110000")
	if !ok || len(rk.Bars) != 2 {
		t.Fatalf("%v %+v", ok, rk)
	}
	var b strings.Builder
	if err := web.RenderRanking(&b, rk); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, b.String())
	containsInOrder(t, b.String(), "Beijing 北京: what moves its 2024 rank", "weights · total", "0.80", "weights · first-order", "0.70")
	if _, ok := web.Sensitivity(analysis(), "999999"); ok {
		t.Error("a province outside the analysis has a chart")
	}
}

// TestUncertaintyLive: with the server's worker on, a write that moves
// scores brings an "uncertainty" event to the dashboard's stream, and the
// rank-interval fragment then shows the analysis of that write's revision;
// a province page shows its Sobol chart.
func TestUncertaintyLive(t *testing.T) {
	e := newEnvKeeping(t, loadNothing, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := openEvents(ctx, t, e)
	next(t, events, "hello")
	var obs []*pb.Observation
	for i, p := range estimator.Provinces() {
		for j, ind := range estimator.Indicators() {
			if !ind.Derived {
				obs = append(obs, &pb.Observation{Province: p.ISO, Year: 2024, Indicator: ind.Code, Value: float64((i*7+j*13)%31 + 1), Unit: ind.Unit, Source: "test"})
			}
		}
	}
	sum, err := e.admin.PutObservations(ctx, obs, client.IngestOptions{})
	if err != nil || len(sum.Rejected) > 0 {
		t.Fatalf("put observations: %v %v", err, sum.Rejected)
	}
	for {
		var c struct{ Kinds []string }
		if err := json.Unmarshal([]byte(next(t, events, "change").data), &c); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(c.Kinds, "uncertainty") {
			break
		}
	}
	_, body := get(t, e, "GET", "/fragment/uncertainty?year=2024", readerToken)
	if !strings.Contains(body, `class="chart uncertainty"`) || !strings.Contains(body, fmt.Sprintf(`data-revision="%d"`, sum.Revision)) || strings.Count(body, `class="interval"`) != 31 {
		t.Fatalf("fragment at revision %d:\n%.600s", sum.Revision, body)
	}
	if _, page := get(t, e, "GET", "/province/440000?year=2024", readerToken); !strings.Contains(page, `data-kinds="uncertainty"`) || !strings.Contains(page, "what moves its 2024 rank") {
		t.Errorf("province page without its sensitivity chart:\n%.400s", page)
	}
}
