package server_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

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
