package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// uncertaintyEnv is a server with every non-derived leaf of 2024 observed in
// every province (values that rank provinces differently per leaf).
func uncertaintyEnv(t *testing.T) *env {
	e := newEnvBatch(t, 1000)
	var obs []*pb.Observation
	for i, p := range estimator.Provinces() {
		for j, ind := range estimator.Indicators() {
			if !ind.Derived {
				obs = append(obs, observation(p.ISO, 2024, ind.Code, float64((i*7+j*13)%31+1)))
			}
		}
	}
	e.putObs(e.stat, false, obs...)
	return e
}

func TestRankUncertainty(t *testing.T) {
	e := uncertaintyEnv(t)
	small := func() *pb.ListRankUncertaintyRequest {
		return &pb.ListRankUncertaintyRequest{Year: 2024, Samples: 100, Seed: 7}
	}
	t.Run("OKDefaultMatchesIndex", func(t *testing.T) {
		ps, run, err := e.reader.ListRankUncertainty(ctx(t), 2024, nil)
		if err != nil {
			t.Fatal(err)
		}
		index, err := e.reader.ListIndex(ctx(t), 2024, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 31 || run.GetSamples() != 1000 || run.GetSeed() != 0 || run.GetRuns() != 7000 || run.GetRevision() != index[0].GetRevision() || run.GetMethodologyVersion() != index[0].GetMethodologyVersion() {
			t.Fatalf("%d provinces, run %v; index revision %d", len(ps), run, index[0].GetRevision())
		}
		if len(run.GetAssumptions().GetVary()) != 5 || run.GetAssumptions().GetFp16().GetLow() != 0.25 {
			t.Errorf("assumptions as used: %v", run.GetAssumptions())
		}
		rank := map[string]int32{}
		for _, s := range index {
			rank[s.GetProvince().GetCode()] = s.GetRank()
		}
		moved := false
		for i, p := range ps {
			if p.GetNominalRank() != rank[p.GetProvince().GetCode()] {
				t.Errorf("%s: nominal %d, index %d", p.GetProvince().GetCode(), p.GetNominalRank(), rank[p.GetProvince().GetCode()])
			}
			if i > 0 && p.GetMedianRank() < ps[i-1].GetMedianRank() {
				t.Errorf("not ordered by median rank at %d", i)
			}
			if !(p.GetP05Rank() <= p.GetMedianRank() && p.GetMedianRank() <= p.GetP95Rank()) || len(p.GetSensitivity()) != 5 {
				t.Errorf("%v", p)
			}
			moved = moved || p.GetP05Rank() < p.GetP95Rank()
		}
		if !moved {
			t.Error("no rank moved under every assumption varied")
		}
	})
	t.Run("OKSameRequestSameNumbers", func(t *testing.T) {
		a, runA, err := e.reader.ListRankUncertainty(ctx(t), 2024, small())
		if err != nil {
			t.Fatal(err)
		}
		b, runB, err := e.admin.ListRankUncertainty(ctx(t), 2024, small())
		if err != nil {
			t.Fatal(err)
		}
		if runA.GetKept() || !proto.Equal(runA, runB) || len(a) != len(b) {
			t.Fatalf("runs %v and %v", runA, runB)
		}
		for i := range a {
			if !proto.Equal(a[i], b[i]) {
				t.Fatalf("%v\n%v", a[i], b[i])
			}
		}
		one, err := e.reader.RankUncertainty(ctx(t), a[3].GetProvince().GetCode(), 2024, &pb.GetRankUncertaintyRequest{Samples: 100, Seed: 7})
		if err != nil || !proto.Equal(one.GetUncertainty(), a[3]) || !proto.Equal(one.GetRun(), runA) {
			t.Fatalf("get %v, %v; list gave %v", one, err, a[3])
		}
	})
	t.Run("OKPages", func(t *testing.T) {
		req := small()
		req.PageSize = 10
		page, err := e.reader.IndexService().ListRankUncertainty(ctx(t), req)
		if err != nil || len(page.GetProvinces()) != 10 || page.GetNextPageToken() == "" {
			t.Fatalf("%d provinces, token %q, %v", len(page.GetProvinces()), page.GetNextPageToken(), err)
		}
		other := small()
		other.Seed, other.PageToken = 8, page.GetNextPageToken()
		_, err = e.reader.IndexService().ListRankUncertainty(ctx(t), other)
		wantCode(t, err, codes.InvalidArgument)
		wantViolation(t, err, "page_token")
	})
	t.Run("OKNothingVariedCollapses", func(t *testing.T) {
		req := small()
		req.Assumptions = &pb.UncertaintyAssumptions{}
		ps, run, err := e.reader.ListRankUncertainty(ctx(t), 2024, req)
		if err != nil || run.GetRuns() != 200 {
			t.Fatalf("run %v, %v", run, err)
		}
		for _, p := range ps {
			r := float64(p.GetNominalRank())
			if p.GetP05Rank() != r || p.GetP95Rank() != r || p.GetMeanAbsRankShift() != 0 || len(p.GetSensitivity()) != 0 {
				t.Errorf("%v", p)
			}
		}
	})
	for _, c := range []struct {
		name  string
		req   *pb.GetRankUncertaintyRequest
		field string
	}{
		{"ErrUnknownProvince", &pb.GetRankUncertaintyRequest{Province: "Hong Kong", Year: 2024}, "province"},
		{"ErrYearTooEarly", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 1989}, "year"},
		{"ErrTooManySamples", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024, Samples: 20001}, "samples"},
		{"ErrNegativeSamples", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024, Samples: -1}, "samples"},
		{"ErrUnknownAssumption", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024,
			Assumptions: &pb.UncertaintyAssumptions{Vary: []pb.UncertainAssumption{99}}}, "assumptions.vary[0]"},
		{"ErrFactorRange", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024, Assumptions: &pb.UncertaintyAssumptions{
			Vary: []pb.UncertainAssumption{pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_FACTORS}, Fp16: &pb.FactorRange{Low: 1, High: 0.5}}}, "assumptions.fp16"},
		{"ErrWeightSpread", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024, Assumptions: &pb.UncertaintyAssumptions{
			Vary: []pb.UncertainAssumption{pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_WEIGHTS}, WeightSpread: proto.Float64(1.5)}}, "assumptions.weight_spread"},
		{"ErrZScoreWithGeometric", &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024, Assumptions: &pb.UncertaintyAssumptions{
			Vary:           []pb.UncertainAssumption{pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_NORMALIZATION, pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_AGGREGATION},
			Normalizations: []pb.NormalizationMethod{pb.NormalizationMethod_NORMALIZATION_METHOD_Z_SCORE}}}, "assumptions.normalizations[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.reader.IndexService().GetRankUncertainty(ctx(t), c.req)
			wantCode(t, err, codes.InvalidArgument)
			wantViolation(t, err, c.field)
		})
	}
	t.Run("OKMetrics", func(t *testing.T) {
		var text strings.Builder
		mfs, err := e.srv.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
				t.Fatal(err)
			}
		}
		// The default analysis was kept; it and the seed-7 ones were computed for calls.
		for _, want := range []string{"computescale_uncertainty_kept_total 1", `computescale_uncertainty_analysis_seconds_count{by="request"} `} {
			if !strings.Contains(text.String(), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("ErrDeadline", func(t *testing.T) {
		c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := e.reader.IndexService().GetRankUncertainty(c, &pb.GetRankUncertaintyRequest{Province: "CN-GD", Year: 2024, Samples: 20000, Seed: 99})
		wantCode(t, err, codes.DeadlineExceeded)
	})
}

func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("err = %v, want %v", err, code)
	}
}

// TestWatchUncertainty: a watch that lists EVENT_KIND_UNCERTAINTY hears the
// worker's analysis of a year a write moved, stamped with the write's
// revision; a watch that starts later hears the latest analysis at once; a
// watch of every kind (empty kinds) never hears one.
func TestWatchUncertainty(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.maxBatch, e.keepUncertainty = 1000, true })
	watch := func(kinds ...pb.EventKind) pb.WatchService_WatchClient {
		st, err := pb.NewWatchServiceClient(e.reader.Conn()).Watch(ctx(t), &pb.WatchRequest{Kinds: kinds, Years: []int32{2024}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Header(); err != nil { // the watch is live once its header is out
			t.Fatal(err)
		}
		return st
	}
	only, all := watch(pb.EventKind_EVENT_KIND_UNCERTAINTY), watch()
	var obs []*pb.Observation
	for i, p := range estimator.Provinces() {
		for j, ind := range estimator.Indicators() {
			if !ind.Derived {
				obs = append(obs, observation(p.ISO, 2024, ind.Code, float64((i*7+j*13)%31+1)))
			}
		}
	}
	first := e.putObs(e.stat, false, obs...).Revision
	nextUncertainty := func(st pb.WatchService_WatchClient) *pb.Event {
		t.Helper()
		r, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(r.GetEvents()) != 1 || r.GetEvents()[0].GetKind() != pb.EventKind_EVENT_KIND_UNCERTAINTY {
			t.Fatalf("response %v, want one uncertainty event", r)
		}
		return r.GetEvents()[0]
	}
	ev := nextUncertainty(only)
	u := ev.GetUncertainty()
	if ev.GetRevision() != first || u.GetRun().GetRevision() != first || u.GetRun().GetYear() != 2024 || !u.GetRun().GetKept() || len(u.GetProvinces()) != 31 {
		t.Fatalf("event at %d, run %v, %d provinces; want the write's revision %d", ev.GetRevision(), u.GetRun(), len(u.GetProvinces()), first)
	}
	if late := nextUncertainty(watch(pb.EventKind_EVENT_KIND_UNCERTAINTY)); late.GetRevision() != first {
		t.Errorf("a later watch heard the analysis at %d, want the latest (%d)", late.GetRevision(), first)
	}
	ack := e.putObs(e.stat, true, observation("CN-GD", 2024, "industry.devices", 40)) // the new largest value
	second := ack.Revision
	if ack.Err != nil || second <= first {
		t.Fatalf("second write: %+v", ack)
	}
	for {
		r, err := all.Recv()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range r.GetEvents() {
			if ev.GetKind() == pb.EventKind_EVENT_KIND_UNCERTAINTY {
				t.Fatalf("a watch of every kind heard an analysis: %v", ev.GetRevision())
			}
		}
		if r.GetRevision() >= second {
			break
		}
	}
	if ev := nextUncertainty(only); ev.GetRevision() != second {
		t.Errorf("after the second write: analysis at %d, want %d", ev.GetRevision(), second)
	}
}
