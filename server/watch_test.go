package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

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

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// TestWatchStalledSubscriberIsCutOff: a subscriber that never reads is cut
// off with ResourceExhausted and its last sent revision, while ingest
// completes and another subscriber receives everything.
func TestWatchStalledSubscriberIsCutOff(t *testing.T) {
	e := newWatchEnv(t, 16)
	e.putChips()
	if err := e.putObservations(e.stat, loadObservations(1)); err != nil {
		t.Fatal(err)
	}
	// Small HTTP/2 windows (they also turn off window growth), so that what
	// the transport holds for the stalled stream is bounded and small.
	stalledClient, err := client.New(e.addr, client.WithToken(readerToken),
		client.WithDialOptions(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
	if err != nil {
		t.Fatal(err)
	}
	defer stalledClient.Close()
	stalled, err := watchStub(stalledClient).Watch(ctx(t), &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	after := startAfter(t, stalled)
	var target atomic.Uint64
	healthy := e.record(e.reader, "healthy", &pb.WatchRequest{}, &target)

	if err := e.ingestLoad("stall", 25, 20, 2); err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	healthy.wait(t)
	checkStream(t, "healthy", healthy.after, healthy.resps, e.expected(healthy.req, healthy.after))
	// The hub published everything the healthy subscriber received, so the
	// stalled one was dropped by then.
	if n := e.srv.WatchSubscribers(); n != 1 {
		t.Fatalf("%d live watchers, want the healthy one only", n)
	}

	// What the transport held still arrives, then the status.
	var resps []*pb.WatchResponse
	for {
		r, err := stalled.Recv()
		if err == nil {
			resps = append(resps, r)
			continue
		}
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("stalled stream ended with %v, want ResourceExhausted", err)
		}
		info := errorInfo(err)
		lastSent, perr := strconv.ParseUint(info.GetMetadata()["last_sent_revision"], 10, 64)
		if info.GetReason() != "SUBSCRIBER_TOO_SLOW" || perr != nil {
			t.Fatalf("error info %v", info)
		}
		complete := after
		var got []*pb.Event
		for _, r := range resps {
			if !r.GetFragment() {
				complete = r.GetRevision()
			}
			got = append(got, r.GetEvents()...)
		}
		if lastSent != complete || lastSent >= target.Load() {
			t.Errorf("last_sent_revision %d; received up to %d of %d", lastSent, complete, target.Load())
		}
		// What it did receive has no gap: a prefix of the log.
		want := e.expected(&pb.WatchRequest{}, after)
		checkStream(t, "stalled", after, resps, want[:min(len(got), len(want))])
		t.Logf("stalled subscriber received %d responses up to revision %d of %d before the cut", len(resps), complete, target.Load())
		return
	}
}

// TestWatchCompacted: a start before the retained history ends with
// OutOfRange and the oldest revision; the helper returns *CompactedError,
// and watching again from there delivers the rest.
func TestWatchCompacted(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.ingestLoad("compact", 3, 10, 1); err != nil {
		t.Fatal(err)
	}
	rev := e.revision()
	resp, err := pb.NewAdminServiceClient(e.admin.Conn()).Compact(ctx(t), &pb.CompactRequest{Revision: rev - 2})
	if err != nil || resp.GetOldestRevision() != rev-2 {
		t.Fatalf("compact: %v %v", resp, err)
	}

	t.Run("ErrRaw", func(t *testing.T) {
		st, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{StartRevision: rev - 3})
		if err == nil {
			_, err = st.Recv()
		}
		info := errorInfo(err)
		if status.Code(err) != codes.OutOfRange || info.GetReason() != "REVISION_COMPACTED" ||
			info.GetMetadata()["oldest_revision"] != strconv.FormatUint(rev-2, 10) {
			t.Fatalf("err %v, info %v; want OutOfRange with oldest %d", err, info, rev-2)
		}
	})
	t.Run("ErrHelper", func(t *testing.T) {
		err := e.reader.Watch(ctx(t), &pb.WatchRequest{StartRevision: 1}, func(*pb.WatchResponse) error {
			return errors.New("no response expected")
		})
		var ce *client.CompactedError
		if !errors.As(err, &ce) || ce.Oldest != rev-2 || status.Code(ce.Err) != codes.OutOfRange {
			t.Fatalf("err = %v, want *CompactedError{Oldest: %d}", err, rev-2)
		}
	})
	t.Run("OKFromOldest", func(t *testing.T) {
		var target atomic.Uint64
		target.Store(rev)
		req := &pb.WatchRequest{StartRevision: rev - 2}
		got, err := watchAll(ctx(t), e.reader, req, &target)
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "from oldest", got, e.expected(req, rev-3))
	})
}

// TestWatchServerCloseEndsStreamsUnavailable: Close ends live and replaying
// streams, and refuses new ones, with Unavailable.
func TestWatchServerCloseEndsStreamsUnavailable(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("u1", "CN-GD", 2024, 0, 1))
	var streams []pb.WatchService_WatchClient
	for _, start := range []uint64{0, 1, e.revision() + 5} {
		st, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{StartRevision: start, ProgressNotify: start == 1})
		if err != nil {
			t.Fatal(err)
		}
		startAfter(t, st)
		streams = append(streams, st)
	}
	e.srv.Close()
	late, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range append(streams, late) {
		for {
			_, err := st.Recv()
			if err == nil {
				continue
			}
			if status.Code(err) != codes.Unavailable {
				t.Errorf("stream %d ended with %v, want Unavailable", i, err)
			}
			break
		}
	}
}

// TestWatchErrRequest: bad filters are InvalidArgument naming the field;
// vendors may not watch.
func TestWatchErrRequest(t *testing.T) {
	e := newEnv(t)
	recv := func(c *client.Client, req *pb.WatchRequest) error {
		st, err := watchStub(c).Watch(ctx(t), req)
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	}
	err := recv(e.reader, &pb.WatchRequest{Provinces: []string{"Atlantis"}, Kinds: []pb.EventKind{99}})
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if status.Code(err) != codes.InvalidArgument || !slices.Equal(fields, []string{"kinds[0]", "provinces[0]"}) {
		t.Errorf("bad filter: %v, fields %v", err, fields)
	}
	if err := recv(e.vendorA, &pb.WatchRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("vendor watch: %v, want PermissionDenied", err)
	}
	if err := e.reader.Watch(ctx(t), &pb.WatchRequest{Years: []int32{2024}, Provinces: []string{"Gondor"}},
		func(*pb.WatchResponse) error { return nil }); status.Code(err) != codes.InvalidArgument {
		t.Errorf("helper with a bad filter: %v, want InvalidArgument", err)
	}
}

var (
	kindCompute = pb.EventKind_EVENT_KIND_COMPUTE
	kindIndex   = pb.EventKind_EVENT_KIND_INDEX_SCORE
	kindMethod  = pb.EventKind_EVENT_KIND_METHODOLOGY
)

// TestWatchSubscribersSeeTheLog: sixteen raw subscribers with different
// filters, half from an explicit revision and half "from now", while three
// callers ingest and observations change scores; each sees exactly the change
// log filtered its way: no gap, no duplicate, revisions increasing.
func TestWatchSubscribersSeeTheLog(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.putObservations(e.stat, loadObservations(1)); err != nil {
		t.Fatal(err)
	}
	rev0 := e.revision()
	filters := []struct {
		name string
		req  *pb.WatchRequest
	}{
		{"all", &pb.WatchRequest{}},
		{"compute", &pb.WatchRequest{Kinds: []pb.EventKind{kindCompute}}},
		{"index", &pb.WatchRequest{Kinds: []pb.EventKind{kindIndex, kindMethod}}},
		{"provinces", &pb.WatchRequest{Provinces: []string{"CN-GD", "Beijing"}}},
		{"year", &pb.WatchRequest{Years: []int32{2024}}},
		{"compute-gd-years", &pb.WatchRequest{Kinds: []pb.EventKind{kindCompute}, Provinces: []string{"广东"}, Years: []int32{2022, 2023}}},
		{"index-sh", &pb.WatchRequest{Kinds: []pb.EventKind{kindIndex}, Provinces: []string{"310000"}}},
		{"methodology", &pb.WatchRequest{Kinds: []pb.EventKind{kindMethod}}},
	}
	var target atomic.Uint64
	var recs []*recorder
	for _, f := range filters {
		from := proto.Clone(f.req).(*pb.WatchRequest)
		from.StartRevision = rev0 + 1
		recs = append(recs, e.record(e.reader, f.name+"/from", from, &target))
		if got := recs[len(recs)-1].after; got != rev0 {
			t.Fatalf("start %d reported as after %d", rev0+1, got)
		}
		recs = append(recs, e.record(e.admin, f.name+"/now", proto.Clone(f.req).(*pb.WatchRequest), &target))
	}
	if err := e.ingestLoad("many", 6, 20, 2); err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	for _, r := range recs {
		r.wait(t)
		checkStream(t, r.name, r.after, r.resps, e.expected(r.req, r.after))
	}
	kinds := map[pb.EventKind]int{}
	for _, ev := range e.expected(&pb.WatchRequest{}, rev0) {
		kinds[ev.GetKind()]++
	}
	if kinds[kindCompute] == 0 || kinds[kindIndex] == 0 {
		t.Errorf("the load made %v events; the test needs compute and index ones", kinds)
	}
}

// TestWatchReplayThenLive: a watch from revision 1 opened while ingest goes
// on replays the history and continues live without a seam.
func TestWatchReplayThenLive(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.ingestLoad("before", 4, 10, 1); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- e.ingestLoad("during", 6, 10, 2) }()
	var target atomic.Uint64
	all := e.record(e.reader, "replay/all", &pb.WatchRequest{StartRevision: 1}, &target)
	some := e.record(e.reader, "replay/filtered", &pb.WatchRequest{StartRevision: 1, Provinces: []string{"CN-SH", "CN-NM"}, Years: []int32{2023, 2024}}, &target)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	for _, r := range []*recorder{all, some} {
		r.wait(t)
		checkStream(t, r.name, 0, r.resps, e.expected(r.req, 0))
	}
}

// TestWatchResumeAfterDisconnect: a subscriber that leaves mid-stream and
// comes back from its last complete revision + 1 ends with the same sequence
// as one that never left.
func TestWatchResumeAfterDisconnect(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	rev0 := e.revision()
	req := func(start uint64) *pb.WatchRequest {
		return &pb.WatchRequest{Provinces: []string{"CN-GD", "CN-SH", "CN-ZJ"}, StartRevision: start}
	}
	var target atomic.Uint64
	stayed := e.record(e.reader, "stayed", req(rev0+1), &target)
	errc := make(chan error, 1)
	go func() { errc <- e.ingestLoad("resume", 8, 10, 1) }()

	c, cancel := context.WithCancel(ctx(t))
	st, err := watchStub(e.reader).Watch(c, req(rev0+1))
	if err != nil {
		t.Fatal(err)
	}
	var first []*pb.WatchResponse
	for withEvents := 0; withEvents < 3; {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("first stream: %v", err)
		}
		first = append(first, resp)
		if len(resp.GetEvents()) > 0 {
			withEvents++
		}
	}
	cancel()
	last := rev0
	for _, r := range first {
		if !r.GetFragment() {
			last = r.GetRevision()
		}
	}
	back := e.record(e.reader, "rejoined", req(last+1), &target)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	stayed.wait(t)
	back.wait(t)
	want := e.expected(req(0), rev0)
	checkStream(t, "stayed", rev0, stayed.resps, want)
	checkStream(t, "left and rejoined", rev0, append(first, back.resps...), want)
}

// TestWatchClientResumesAcrossRestart: the server restarts (same file, same
// port) while the client helper watches and vendors ingest; the helper
// reopens from where it was and delivers exactly the log.
func TestWatchClientResumesAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	rev0 := e.revision()
	req := &pb.WatchRequest{StartRevision: rev0 + 1, ProgressNotify: true}
	var target atomic.Uint64
	var resumes atomic.Int32
	var firstEvent sync.Once
	started := make(chan struct{})
	type result struct {
		events []*pb.Event
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var got []*pb.Event
		err := e.reader.Watch(ctx(t), req, func(r *pb.WatchResponse) error {
			got = append(got, r.GetEvents()...)
			if len(got) > 0 {
				firstEvent.Do(func() { close(started) })
			}
			if t := target.Load(); t > 0 && r.GetRevision() >= t && !r.GetFragment() {
				return client.ErrStopWatch
			}
			return nil
		}, client.WithWatchBackoff(10*time.Millisecond, 200*time.Millisecond),
			client.WithWatchResumeHook(func(uint64, error) { resumes.Add(1) }))
		done <- result{got, err}
	}()
	errc := make(chan error, 1)
	go func() { errc <- e.ingestLoad("restart", 10, 10, 1) }()
	select {
	case <-started:
	case <-time.After(waitFor):
		t.Fatal("no event before the restart")
	}
	e.restart()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := e.ingestLoad("after", 2, 10, 2); err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	var res result
	select {
	case res = <-done:
	case <-time.After(waitFor):
		t.Fatal("helper did not reach the last revision")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if resumes.Load() == 0 {
		t.Error("the helper never reopened its stream")
	}
	sameEvents(t, "across restart", res.events, e.expected(req, rev0))
}

// TestWatchProgressNotify: an idle stream that asked for progress hears the
// current revision; one that did not hears nothing; while events flow, a
// notification never claims less than what was delivered.
func TestWatchProgressNotify(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	quiet, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	startAfter(t, quiet)
	prog, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{ProgressNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	// Idle: notifications carry the current revision (the first may come
	// before the hub published the last commit, so allow a few).
	rev := e.revision()
	for i, atRev := 0, 0; atRev < 2; i++ {
		r, err := prog.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !r.GetProgressNotify() || len(r.GetEvents()) > 0 || r.GetRevision() > rev || i > 10 {
			t.Fatalf("idle response %d: %v (current revision %d)", i, r, rev)
		}
		if r.GetRevision() == rev {
			atRev++
		}
	}
	// The quiet stream was idle as long and heard nothing: its first
	// response is the next commit's events.
	ack := e.ingest(e.vendorA, false, general("p0", "CN-GD", 2024, 0, 1))
	if r, err := quiet.Recv(); err != nil || r.GetProgressNotify() || r.GetRevision() != ack.Revision {
		t.Fatalf("quiet stream: %v %v, want the events of %d", r, err, ack.Revision)
	}

	var final atomic.Uint64 // the store's revision once the load is done
	var loadErr error
	go func() {
		loadErr = e.ingestLoad("progress", 10, 5, 1)
		rev := e.db.Revision()
		final.Store(rev)
	}()
	delivered, notes := ack.Revision-1, 0
	for {
		r, err := prog.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !r.GetProgressNotify() {
			if !r.GetFragment() {
				delivered = r.GetRevision()
			}
			continue
		}
		notes++
		if now := e.revision(); r.GetRevision() < delivered || r.GetRevision() > now {
			t.Fatalf("progress at %d after events up to %d (store at %d)", r.GetRevision(), delivered, now)
		}
		if f := final.Load(); f > 0 && r.GetRevision() == f {
			break
		}
	}
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	t.Logf("%d progress notifications while and after %d revisions", notes, e.revision()-ack.Revision)
}

// TestWatchFragments: a revision with more events than a response holds
// arrives as fragments of that revision, live and in replay, the last one
// unflagged.
func TestWatchFragments(t *testing.T) {
	e := newEnv(t)
	e.srv.SetWatchMaxEvents(5)
	e.putChips()
	rev0 := e.revision()
	var target atomic.Uint64
	live := e.record(e.reader, "live", &pb.WatchRequest{}, &target)
	ack := e.ingest(e.vendorA, false, loadRecords("frag", 0, 40)...)
	if err := e.ingestLoad("frag", 2, 12, 0); err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	replay := e.record(e.reader, "replay", &pb.WatchRequest{StartRevision: rev0 + 1}, &target)
	for _, r := range []*recorder{live, replay} {
		r.wait(t)
		checkStream(t, r.name, r.after, r.resps, e.expected(r.req, r.after))
		var big []*pb.WatchResponse
		for _, resp := range r.resps {
			if resp.GetRevision() == ack.Revision && !resp.GetProgressNotify() {
				big = append(big, resp)
			}
		}
		want := len(e.expected(&pb.WatchRequest{}, ack.Revision-1)) - len(e.expected(&pb.WatchRequest{}, ack.Revision))
		if len(big) != (want+4)/5 || want <= 5 {
			t.Fatalf("%s: revision %d (%d events) in %d responses, want %d", r.name, ack.Revision, want, len(big), (want+4)/5)
		}
		for i, resp := range big {
			if resp.GetFragment() != (i < len(big)-1) || len(resp.GetEvents()) > 5 {
				t.Errorf("%s: part %d of %d: fragment %v, %d events", r.name, i, len(big), resp.GetFragment(), len(resp.GetEvents()))
			}
		}
	}
}

// TestWatchClientResumesMidRevision: with a tiny buffer, fragmented revisions
// get the helper cut off, often in the middle of a revision; it resumes and
// still delivers each event exactly once.
func TestWatchClientResumesMidRevision(t *testing.T) {
	e := newWatchEnv(t, 2)
	e.srv.SetWatchMaxEvents(3)
	e.putChips()
	rev0 := e.revision()
	req := &pb.WatchRequest{StartRevision: rev0 + 1}
	var target atomic.Uint64
	var slow atomic.Int32
	type result struct {
		events []*pb.Event
		err    error
	}
	done := make(chan result, 1)
	go func() {
		got, err := watchAll(ctx(t), e.reader, req, &target, client.WithWatchBackoff(time.Millisecond, 10*time.Millisecond),
			client.WithWatchResumeHook(func(_ uint64, err error) {
				if status.Code(err) == codes.ResourceExhausted {
					slow.Add(1)
				}
			}))
		done <- result{got, err}
	}()
	for b := range 6 {
		e.ingest([]*client.Client{e.vendorA, e.vendorB}[b%2], false, loadRecords("mid", b, 30)...)
	}
	target.Store(e.revision())
	var res result
	select {
	case res = <-done:
	case <-time.After(waitFor):
		t.Fatal("helper did not reach the last revision")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	sameEvents(t, "resumed mid-revision", res.events, e.expected(req, rev0))
	t.Logf("the helper was cut off %d times", slow.Load())
}

// TestWatchStartAhead: a start beyond the current revision waits for it and
// delivers nothing earlier.
func TestWatchStartAhead(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	start := e.revision() + 3
	var target atomic.Uint64
	r := e.record(e.reader, "ahead", &pb.WatchRequest{StartRevision: start}, &target)
	for i := range 5 {
		e.ingest(e.vendorA, false, general("ahead"+strconv.Itoa(i), "CN-GD", 2024, 0, 1+i))
	}
	target.Store(e.revision())
	r.wait(t)
	checkStream(t, r.name, start-1, r.resps, e.expected(r.req, start-1))
	if r.after != start-1 {
		t.Errorf("header says after %d, want %d", r.after, start-1)
	}
}
