package server_test

import (
	"net"
	"path/filepath"
	"testing"
	"time"

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
