package server_test

import (
	"math"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/demodata"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// Benchmarks of the index on the demo dataset (the bundled catalog, 6,502
// shipment records, five years of statistics, the demo methodology), loaded
// once per benchmark through the real server. Run with
//
//	go test -run '^$' -bench 'Index|Recompute' -benchtime 2s ./server
//
// They report figures; nothing here asserts a speed.

// BenchmarkIndexQueries is the cost of GetIndex (one province: the server
// scores the whole year on demand from one read, then picks it) and of
// ListIndex (the whole 31-province ranking in one page) over loopback.
func BenchmarkIndexQueries(b *testing.B) {
	e := newEnvBatch(b, benchBatch)
	loadDemodata(e)
	b.Run("GetIndex", func(b *testing.B) {
		for range b.N {
			if _, err := e.reader.Index(b.Context(), "CN-GD", 2024, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListIndex", func(b *testing.B) {
		for range b.N {
			scores, err := e.reader.ListIndex(b.Context(), 2024, "", 0)
			if err != nil || len(scores) != 31 {
				b.Fatalf("%d scores, %v", len(scores), err)
			}
		}
	})
	b.Run("GetIndexOldMethodology", func(b *testing.B) {
		// Version 1 is not cached: its weights are solved on every call.
		for range b.N {
			if _, err := e.reader.Index(b.Context(), "CN-GD", 2024, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkIngestRecompute is the latency of one fsynced batch that moves
// index scores, on a store that recomputes them in the commit path and on
// one opened with store.Options{NoIndex: true}; the difference is what the
// recompute adds. Observation: one value of Guangdong's 2024 devices,
// alternating, so each batch rescores 2024. Shipment: one 2020 record,
// its units alternating, so each batch rescores the five index years
// 2020-2024 (a 2020 shipment counts in the windows ending 2020-2025).
func BenchmarkIngestRecompute(b *testing.B) {
	for _, v := range []struct {
		name    string
		noIndex bool
	}{{"Index", false}, {"NoIndex", true}} {
		e := newEnvStore(b, benchBatch, store.Options{NoIndex: v.noIndex})
		loadDemodata(e)
		b.Run(v.name+"/Observation", func(b *testing.B) {
			st, err := e.admin.Ingest.PutObservations(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				o := observation("CN-GD", 2024, "industry.devices", 1000+float64(i%2))
				if err := st.Send(&pb.PutObservationsRequest{BatchId: uint64(i + 1), Observations: []*pb.Observation{o}, Replace: true}); err != nil {
					b.Fatal(err)
				}
				if resp, err := st.Recv(); err != nil || resp.GetError() != nil {
					b.Fatalf("ack: %v %v", err, resp.GetError())
				}
			}
		})
		b.Run(v.name+"/Shipment", func(b *testing.B) {
			st, err := e.vendorA.Ingest.IngestShipments(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			for i := range b.N {
				r := general("recompute", "CN-GD", 2020, 0, 100+i%2)
				r.Components[0].Chip = &pb.Component_ChipId{ChipId: "intel-xeon-platinum-8480p"}
				if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{r}, Replace: true}); err != nil {
					b.Fatal(err)
				}
				if resp, err := st.Recv(); err != nil || resp.GetError() != nil {
					b.Fatalf("ack: %v %v", err, resp.GetError())
				}
			}
		})
	}
}

// loadDemodata loads what `computescale demo` does, through the same RPCs:
// the catalog and the methodology as admin, the shipments as vendor A, the
// observations as admin.
func loadDemodata(e *env) {
	e.t.Helper()
	c := ctx(e.t)
	for _, spec := range catalog.Chips() {
		if _, err := e.admin.PutChipSpec(c, protoconv.ChipToProto(spec)); err != nil {
			e.t.Fatalf("catalog: %v", err)
		}
	}
	recs := demodata.Shipments()
	msgs := make([]*pb.ShipmentRecord, len(recs))
	for i, r := range recs {
		msgs[i] = protoconv.RecordToProto(r)
	}
	if sum, err := e.vendorA.IngestShipments(c, msgs, client.IngestOptions{BatchSize: benchBatch}); err != nil || len(sum.Rejected) > 0 {
		e.t.Fatalf("shipments: %v %v", err, sum.Rejected)
	}
	obs := demodata.Observations()
	pobs := make([]*pb.Observation, len(obs))
	for i, o := range obs {
		pobs[i] = protoconv.ObservationToProto(o)
	}
	if sum, err := e.admin.PutObservations(c, pobs, client.IngestOptions{BatchSize: benchBatch}); err != nil || len(sum.Rejected) > 0 {
		e.t.Fatalf("observations: %v %v", err, sum.Rejected)
	}
	if _, err := e.admin.PutMethodology(c, protoconv.MethodologyToProto(demodata.Methodology(), nil), false); err != nil {
		e.t.Fatalf("methodology: %v", err)
	}
}

// newEnvStore is newEnvBatch on a store opened with opts. It stops without
// the closing Verify, which would report every score of a NoIndex store as
// missing: such a store keeps none by design.
func newEnvStore(t testing.TB, maxBatch int, opts store.Options) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "bench.db"), maxBatch: maxBatch}
	db, err := store.Open(e.dbPath, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	tokens := server.NewTokens()
	tokens.Add(adminToken, server.Identity{Name: "admin", Role: server.RoleAdmin})
	tokens.Add(readerToken, server.Identity{Name: "reader", Role: server.RoleReader})
	tokens.Add(vendorAToken, server.Identity{Name: "vendor-a", Role: server.RoleVendor})
	tokens.Add(vendorBToken, server.Identity{Name: "vendor-b", Role: server.RoleVendor})
	srv, err := server.New(server.Config{Store: db, Tokens: tokens, MaxBatchRecords: maxBatch,
		Now: func() time.Time { return time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	e.addr, e.db, e.srv, e.grpc = lis.Addr().String(), db, srv, srv.GRPCServer()
	go e.grpc.Serve(lis)
	srv.SetServing(true)
	t.Cleanup(func() { // runs after the clients' cleanups
		srv.Close()
		e.grpc.Stop()
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	e.admin, e.reader = e.dial(adminToken), e.dial(readerToken)
	e.vendorA, e.vendorB = e.dial(vendorAToken), e.dial(vendorBToken)
	return e
}

// TestIndexHandCalculation pushes shipments and observations through the real
// streams and checks every score against a hand calculation with
// handMethodology (weights 0.2 scale.basic, 0.5 industry.devices, 0.3
// tech.rnd; targets 2000 servers, 200, 400):
//
//	2024      servers  devices  rnd   normalised (×100/target)   composite
//	Guangdong 1000     150      100   50, 75, 25                 0.2·50 + 0.5·75 + 0.3·25 = 55
//	Beijing    500     100      300   25, 50, 75                 5 + 25 + 22.5 = 52.5
//	Shanghai   250      40      —     12.5, 20, —                (0.2·12.5 + 0.5·20) / 0.7 = 17.857…
//	Zhejiang     —       —      200   0, —, 50                   coverage 0.5 < 0.6: not produced
//
// Shanghai has no R&D: its coverage is 0.7 and the remaining weights are
// renormalised (METHOD.md section 5, stage 4). Zhejiang shipped nothing, which
// next to other provinces' shipments is an observed zero. In 2023 nobody
// shipped anything, so scale.basic is missing for every province:
//
//	2023      devices  rnd   normalised   composite (coverage 0.8)
//	Guangdong 100      200   50, 50       (0.5·50 + 0.3·50) / 0.8 = 50
//	Beijing    60      120   30, 30       30
func TestIndexHandCalculation(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("gd", "CN-GD", 2024, 0, 1000), general("bj", "CN-BJ", 2024, 0, 500),
		general("sh", "CN-SH", 2024, 0, 250))
	put, err := e.admin.PutMethodology(ctx(t), handMethodology(), false)
	if err != nil {
		t.Fatalf("put methodology: %v", err)
	}
	hand := put.GetMethodology().GetVersion()
	ack := e.putObs(e.stat, false,
		observation("CN-GD", 2024, "industry.devices", 150), observation("CN-GD", 2024, "tech.rnd", 100),
		observation("CN-BJ", 2024, "industry.devices", 100), observation("CN-BJ", 2024, "tech.rnd", 300),
		observation("CN-SH", 2024, "industry.devices", 40), observation("CN-ZJ", 2024, "tech.rnd", 200),
		observation("CN-GD", 2023, "industry.devices", 100), observation("CN-GD", 2023, "tech.rnd", 200),
		observation("CN-BJ", 2023, "industry.devices", 60), observation("CN-BJ", 2023, "tech.rnd", 120),
	)
	if ack.Err != nil || ack.Created != 10 || ack.ScoresChanged == 0 {
		t.Fatalf("ack %+v, want 10 created and scores changed", ack)
	}

	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			province                   string
			produced                   bool
			composite, coverage        float64
			rank, tier                 int32
			scale, industry, tech      float64 // NaN: not present
			devicesPresent, rndPresent bool
		}{
			{"CN-GD", true, 55, 1, 1, 1, 50, 75, 25, true, true},
			{"Beijing", true, 52.5, 1, 2, 2, 25, 50, 75, true, true},
			{"上海", true, 12.5 / 0.7, 0.7, 3, 3, 12.5, 20, math.NaN(), true, false},
			{"330000", false, 0, 0.5, 0, 0, 0, math.NaN(), 50, false, true},
		} {
			s := e.score(tc.province, 2024, 0)
			if s.GetProduced() != tc.produced || !near(s.GetComposite(), tc.composite) || !near(s.GetCoverage(), tc.coverage) ||
				s.GetRank() != tc.rank || s.GetTier() != tc.tier || s.GetMethodologyVersion() != hand {
				t.Errorf("%s: produced %t composite %g coverage %g rank %d tier %d methodology %d; want %t %g %g %d %d %d",
					tc.province, s.GetProduced(), s.GetComposite(), s.GetCoverage(), s.GetRank(), s.GetTier(), s.GetMethodologyVersion(),
					tc.produced, tc.composite, tc.coverage, tc.rank, tc.tier, hand)
			}
			for code, want := range map[string]float64{"scale": tc.scale, "industry": tc.industry, "tech": tc.tech} {
				d := indexDim(s, code)
				if math.IsNaN(want) != !d.GetPresent() || !math.IsNaN(want) && !near(d.GetScore(), want) {
					t.Errorf("%s %s: present %t score %g, want %g", tc.province, code, d.GetPresent(), d.GetScore(), want)
				}
			}
			if indexLeaf(s, "industry.devices").GetPresent() != tc.devicesPresent || indexLeaf(s, "tech.rnd").GetPresent() != tc.rndPresent {
				t.Errorf("%s leaves: %v", tc.province, s.GetLeaves())
			}
			if d := indexDim(s, "env"); d.GetPresent() || d.GetCoverage() != 0 {
				t.Errorf("%s: env has no weight but is %v", tc.province, d)
			}
		}
		gd := e.score("CN-GD", 2024, 0)
		if l := indexLeaf(gd, "scale.basic"); !near(l.GetValue(), 1000*unitEFlops) || !near(l.GetNormalized(), 50) || !near(l.GetWeight(), 0.2) {
			t.Errorf("Guangdong scale.basic leaf %v, want value %g, normalised 50, weight 0.2", l, 1000*unitEFlops)
		}
		if r := indexDim(gd, "industry").GetRank(); r != 1 {
			t.Errorf("Guangdong industry rank %d, want 1", r)
		}
		for _, tc := range []struct {
			province  string
			composite float64
		}{{"CN-GD", 50}, {"CN-BJ", 30}} {
			s := e.score(tc.province, 2023, 0)
			if !s.GetProduced() || !near(s.GetComposite(), tc.composite) || !near(s.GetCoverage(), 0.8) || indexDim(s, "scale").GetPresent() {
				t.Errorf("%s 2023: %v, want composite %g, coverage 0.8, no scale", tc.province, s, tc.composite)
			}
		}
	})

	t.Run("OKListIndex", func(t *testing.T) {
		all, err := e.reader.ListIndex(ctx(t), 2024, "", 0)
		if err != nil || len(all) != 31 {
			t.Fatalf("list: %d scores, %v", len(all), err)
		}
		for i, want := range []string{"440000", "110000", "310000", "120000"} {
			if got := all[i].GetProvince().GetCode(); got != want {
				t.Errorf("composite ranking[%d] = %s, want %s", i, got, want)
			}
		}
		if all[3].GetProduced() {
			t.Errorf("fourth is %v, want the first province without a composite", all[3])
		}
		tech, err := e.reader.ListIndex(ctx(t), 2024, "tech", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"110000", "330000", "440000"} {
			if got := tech[i].GetProvince().GetCode(); got != want || indexDim(tech[i], "tech").GetRank() != int32(i+1) {
				t.Errorf("tech ranking[%d] = %s (rank %d), want %s", i, got, indexDim(tech[i], "tech").GetRank(), want)
			}
		}
		// Paging by hand: 31 scores in pages of 2 are 16 pages, same order.
		var paged []*pb.IndexScore
		req := &pb.ListIndexRequest{Year: 2024, PageSize: 2}
		for pages := 0; ; pages++ {
			resp, err := e.reader.IndexService().ListIndex(ctx(t), req)
			if err != nil || pages > 16 {
				t.Fatalf("page %d: %v", pages, err)
			}
			paged = append(paged, resp.GetScores()...)
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
		if diff := cmp.Diff(all, paged, protocmp.Transform()); diff != "" {
			t.Errorf("pages differ from one list:\n%s", diff)
		}
		first, err := e.reader.IndexService().ListIndex(ctx(t), &pb.ListIndexRequest{Year: 2024, PageSize: 2})
		if err != nil || first.GetNextPageToken() == "" {
			t.Fatalf("first page: %v %v", first, err)
		}
		req = &pb.ListIndexRequest{Year: 2024, PageSize: 2, Dimension: "tech", PageToken: first.GetNextPageToken()}
		if _, err := e.reader.IndexService().ListIndex(ctx(t), req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("token reused with another dimension: %v, want InvalidArgument", err)
		}
	})

	t.Run("ErrAlreadyExists", func(t *testing.T) {
		ack := e.putObs(e.stat, false, observation("CN-GD", 2024, "industry.devices", 190))
		if status.Code(ack.Err) != codes.AlreadyExists {
			t.Fatalf("changed value without replace: %v, want AlreadyExists", ack.Err)
		}
		wantViolation(t, ack.Err, "observations[0].value")
		if s := e.score("CN-GD", 2024, 0); !near(s.GetComposite(), 55) {
			t.Errorf("rejected batch changed the score to %g", s.GetComposite())
		}
	})

	t.Run("OKReplace", func(t *testing.T) {
		before23 := e.score("CN-GD", 2023, 0)
		before24 := e.score("CN-GD", 2024, 0)
		// devices 190 → 95: composite 0.2·50 + 0.5·95 + 0.3·25 = 65.
		ack := e.putObs(e.stat, true, observation("CN-GD", 2024, "industry.devices", 190))
		if ack.Err != nil || ack.Replaced != 1 || ack.ScoresChanged != 1 || ack.Revision <= before24.GetRevision() {
			t.Fatalf("replace ack %+v, want 1 replaced, 1 score changed, a new revision", ack)
		}
		after24 := e.score("CN-GD", 2024, 0)
		if !near(after24.GetComposite(), 65) || after24.GetRevision() != ack.Revision {
			t.Errorf("2024 after replace: composite %g revision %d, want 65 at %d", after24.GetComposite(), after24.GetRevision(), ack.Revision)
		}
		after23 := e.score("CN-GD", 2023, 0)
		if diff := cmp.Diff(before23, after23, protocmp.Transform(), protocmp.IgnoreFields(&pb.IndexScore{}, "revision")); diff != "" {
			t.Errorf("2023 changed:\n%s", diff)
		}
		if after23.GetRevision() != ack.Revision {
			t.Errorf("2023 read at revision %d, want the current %d", after23.GetRevision(), ack.Revision)
		}
		if bj := e.score("CN-BJ", 2024, 0); !near(bj.GetComposite(), 52.5) {
			t.Errorf("Beijing moved to %g", bj.GetComposite())
		}
	})

	t.Run("OKRelationship", func(t *testing.T) {
		// gdp = 100 · composite + 7 exactly for the three produced
		// composites; Zhejiang's gdp has no composite beside it.
		line := func(c float64) float64 { return 100*c + 7 }
		ack := e.putObs(e.stat, false, observation("CN-GD", 2024, "gdp", line(65)), observation("CN-BJ", 2024, "gdp", line(52.5)),
			observation("CN-SH", 2024, "gdp", line(12.5/0.7)), observation("CN-ZJ", 2024, "gdp", 999))
		if ack.Err != nil || ack.ScoresChanged != 0 {
			t.Fatalf("gdp ack %+v, want no score changed", ack)
		}
		fit, err := e.reader.AnalyzeRelationship(ctx(t), 2024, pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !near(fit.GetSlope(), 100) || math.Abs(fit.GetIntercept()-7) > 1e-7 || !near(fit.GetRSquared(), 1) || fit.GetN() != 3 || len(fit.GetPoints()) != 3 {
			t.Errorf("fit slope %g intercept %g R² %g n %d, want 100, 7, 1, 3", fit.GetSlope(), fit.GetIntercept(), fit.GetRSquared(), fit.GetN())
		}
		for _, p := range fit.GetPoints() { // whose statistics the fit rests on
			if p.GetWriter() != "nbs" || p.GetSource() != "hand-made test value" {
				t.Errorf("point %v: want writer nbs and its source", p)
			}
		}
		if _, err := e.reader.AnalyzeRelationship(ctx(t), 2024, pb.RelationshipTarget_RELATIONSHIP_TARGET_UNSPECIFIED, 0); status.Code(err) != codes.InvalidArgument {
			t.Errorf("unspecified y: %v, want InvalidArgument", err)
		}
		if _, err := e.reader.AnalyzeRelationship(ctx(t), 2023, pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP, 0); status.Code(err) != codes.FailedPrecondition {
			t.Errorf("2023 has no gdp: %v, want FailedPrecondition", err)
		}
	})

	t.Run("ErrInconsistentMethodology", func(t *testing.T) {
		m := handMethodology()
		m.Hierarchy.Weights, m.Hierarchy.Matrix = nil, cyclicMatrix()
		_, err := e.admin.PutMethodology(ctx(t), m, false)
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("CR ≥ 0.10: %v, want FailedPrecondition", err)
		}
		wantViolation(t, err, "hierarchy")
		if cur, err := e.reader.Methodology(ctx(t), 0); err != nil || cur.GetVersion() != hand {
			t.Errorf("current methodology %d (%v), want still %d", cur.GetVersion(), err, hand)
		}
		if _, err := e.reader.Methodology(ctx(t), hand+1); status.Code(err) != codes.NotFound {
			t.Errorf("version %d: %v, want NotFound", hand+1, err)
		}
	})

	t.Run("OKAllowInconsistent", func(t *testing.T) {
		m := handMethodology()
		m.Hierarchy.Weights, m.Hierarchy.Matrix = nil, cyclicMatrix()
		put, err := e.admin.PutMethodology(ctx(t), m, true)
		if err != nil {
			t.Fatal(err)
		}
		if v := put.GetMethodology().GetVersion(); v != hand+1 || put.GetScoresChanged() == 0 || put.GetNodes()[0].GetEvaluation().GetAcceptable() {
			t.Fatalf("stored version %d, %d scores changed, nodes %v", v, put.GetScoresChanged(), put.GetNodes())
		}
		// The cyclic matrix weighs the three leaves equally: (50 + 95 + 25) / 3.
		if s := e.score("CN-GD", 2024, 0); !near(s.GetComposite(), 170.0/3) || s.GetMethodologyVersion() != hand+1 {
			t.Errorf("current: composite %g methodology %d, want %g with %d", s.GetComposite(), s.GetMethodologyVersion(), 170.0/3, hand+1)
		}
		// The older version still scores on demand, to the same values.
		if s := e.score("CN-GD", 2024, hand); !near(s.GetComposite(), 65) || s.GetMethodologyVersion() != hand {
			t.Errorf("version %d: composite %g methodology %d, want 65", hand, s.GetComposite(), s.GetMethodologyVersion())
		}
		old, err := e.reader.ListIndex(ctx(t), 2024, "", hand)
		if err != nil || old[1].GetProvince().GetCode() != "110000" || !near(old[1].GetComposite(), 52.5) {
			t.Errorf("list with version %d: %v %v", hand, err, old[:2])
		}
		if _, err := e.reader.Index(ctx(t), "CN-GD", 2024, 99); status.Code(err) != codes.NotFound {
			t.Errorf("unknown version: %v, want NotFound", err)
		}
	})
}

// TestEvaluateWeights solves the textbook 5 × 5 matrix (its priorities,
// λmax and CR are printed in most AHP textbooks) and a small hierarchy.
func TestEvaluateWeights(t *testing.T) {
	e := newEnv(t)
	rows := [][]float64{{1, 1. / 2, 4, 3, 3}, {2, 1, 7, 5, 5}, {1. / 4, 1. / 7, 1, 1. / 2, 1. / 3}, {1. / 3, 1. / 5, 2, 1, 1}, {1. / 3, 1. / 5, 3, 1, 1}}
	m := &pb.PairwiseMatrix{}
	for _, r := range rows {
		m.Rows = append(m.Rows, &pb.MatrixRow{Values: r})
	}
	t.Run("OKMatrix", func(t *testing.T) {
		resp, err := e.reader.EvaluateWeights(ctx(t), &pb.EvaluateWeightsRequest{Input: &pb.EvaluateWeightsRequest_Matrix{Matrix: m}})
		if err != nil {
			t.Fatal(err)
		}
		ev := resp.GetEvaluation()
		for i, want := range []float64{0.2636, 0.4758, 0.0538, 0.0981, 0.1087} {
			if got := ev.GetWeights()[i]; math.Abs(got-want) > 5e-5 {
				t.Errorf("w[%d] = %.5f, want %.4f", i, got, want)
			}
		}
		if math.Abs(ev.GetLambdaMax()-5.0721) > 5e-5 || math.Abs(ev.GetConsistencyRatio()-0.0161) > 5e-5 ||
			ev.GetRandomIndex() != 1.12 || !ev.GetAcceptable() || len(ev.GetHints()) != 10 {
			t.Errorf("λmax %.5f CR %.5f RI %g acceptable %t hints %d; want 5.0721, 0.0161, 1.12, true, 10",
				ev.GetLambdaMax(), ev.GetConsistencyRatio(), ev.GetRandomIndex(), ev.GetAcceptable(), len(ev.GetHints()))
		}
	})
	t.Run("OKHierarchy", func(t *testing.T) {
		h := &pb.WeightNode{Code: "root", Weights: []float64{3, 1}, Children: []*pb.WeightNode{
			{Code: "a", Matrix: cyclicMatrix(), Children: []*pb.WeightNode{{Code: "a1"}, {Code: "a2"}, {Code: "a3"}}},
			{Code: "b"},
		}}
		resp, err := e.reader.EvaluateWeights(ctx(t), &pb.EvaluateWeightsRequest{Input: &pb.EvaluateWeightsRequest_Hierarchy{Hierarchy: h}})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"a1": 0.25, "a2": 0.25, "a3": 0.25, "b": 0.25}
		for _, lw := range resp.GetLeafWeights() {
			if !near(lw.GetWeight(), want[lw.GetIndicator()]) {
				t.Errorf("%s: %g, want %g", lw.GetIndicator(), lw.GetWeight(), want[lw.GetIndicator()])
			}
		}
		if len(resp.GetNodes()) != 2 || resp.GetNodes()[1].GetEvaluation().GetAcceptable() {
			t.Errorf("nodes %v, want root and an unacceptable a", resp.GetNodes())
		}
	})
	t.Run("ErrNotReciprocal", func(t *testing.T) {
		bad := &pb.PairwiseMatrix{Rows: []*pb.MatrixRow{{Values: []float64{1, 3}}, {Values: []float64{3, 1}}}}
		_, err := e.reader.EvaluateWeights(ctx(t), &pb.EvaluateWeightsRequest{Input: &pb.EvaluateWeightsRequest_Matrix{Matrix: bad}})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("%v, want InvalidArgument", err)
		}
		wantViolation(t, err, "matrix[1][0]")
	})
}

// TestIndexRoles checks that a reader reads the index but cannot write its
// inputs.
func TestIndexRoles(t *testing.T) {
	e := newEnv(t)
	if _, err := e.reader.PutMethodology(ctx(t), handMethodology(), false); status.Code(err) != codes.PermissionDenied {
		t.Errorf("reader PutMethodology: %v, want PermissionDenied", err)
	}
	if _, err := e.vendorA.PutMethodology(ctx(t), handMethodology(), false); status.Code(err) != codes.PermissionDenied {
		t.Errorf("vendor PutMethodology: %v, want PermissionDenied", err)
	}
	_, err := e.reader.PutObservations(ctx(t), []*pb.Observation{observation("CN-GD", 2024, "tech.rnd", 1)}, clientOpts(10))
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("reader PutObservations: %v, want PermissionDenied", err)
	}
	if m, err := e.reader.Methodology(ctx(t), 0); err != nil || m.GetVersion() != 1 {
		t.Errorf("reader GetMethodology: %v %v, want the default version 1", m, err)
	}
	if _, err := e.reader.Index(ctx(t), "CN-GD", 2024, 0); err != nil {
		t.Errorf("reader GetIndex: %v", err)
	}
}
