package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/demodata"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
)

// benchQuery (P2) loads the demo dataset and drives GetProvinceCompute and
// GetIndex from concurrent goroutines over one connection for a fixed time,
// and does the same against a bare grpc-go server (no interceptors, no
// store, default options) that answers the very same response message, in
// the same run. Both are driven by the same load: the same client (the
// computescale client with the reader's token and its service config), the
// same methods, the same request bytes; only the server differs. The two
// alternate in short rounds, so that other work on the machine falls on both
// alike: requests/s are the medians of the rounds, the ratio is the median of
// each round's ratio, and latencies are pooled over the rounds.
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
		name    string
		method  string
		req     proto.Message
		newResp func() proto.Message
	}{
		{"GetProvinceCompute", "/computescale.v1.ComputeService/GetProvinceCompute",
			&pb.GetProvinceComputeRequest{Province: "CN-GD", Year: 2025, Quarter: 2},
			func() proto.Message { return &pb.GetProvinceComputeResponse{} }},
		{"GetIndex", "/computescale.v1.IndexService/GetIndex",
			&pb.GetIndexRequest{Province: "CN-GD", Year: 2024},
			func() proto.Message { return &pb.GetIndexResponse{} }},
	}
	// Rounds of 0.5 s (2 in -short): short enough that both sides of a
	// round see about the same machine.
	rounds := max(2, int(c.queryTime/(500*time.Millisecond)))
	var rows []row
	for _, call := range calls {
		// The bare server answers with the real response, captured once.
		canned := call.newResp()
		if err := r.reader.Conn().Invoke(ctx, call.method, call.req, canned); err != nil {
			return nil, err
		}
		bare.set(canned)
		for _, conc := range []int{10, 50} {
			var got, base []loadResult
			var ratios []float64
			for i := range rounds {
				ours := func() loadResult {
					return load(ctx, c.queryTime/time.Duration(rounds), conc, func(ctx context.Context) error {
						return r.reader.Conn().Invoke(ctx, call.method, call.req, call.newResp())
					})
				}
				baseline := func() loadResult {
					return load(ctx, c.queryTime/time.Duration(rounds), conc, func(ctx context.Context) error {
						return bare.client.Conn().Invoke(ctx, call.method, call.req, call.newResp())
					})
				}
				// Each goes first in every other round, so that neither always
				// inherits the other's garbage to collect.
				var g, b loadResult
				if i%2 == 0 {
					g, b = ours(), baseline()
				} else {
					b, g = baseline(), ours()
				}
				if g.errs > 0 || b.errs > 0 {
					return nil, fmt.Errorf("%s: %d errors, bare %d", call.name, g.errs, b.errs)
				}
				got, base = append(got, g), append(base, b)
				ratios = append(ratios, g.rps/b.rps)
			}
			g, b, ratio := merge(got), merge(base), median(ratios)
			rows = append(rows,
				row{group: "P2 queries", name: fmt.Sprintf("%s requests/s, concurrency %d (%d B reply)", call.name, conc, proto.Size(canned)),
					value: fmt.Sprintf("%.0f", g.rps), baseline: fmt.Sprintf("%.0f (bare grpc-go)", b.rps),
					ratio: fmt.Sprintf("%.0f %%", 100*ratio), target: "≥ 70 %", ok: yes(ratio >= 0.7)},
				row{group: "P2 queries", name: fmt.Sprintf("%s p50 / p99, concurrency %d", call.name, conc),
					value: fmt.Sprintf("%s / %s", ms(g.p50), ms(g.p99)), baseline: fmt.Sprintf("%s / %s", ms(b.p50), ms(b.p99)),
					ratio: fmt.Sprintf("p99 %.2f×", float64(g.p99)/float64(b.p99)), target: "p99 ≤ 2×", ok: yes(g.p99 <= 2*b.p99)})
		}
	}
	return rows, nil
}

// merge combines rounds: the median requests/s, and percentiles of all the
// rounds' latencies together.
func merge(rs []loadResult) loadResult {
	var rps []float64
	var lat []time.Duration
	for _, r := range rs {
		rps = append(rps, r.rps)
		lat = append(lat, r.lat...)
	}
	slices.Sort(lat)
	return loadResult{rps: median(rps), p50: pct(lat, 0.50), p99: pct(lat, 0.99), lat: lat}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errs     int
	lat      []time.Duration // sorted
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
	return loadResult{rps: float64(len(lat)) / elapsed.Seconds(), p50: pct(lat, 0.50), p99: pct(lat, 0.99), errs: errs, lat: lat}
}

// bare is the baseline: a grpc-go server with default options and no
// interceptors, whose handlers decode the request and return a canned
// response. It serves the same method names as computescale, so that the
// same client, with its service config and token, drives both.
type bare struct {
	mu     sync.Mutex
	canned proto.Message
	client *client.Client
}

func (b *bare) set(m proto.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.canned = m
}

func bareServer() (*bare, func(), error) {
	b := &bare{}
	g := grpc.NewServer()
	answer := func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		var req pb.GetIndexRequest // any message: its fields are decoded, unknown ones kept
		if err := dec(&req); err != nil {
			return nil, err
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.canned, nil
	}
	for svc, method := range map[string]string{"computescale.v1.ComputeService": "GetProvinceCompute", "computescale.v1.IndexService": "GetIndex"} {
		g.RegisterService(&grpc.ServiceDesc{
			ServiceName: svc, HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{MethodName: method, Handler: answer}},
		}, struct{}{})
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go g.Serve(lis)
	c, err := client.New(lis.Addr().String(), client.WithToken(benchReader), client.WithTimeout(30*time.Second))
	if err != nil {
		g.Stop()
		return nil, nil, err
	}
	b.client = c
	return b, func() { c.Close(); g.Stop() }, nil
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
