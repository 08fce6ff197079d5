package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// benchStream (P3): commit-to-receive latency for 1, 100 and 1,000
// subscribers, memory per idle subscriber, and the ingest commit latency
// with 10 stalled subscribers against none.
func benchStream(ctx context.Context, c config) ([]row, error) {
	var rows []row
	commits := 200
	if c.short {
		commits = 30
	}
	for _, subs := range []int{1, 100, 1000} {
		p50, p99, err := watchLatency(ctx, c, subs, commits)
		if err != nil {
			return nil, err
		}
		r := row{group: "P3 streams", name: fmt.Sprintf("commit-to-receive p50 / p99, %d subscriber(s)", subs),
			value: fmt.Sprintf("%s / %s", ms(p50), ms(p99)), baseline: "—", ratio: "—", target: "—", ok: "—"}
		if subs == 1000 {
			r.target, r.ok = "p99 ≤ 5 ms", yes(p99 <= 5*time.Millisecond)
		}
		rows = append(rows, r)
	}
	perSub, err := idleMemoryServerOnly(ctx, c, 1000)
	if err != nil {
		return nil, err
	}
	both, err := idleMemory(ctx, c, 1000)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{group: "P3 streams", name: "memory per idle subscriber, server (child process)",
		value: fmt.Sprintf("%.1f KB", perSub/1024), baseline: fmt.Sprintf("%.1f KB (server and client ends, one process)", both/1024),
		ratio: "—", target: "≤ 20 KB", ok: yes(perSub <= 20*1024)})
	none, stalled, err := stalledIsolation(ctx, c, commits)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{group: "P3 streams", name: "ingest commit p50, 10 stalled subscribers vs none",
		value: ms(stalled), baseline: ms(none) + " (no subscribers)", ratio: fmt.Sprintf("%+.0f %%", 100*(float64(stalled)/float64(none)-1)),
		target: "< 10 % apart", ok: yes(absf(float64(stalled)/float64(none)-1) < 0.10)})
	return rows, nil
}

func absf(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// conns spreads n streams over connections of at most 200 streams each,
// under the server's 256-streams-per-connection limit.
func (r *rig) watchConns(n int) ([]*grpc.ClientConn, func(), error) {
	var conns []*grpc.ClientConn
	var closers []func()
	for range (n + 199) / 200 {
		cl, err := dialReader(r.addr)
		if err != nil {
			return nil, nil, err
		}
		conns, closers = append(conns, cl.Conn()), append(closers, func() { cl.Close() })
	}
	return conns, func() {
		for _, c := range closers {
			c()
		}
	}, nil
}

// watchLatency measures, for every subscriber and every revision, the time
// from the commit (the event's commit time, stamped in the write
// transaction before its fsync, so the figure includes the fsync) to the
// subscriber's receipt of it.
func watchLatency(ctx context.Context, c config, subs, commits int) (p50, p99 time.Duration, err error) {
	r, err := newRig(dbPath(c.dir, fmt.Sprintf("watch-%d", subs)), 1, server.Config{})
	if err != nil {
		return 0, 0, err
	}
	defer r.close()
	if err := r.loadChips(); err != nil {
		return 0, 0, err
	}
	conns, closeConns, err := r.watchConns(subs)
	if err != nil {
		return 0, 0, err
	}
	defer closeConns()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var ready, done sync.WaitGroup
	for i := range subs {
		st, err := pb.NewWatchServiceClient(conns[i%len(conns)]).Watch(ctx, &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}, ProgressNotify: true})
		if err != nil {
			return 0, 0, err
		}
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			first := true
			seen := 0
			var mine []time.Duration
			for seen < commits {
				resp, err := st.Recv()
				if err != nil {
					break
				}
				now := time.Now()
				if first { // a progress notification: the watch is live
					first = false
					ready.Done()
					continue
				}
				if len(resp.GetEvents()) > 0 {
					mine = append(mine, now.Sub(time.Unix(0, resp.GetEvents()[0].GetCommitTimeUnixNanos())))
					seen++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	ready.Wait()
	st, err := r.vendors[0].Ingest.IngestShipments(ctx)
	if err != nil {
		return 0, 0, err
	}
	recs := records("w", commits)
	for i, rec := range recs {
		if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{rec}}); err != nil {
			return 0, 0, err
		}
		if _, err := st.Recv(); err != nil {
			return 0, 0, err
		}
	}
	waitOrTimeout(&done, 30*time.Second)
	cancel()
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return 0, 0, fmt.Errorf("no events received")
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)], nil
}

func waitOrTimeout(wg *sync.WaitGroup, d time.Duration) {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// idleMemory opens n watches that match nothing and reports the growth of
// heap and stacks per watch, after a GC.
func idleMemory(ctx context.Context, c config, n int) (float64, error) {
	r, err := newRig(dbPath(c.dir, "idle"), 1, server.Config{ProgressInterval: time.Hour})
	if err != nil {
		return 0, err
	}
	defer r.close()
	conns, closeConns, err := r.watchConns(n)
	if err != nil {
		return 0, err
	}
	defer closeConns()
	// Make the connections live before the first reading.
	for _, cc := range conns {
		cc.Connect()
	}
	time.Sleep(200 * time.Millisecond)
	before := inUse()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := openIdleWatches(ctx, conns, n); err != nil {
		return 0, err
	}
	// Wait until the server has every watcher live.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if r.srv.Subscribers() >= n {
			break
		}
	}
	after := inUse()
	return float64(after-before) / float64(n), nil
}

// openIdleWatches opens n watches that match nothing.
func openIdleWatches(ctx context.Context, conns []*grpc.ClientConn, n int) error {
	for i := range n {
		if _, err := pb.NewWatchServiceClient(conns[i%len(conns)]).Watch(ctx, &pb.WatchRequest{Provinces: []string{"CN-XZ"}, Years: []int32{1990}}); err != nil {
			return err
		}
	}
	return nil
}

func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// stalledIsolation measures the p50 ack latency of one-record batches with
// no subscriber and with 10 that never read (they fill their buffers and are
// cut off; the commit path must not notice them), in alternating rounds so
// that drift on a shared machine falls on both sides alike.
func stalledIsolation(ctx context.Context, c config, commits int) (none, stalled time.Duration, err error) {
	r, err := newRig(dbPath(c.dir, "stalled"), 1, server.Config{WatchBuffer: 16})
	if err != nil {
		return 0, 0, err
	}
	defer r.close()
	if err := r.loadChips(); err != nil {
		return 0, 0, err
	}
	st, err := r.vendors[0].Ingest.IngestShipments(ctx)
	if err != nil {
		return 0, 0, err
	}
	next := 0
	measure := func(prefix string, into *[]time.Duration) error {
		for _, rec := range records(prefix, commits) {
			next++
			t := time.Now()
			if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(next), Records: []*pb.ShipmentRecord{rec}}); err != nil {
				return err
			}
			if _, err := st.Recv(); err != nil {
				return err
			}
			*into = append(*into, time.Since(t))
		}
		return nil
	}
	var withNone, withStalled []time.Duration
	for round := range 4 {
		if err := measure(fmt.Sprintf("none%d", round), &withNone); err != nil {
			return 0, 0, err
		}
		wctx, cancel := context.WithCancel(ctx)
		for range 10 {
			if _, err := pb.NewWatchServiceClient(r.reader.Conn()).Watch(wctx, &pb.WatchRequest{StartRevision: 1}); err != nil {
				cancel()
				return 0, 0, err
			}
		}
		err := measure(fmt.Sprintf("stalled%d", round), &withStalled)
		cancel()
		if err != nil {
			return 0, 0, err
		}
	}
	slices.Sort(withNone)
	slices.Sort(withStalled)
	return withNone[len(withNone)/2], withStalled[len(withStalled)/2], nil
}
