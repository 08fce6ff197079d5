package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/demodata"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
)

// benchQuery (P2) loads the demo dataset and drives GetProvinceCompute and
// GetIndex from concurrent goroutines over one connection for a fixed time,
// then does the same against a bare grpc-go server (no interceptors, no
// store) that answers the very same response message, in the same run.
func benchQuery(ctx context.Context, c config) ([]row, error) {
	r, err := newRig(dbPath(c.dir, "query"), 1, server.Config{})
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := loadDemo(ctx, r); err != nil {
		return nil, err
	}
	bare, stop, err := bareServer()
	if err != nil {
		return nil, err
	}
	defer stop()
	calls := []struct {
		name     string
		method   string
		req      proto.Message
		newResp  func() proto.Message
		bareResp proto.Message
	}{
		{"GetProvinceCompute", "/computescale.v1.ComputeService/GetProvinceCompute",
			&pb.GetProvinceComputeRequest{Province: "CN-GD", Year: 2025, Quarter: 2},
			func() proto.Message { return &pb.GetProvinceComputeResponse{} }, nil},
		{"GetIndex", "/computescale.v1.IndexService/GetIndex",
			&pb.GetIndexRequest{Province: "CN-GD", Year: 2024},
			func() proto.Message { return &pb.GetIndexResponse{} }, nil},
	}
	var rows []row
	for _, call := range calls {
		// The bare server answers with the real response, captured once.
		canned := call.newResp()
		if err := r.reader.Conn().Invoke(ctx, call.method, call.req, canned); err != nil {
			return nil, err
		}
		bare.set(canned)
		for _, conc := range []int{10, 50} {
			got := load(ctx, c.queryTime, conc, func(ctx context.Context) error {
				return r.reader.Conn().Invoke(ctx, call.method, call.req, call.newResp())
			})
			base := load(ctx, c.queryTime, conc, func(ctx context.Context) error {
				return bare.conn.Invoke(ctx, "/bench.Bare/Get", call.req, call.newResp())
			})
			if got.errs > 0 {
				return nil, fmt.Errorf("%s: %d errors", call.name, got.errs)
			}
			rows = append(rows,
				row{group: "P2 queries", name: fmt.Sprintf("%s requests/s, concurrency %d (%d B reply)", call.name, conc, proto.Size(canned)),
					value: fmt.Sprintf("%.0f", got.rps), baseline: fmt.Sprintf("%.0f (bare grpc-go)", base.rps),
					ratio: fmt.Sprintf("%.0f %%", 100*got.rps/base.rps), target: "≥ 70 %", ok: yes(got.rps/base.rps >= 0.7)},
				row{group: "P2 queries", name: fmt.Sprintf("%s p50 / p99, concurrency %d", call.name, conc),
					value: fmt.Sprintf("%s / %s", ms(got.p50), ms(got.p99)), baseline: fmt.Sprintf("%s / %s", ms(base.p50), ms(base.p99)),
					ratio: fmt.Sprintf("p99 %.2f×", float64(got.p99)/float64(base.p99)), target: "p99 ≤ 2×", ok: yes(got.p99 <= 2*base.p99)})
		}
	}
	return rows, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errs     int
}

// load runs fn from conc goroutines for d and measures every call.
func load(ctx context.Context, d time.Duration, conc int, fn func(context.Context) error) loadResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				t := time.Now()
				err := fn(context.Background())
				mine = append(mine, time.Since(t))
				if err != nil {
					bad++
				}
			}
			mu.Lock()
			lat, errs = append(lat, mine...), errs+bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return loadResult{rps: float64(len(lat)) / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99), errs: errs}
}

// bare is the baseline: a grpc-go server with one unary method that decodes
// the request and returns a canned response.
type bare struct {
	mu     sync.Mutex
	canned proto.Message
	conn   *grpc.ClientConn
}

func (b *bare) set(m proto.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.canned = m
}

func bareServer() (*bare, func(), error) {
	b := &bare{}
	g := grpc.NewServer()
	g.RegisterService(&grpc.ServiceDesc{
		ServiceName: "bench.Bare", HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Get", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req pb.GetIndexRequest // any message: its fields are decoded, unknown ones kept
			if err := dec(&req); err != nil {
				return nil, err
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.canned, nil
		}}},
	}, struct{}{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go g.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		g.Stop()
		return nil, nil, err
	}
	b.conn = conn
	return b, func() { conn.Close(); g.Stop() }, nil
}

// loadDemo loads the bundled dataset through the real API, as demo does.
func loadDemo(ctx context.Context, r *rig) error {
	if err := r.loadChips(); err != nil {
		return err
	}
	var recs []*pb.ShipmentRecord
	for _, rec := range demodata.Shipments() {
		recs = append(recs, protoconv.RecordToProto(rec))
	}
	if _, err := r.vendors[0].IngestShipments(ctx, recs, client.IngestOptions{}); err != nil {
		return err
	}
	var obs []*pb.Observation
	for _, o := range demodata.Observations() {
		obs = append(obs, protoconv.ObservationToProto(o))
	}
	if _, err := r.admin.PutObservations(ctx, obs, client.IngestOptions{}); err != nil {
		return err
	}
	m := demodata.Methodology()
	_, err := r.admin.PutMethodology(ctx, protoconv.MethodologyToProto(m, nil), false)
	return err
}
