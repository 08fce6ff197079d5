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

// benchStream (P3): commit-to-receive latency and server CPU per delivery
// for 1, 100 and 1,000 subscribers, watches sharing a few streams and a
// stream each, computescale against etcd in the same run; memory per idle
// watch against etcd; and the ingest commit latency with 10 stalled
// subscribers against none.
func benchStream(ctx context.Context, c config) ([]row, error) {
	var rows []row
	commits, counts, idle := 200, []int{1, 100, 1000}, 1000
	if c.short {
		commits, counts, idle = 20, []int{1, 100}, 200
	}
	if c.streamWatches != nil {
		counts = c.streamWatches
	}
	const pace = 10 * time.Millisecond
	for _, n := range counts {
		for _, shared := range []bool{true, false} {
			shape := "a stream each"
			if shared {
				shape = fmt.Sprintf("sharing %d stream(s)", streamsFor(n))
			}
			name := fmt.Sprintf("%d-%t", n, shared)
			var ours, theirs fanoutRun
			// etcd first on even sizes, computescale first on odd ones, so
			// that drift on a shared machine falls on both sides alike.
			order := []bool{false, true}
			if n%2 == 0 {
				order = []bool{true, false}
			}
			for _, etcd := range order {
				var err error
				if etcd {
					theirs, err = fanoutEtcd(ctx, c, "fan-etcd-"+name, n, shared, commits, pace)
				} else {
					ours, err = fanoutCS(ctx, c, "fan-cs-"+name, n, shared, commits, pace)
				}
				if err != nil {
					return nil, err
				}
			}
			r := row{group: "P3 streams", name: fmt.Sprintf("commit-to-receive p50 / p99, %d watch(es) %s, one commit every %s; CPU per delivery, server %.1f µs (etcd %.1f), subscribers %.1f µs (etcd %.1f)",
				n, shape, pace, ours.cpuPer, theirs.cpuPer, ours.clientPer, theirs.clientPer),
				value: fmt.Sprintf("%s / %s", ms(ours.p50), ms(ours.p99)), baseline: fmt.Sprintf("%s / %s (etcd)", ms(theirs.p50), ms(theirs.p99)),
				ratio: fmt.Sprintf("%.2f×", float64(ours.p99)/float64(theirs.p99)), target: "—", ok: "—"}
			if n == 1000 {
				r.target, r.ok = "p99 < etcd's", yes(ours.p99 < theirs.p99)
			}
			rows = append(rows, r)
		}
	}
	for _, shared := range []bool{true, false} {
		ours, theirs, err := idleBoth(ctx, c, idle, shared)
		if err != nil {
			return nil, err
		}
		r := row{group: "P3 streams", name: fmt.Sprintf("server memory per idle watch, %d watches, a stream each", idle),
			value: fmt.Sprintf("%.1f KB", ours/1024), baseline: fmt.Sprintf("%.1f KB (etcd)", theirs/1024),
			ratio: fmt.Sprintf("%.2f×", ours/theirs), target: "—", ok: "—"}
		if shared {
			r.name = fmt.Sprintf("server memory per idle watch, %d watches sharing %d stream(s)", idle, streamsFor(idle))
			r.target, r.ok = "≤ etcd's", yes(ours <= theirs)
		}
		rows = append(rows, r)
	}
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

func fanoutCS(ctx context.Context, c config, name string, n int, shared bool, commits int, pace time.Duration) (fanoutRun, error) {
	t, err := startCS(ctx, c, name, commits)
	if err != nil {
		return fanoutRun{}, err
	}
	defer t.close()
	res, err := measureFanout(ctx, t, n, shared, commits, pace)
	if err != nil {
		return res, fmt.Errorf("computescale: %w", err)
	}
	return res, nil
}

func fanoutEtcd(ctx context.Context, c config, name string, n int, shared bool, commits int, pace time.Duration) (fanoutRun, error) {
	t, err := startEtcd(c, name)
	if err != nil {
		return fanoutRun{}, err
	}
	defer t.close()
	res, err := measureFanout(ctx, t, n, shared, commits, pace)
	if err != nil {
		return res, fmt.Errorf("etcd: %w", err)
	}
	return res, nil
}

// idleBoth measures memory per idle watch on computescale and on etcd.
func idleBoth(ctx context.Context, c config, n int, shared bool) (ours, theirs float64, err error) {
	name := fmt.Sprintf("idle-%d-%t", n, shared)
	cs, err := startCS(ctx, c, "cs-"+name, 0)
	if err != nil {
		return 0, 0, err
	}
	ours, err = idleWatchMemory(ctx, cs, n, shared)
	cs.close()
	if err != nil {
		return 0, 0, fmt.Errorf("computescale: %w", err)
	}
	et, err := startEtcd(c, "etcd-"+name)
	if err != nil {
		return 0, 0, err
	}
	theirs, err = idleWatchMemory(ctx, et, n, shared)
	et.close()
	if err != nil {
		return 0, 0, fmt.Errorf("etcd: %w", err)
	}
	return ours, theirs, nil
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
// every side alike. The measurement on a side with subscribers starts once
// their opening replay (from revision 1) has settled: what is compared is
// what stalled subscribers cost the commit path while ingest goes on, not
// the one-off burst of a new subscriber's replay.
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
		for _, rec := range records(prefix, max(commits/2, 10)) {
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
	for round := range 8 {
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
			time.Sleep(300 * time.Millisecond)
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
