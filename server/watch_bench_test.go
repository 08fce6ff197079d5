package server_test

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Watch benchmarks. Figures are reported (b.ReportMetric), never asserted:
//
//	go test -run '^$' -bench 'Watch|Stalled' -benchtime 200x ./server

// newBenchEnv allows a thousand streams on one connection (the default limit
// is 256).
func newBenchEnv(b *testing.B) *env {
	return newEnvWith(b, func(e *env) { e.limits.MaxConcurrentStreams = 4096 })
}

// BenchmarkWatchLatency is commit-to-receive latency over loopback: from just
// before a 1-record batch is sent to each subscriber's receipt of its
// revision (so it includes the fsync), with 1, 100 and 1000 live
// subscribers. Each iteration waits for every subscriber before the next.
func BenchmarkWatchLatency(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchLatency(b, n) })
	}
}

// subsPerConn is how many latency subscribers share a connection.
const subsPerConn = 10

func benchLatency(b *testing.B, n int) {
	e := newBenchEnv(b)
	e.putChips()
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	var sentAt atomic.Int64 // Unix nanos just before the current batch's Send
	var pending atomic.Int64
	arrived := make(chan struct{}, 1)
	lat := make([][]time.Duration, n)
	// Subscribers are spread over connections, subsPerConn each, as
	// separate processes would be, rather than all queued on one HTTP/2
	// connection's writer.
	var conns []*client.Client
	for range (n + subsPerConn - 1) / subsPerConn {
		conns = append(conns, e.dial(readerToken))
	}
	var wg sync.WaitGroup
	for i := range n {
		st, err := watchStub(conns[i/subsPerConn]).Watch(ctx, &pb.WatchRequest{})
		if err != nil {
			b.Fatal(err)
		}
		startAfter(b, st)
		wg.Go(func() {
			for {
				r, err := st.Recv()
				if err != nil {
					return
				}
				if len(r.GetEvents()) == 0 || r.GetFragment() {
					continue
				}
				lat[i] = append(lat[i], time.Duration(time.Now().UnixNano()-sentAt.Load()))
				if pending.Add(-1) == 0 {
					arrived <- struct{}{}
				}
			}
		})
	}
	ing, err := e.vendorA.Ingest.IngestShipments(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var acks []time.Duration
	b.ResetTimer()
	for i := range b.N {
		rec := general(fmt.Sprintf("lat-%d", i), loadProvinces[i%len(loadProvinces)], 2020+i%6, 0, 1+i%7)
		pending.Store(int64(n))
		t0 := time.Now()
		sentAt.Store(t0.UnixNano())
		if err := ing.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{rec}}); err != nil {
			b.Fatal(err)
		}
		if resp, err := ing.Recv(); err != nil || resp.GetError() != nil {
			b.Fatalf("ack: %v %v", err, resp.GetError())
		}
		acks = append(acks, time.Since(t0))
		select {
		case <-arrived:
		case <-time.After(waitFor):
			b.Fatalf("iteration %d: %d subscribers still waiting", i, pending.Load())
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	all := slices.Concat(lat...)
	b.ReportMetric(micros(percentile(all, 50)), "p50-µs")
	b.ReportMetric(micros(percentile(all, 99)), "p99-µs")
	b.ReportMetric(micros(percentile(acks, 50)), "ack-p50-µs")
}

// BenchmarkWatchIdleMemory is the memory an idle watch costs: HeapInuse +
// StackInuse after opening 1000 watches that receive nothing, minus before,
// per watch. Server and client run in this process, so the figure is both
// sides together; "baseline" opens the same streams to a handler that only
// waits, so the difference is what the watch server itself adds (hub
// watcher, its buffer, the handler's state), and "helper" adds the client
// helper's goroutine per watch.
func BenchmarkWatchIdleMemory(b *testing.B) {
	const n = 1000
	e := newBenchEnv(b)
	baseline := parkedServer(b)
	open := map[string]func(ctx context.Context) error{
		"raw": func(ctx context.Context) error {
			st, err := watchStub(e.reader).Watch(ctx, &pb.WatchRequest{})
			if err == nil {
				_, err = st.Header()
			}
			return err
		},
		"helper": func(ctx context.Context) error {
			go e.reader.Watch(ctx, &pb.WatchRequest{}, func(*pb.WatchResponse) error { return nil })
			return nil
		},
		"baseline": func(ctx context.Context) error {
			st, err := watchStub(baseline).Watch(ctx, &pb.WatchRequest{})
			if err == nil {
				_, err = st.Header()
			}
			return err
		},
	}
	for _, name := range []string{"baseline", "raw", "helper"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				heap, stack, goroutines := idleCost(b, n, open[name], func() int {
					if name == "baseline" {
						return n // the parked handler has no hub
					}
					return e.srv.WatchSubscribers()
				})
				b.ReportMetric(heap+stack, "B/watch")
				b.ReportMetric(heap, "heap-B/watch")
				b.ReportMetric(stack, "stack-B/watch")
				b.ReportMetric(goroutines, "goroutines/watch")
			}
		})
	}
}

func idleCost(b *testing.B, n int, open func(context.Context) error, live func() int) (heapPer, stackPer, goroutinesPer float64) {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	before, g0 := inUse(), runtime.NumGoroutine()
	for range n {
		if err := open(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(waitFor); live() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d watches live", live(), n)
		}
	}
	after, g1 := inUse(), runtime.NumGoroutine()
	cancel()
	for deadline := time.Now().Add(waitFor); live() > 0 && live() != n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	per := func(a, b uint64) float64 { return float64(int64(a)-int64(b)) / float64(n) }
	return per(after.HeapInuse, before.HeapInuse), per(after.StackInuse, before.StackInuse), float64(g1-g0) / float64(n)
}

func inUse() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// parkedServer serves a WatchService whose handler sends its header and waits:
// gRPC's own cost of an idle server stream, for comparison.
func parkedServer(b *testing.B) *client.Client {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	g := grpc.NewServer(grpc.MaxConcurrentStreams(4096))
	pb.RegisterWatchServiceServer(g, parked{})
	go g.Serve(lis)
	b.Cleanup(g.Stop)
	c, err := client.New(lis.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

type parked struct {
	pb.UnimplementedWatchServiceServer
}

func (parked) Watch(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
	if err := st.SendHeader(nil); err != nil {
		return err
	}
	<-st.Context().Done()
	return nil
}

// BenchmarkIngestWithStalledWatchers is the commit latency of 1-record
// batches (send to ack) with no watcher, then with 10 watchers that never
// read (small HTTP/2 windows, so they stall at once and are cut off once
// the buffer's 256 responses are full too), in one run: the hub must not put
// them on the commit path. "cut-off" counts the watchers dropped by the end.
func BenchmarkIngestWithStalledWatchers(b *testing.B) {
	for _, stalled := range []int{0, 10} {
		b.Run(fmt.Sprintf("stalled=%d", stalled), func(b *testing.B) {
			e := newBenchEnv(b)
			e.putChips()
			// Index inputs, so that commits also rescore and responses
			// carry score events (a few KB each): the stalled watchers fill
			// their windows within a few dozen revisions.
			if err := e.putObservations(e.admin, loadObservations(1)); err != nil {
				b.Fatal(err)
			}
			slow, err := client.New(e.addr, client.WithToken(readerToken),
				client.WithDialOptions(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
			if err != nil {
				b.Fatal(err)
			}
			defer slow.Close()
			for range stalled {
				st, err := watchStub(slow).Watch(b.Context(), &pb.WatchRequest{})
				if err != nil {
					b.Fatal(err)
				}
				startAfter(b, st)
			}
			ing, err := e.vendorA.Ingest.IngestShipments(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			acks := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				rec := aiServer(fmt.Sprintf("st-%d", i), loadProvinces[i%len(loadProvinces)], 2020+i%6, 1+i%7)
				t0 := time.Now()
				if err := ing.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{rec}}); err != nil {
					b.Fatal(err)
				}
				if resp, err := ing.Recv(); err != nil || resp.GetError() != nil {
					b.Fatalf("ack: %v %v", err, resp.GetError())
				}
				acks = append(acks, time.Since(t0))
			}
			b.StopTimer()
			b.ReportMetric(micros(percentile(acks, 50)), "p50-µs")
			b.ReportMetric(micros(percentile(acks, 99)), "p99-µs")
			b.ReportMetric(float64(stalled-e.srv.WatchSubscribers()), "cut-off")
		})
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
