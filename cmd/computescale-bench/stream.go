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
// subscribers, with the server in this process and again in a child
// process; memory per idle subscriber; and the ingest commit latency with
// 10 stalled subscribers against none.
func benchStream(ctx context.Context, c config) ([]row, error) {
	var rows []row
	commits := 200
	if c.short {
		commits = 30
	}
	type run struct {
		child bool
		subs  int
		pace  time.Duration // between an ack and the next commit; 0: back to back
	}
	var runs []run
	for _, child := range []bool{false, true} {
		for _, subs := range []int{1, 100, 1000} {
			runs = append(runs, run{child, subs, 0})
		}
	}
	// Back to back, 1,000 subscribers saturate the machine and revisions
	// queue behind each other; paced, each revision's fan-out runs alone.
	runs = append(runs, run{false, 1000, 50 * time.Millisecond})
	for _, rn := range runs {
		res, err := watchLatencyIn(ctx, c, rn.child, rn.subs, commits, rn.pace)
		if err != nil {
			return nil, err
		}
		where := "server and subscribers in one process"
		if rn.child {
			where = fmt.Sprintf("server in a child process (%.1f µs server CPU / delivery, commits included)", res.serverCPUPerDelivery)
		}
		how := fmt.Sprintf("%d commits back to back, %.0f/s", commits, res.commitsPerSec)
		if rn.pace > 0 {
			how = fmt.Sprintf("%d commits, one every %s after the previous ack", commits, rn.pace)
		}
		r := row{group: "P3 streams", name: fmt.Sprintf("commit-to-receive p50 / p99, %d subscriber(s), %s; %s", rn.subs, where, how),
			value: fmt.Sprintf("%s / %s", ms(res.p50), ms(res.p99)), baseline: "—", ratio: "—", target: "—", ok: "—"}
		if rn.subs == 1000 {
			r.target, r.ok = "p99 ≤ 5 ms", yes(res.p99 <= 5*time.Millisecond)
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
	none, live, stalled, err := stalledIsolation(ctx, c, commits)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{group: "P3 streams", name: "ingest commit p50, 10 stalled subscribers vs none",
		value: ms(stalled), baseline: ms(none) + " (no subscribers)", ratio: fmt.Sprintf("%+.0f %%", 100*(float64(stalled)/float64(none)-1)),
		target: "< 10 % apart", ok: yes(absf(float64(stalled)/float64(none)-1) < 0.10)})
	// The same with subscribers that keep up: what watching costs the commit
	// path at all (the hub reads and converts each revision for them), so
	// that the row above can be told apart from the cost of a stall.
	rows = append(rows, row{group: "P3 streams", name: "ingest commit p50, 10 stalled subscribers vs 10 that keep up",
		value: ms(stalled), baseline: ms(live) + " (10 reading subscribers)", ratio: fmt.Sprintf("%+.0f %%", 100*(float64(stalled)/float64(live)-1)),
		target: "—", ok: "—"})
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

// latency is one watchLatency run.
type latency struct {
	p50, p99      time.Duration
	commitsPerSec float64
	// serverCPUPerDelivery is the server process's CPU time (user and
	// system) during the commits divided by the deliveries, in µs; only
	// known when the server runs in a child process.
	serverCPUPerDelivery float64
}

// watchLatencyIn runs watchLatency against a fresh server, in this process
// or in a child process (the benchmark binary re-executed with
// -child-server), so that the subscribers' receive and decode work is at
// least not in the server's process. Both share the machine's cores.
func watchLatencyIn(ctx context.Context, c config, child bool, subs, commits int, pace time.Duration) (latency, error) {
	if !child {
		// A fresh file per run: the same records ingested again would be
		// no-ops, with no revision to watch.
		r, err := newRig(dbPath(c.dir, fmt.Sprintf("watch-%d-%s", subs, pace)), 1, server.Config{})
		if err != nil {
			return latency{}, err
		}
		defer r.close()
		return watchLatency(ctx, r, subs, commits, pace, nil)
	}
	ch, err := startChild(dbPath(c.dir, fmt.Sprintf("watch-child-%d-%s", subs, pace)))
	if err != nil {
		return latency{}, err
	}
	defer ch.stop()
	r, closeClients, err := dialChild(ch.addr)
	if err != nil {
		return latency{}, err
	}
	defer closeClients()
	return watchLatency(ctx, r, subs, commits, pace, ch)
}

// watchLatency measures, for every subscriber and every revision, the time
// from the commit (the event's commit time, stamped in the write
// transaction before its fsync, so the figure includes the fsync) to the
// return of the subscriber's Recv with it, decoded. The commits are
// one-record batches, each sent pace after the previous one's ack (0: at
// once). A delivery that never arrives is an error, not a missing sample.
func watchLatency(ctx context.Context, r *rig, subs, commits int, pace time.Duration, srv *child) (latency, error) {
	if err := r.loadChips(); err != nil {
		return latency{}, err
	}
	conns, closeConns, err := r.watchConns(subs)
	if err != nil {
		return latency{}, err
	}
	defer closeConns()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	var done sync.WaitGroup
	for i := range subs {
		st, err := pb.NewWatchServiceClient(conns[i%len(conns)]).Watch(ctx, &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}, ProgressNotify: true})
		if err != nil {
			return latency{}, err
		}
		// The server sends the response header once the watcher is in
		// the live set, so every subscriber is live before the first
		// commit.
		if _, err := st.Header(); err != nil {
			return latency{}, err
		}
		done.Add(1)
		go func() {
			defer done.Done()
			mine := make([]time.Duration, 0, commits)
			var rerr error
			for len(mine) < commits {
				resp, err := st.Recv()
				if err != nil {
					rerr = err
					break
				}
				now := time.Now()
				if len(resp.GetEvents()) > 0 { // not a progress notification
					mine = append(mine, now.Sub(time.Unix(0, resp.GetEvents()[0].GetCommitTimeUnixNanos())))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			if rerr != nil && firstErr == nil {
				firstErr = rerr
			}
			mu.Unlock()
		}()
	}
	st, err := r.vendors[0].Ingest.IngestShipments(ctx)
	if err != nil {
		return latency{}, err
	}
	var cpu0 time.Duration
	if srv != nil {
		if cpu0, err = srv.cpu(); err != nil {
			return latency{}, err
		}
	}
	start := time.Now()
	recs := records("w", commits)
	for i, rec := range recs {
		if pace > 0 {
			time.Sleep(pace)
		}
		if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{rec}}); err != nil {
			return latency{}, err
		}
		if _, err := st.Recv(); err != nil {
			return latency{}, err
		}
	}
	elapsed := time.Since(start)
	waitOrTimeout(&done, 30*time.Second)
	var res latency
	res.commitsPerSec = float64(commits) / elapsed.Seconds()
	if srv != nil {
		cpu1, err := srv.cpu()
		if err != nil {
			return latency{}, err
		}
		res.serverCPUPerDelivery = float64(cpu1-cpu0) / 1e3 / float64(subs*commits)
	}
	cancel()
	done.Wait() // a subscriber still waiting ends at once, with its samples
	if len(lat) != subs*commits {
		return latency{}, fmt.Errorf("%d subscribers: %d of %d deliveries arrived (first error: %v)", subs, len(lat), subs*commits, firstErr)
	}
	slices.Sort(lat)
	res.p50, res.p99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
	return res, nil
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
// no subscriber, with 10 that read everything, and with 10 that never read
// (they fill their buffers and are cut off; the commit path must not notice
// them), in alternating rounds so that drift on a shared machine falls on
// every side alike.
func stalledIsolation(ctx context.Context, c config, commits int) (none, live, stalled time.Duration, err error) {
	r, err := newRig(dbPath(c.dir, "stalled"), 1, server.Config{WatchBuffer: 16})
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.close()
	if err := r.loadChips(); err != nil {
		return 0, 0, 0, err
	}
	st, err := r.vendors[0].Ingest.IngestShipments(ctx)
	if err != nil {
		return 0, 0, 0, err
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
	// watch opens 10 watches from revision 1; with read set, each is drained
	// by a goroutine (subscribers that keep up), otherwise never read.
	watch := func(read bool) (func(), error) {
		wctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range 10 {
			w, err := pb.NewWatchServiceClient(r.reader.Conn()).Watch(wctx, &pb.WatchRequest{StartRevision: 1})
			if err != nil {
				cancel()
				return nil, err
			}
			if read {
				wg.Go(func() {
					for {
						if _, err := w.Recv(); err != nil {
							return
						}
					}
				})
			}
		}
		return func() { cancel(); wg.Wait() }, nil
	}
	var withNone, withLive, withStalled []time.Duration
	for round := range 4 {
		if err := measure(fmt.Sprintf("none%d", round), &withNone); err != nil {
			return 0, 0, 0, err
		}
		for _, side := range []struct {
			read bool
			into *[]time.Duration
			name string
		}{{true, &withLive, "live"}, {false, &withStalled, "stalled"}} {
			stop, err := watch(side.read)
			if err != nil {
				return 0, 0, 0, err
			}
			err = measure(fmt.Sprintf("%s%d", side.name, round), side.into)
			stop()
			if err != nil {
				return 0, 0, 0, err
			}
		}
	}
	med := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	return med(withNone), med(withLive), med(withStalled), nil
}
