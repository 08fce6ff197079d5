package server_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// manyWatch is what one watch of a WatchMany stream received.
type manyWatch struct {
	req     *pb.WatchRequest
	created bool
	after   uint64
	resps   []*pb.WatchResponse
	ended   *status.Status
}

// manyStream records a raw WatchMany stream by watch id and checks the
// per-watch protocol: "created" first, "ended" last, nothing else around.
type manyStream struct {
	t  testing.TB
	st grpc.BidiStreamingClient[pb.WatchManyRequest, pb.WatchManyResponse]

	mu      sync.Mutex
	changed chan struct{} // capacity 1: something was recorded
	watches map[uint64]*manyWatch
	err     error
}

func openMany(t testing.TB, c *client.Client) *manyStream {
	t.Helper()
	st, err := watchStub(c).WatchMany(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return &manyStream{t: t, st: st, changed: make(chan struct{}, 1), watches: map[uint64]*manyWatch{}}
}

// read records responses until the stream ends.
func (m *manyStream) read() {
	for {
		resp, err := m.st.Recv()
		m.mu.Lock()
		if err != nil {
			m.err = err
			m.mu.Unlock()
			m.poke()
			return
		}
		w := m.watches[resp.GetWatchId()]
		switch {
		case w == nil || w.ended != nil:
			m.err = status.Errorf(codes.Internal, "response for watch %d, which is unknown or ended: %v", resp.GetWatchId(), resp)
		case resp.GetCreated() != nil:
			if w.created {
				m.err = status.Errorf(codes.Internal, "watch %d created twice", resp.GetWatchId())
			}
			w.created, w.after = true, resp.GetCreated().GetStartAfter()
		case resp.GetEnded() != nil: // without created when the request was refused
			w.ended = status.FromProto(resp.GetEnded())
		case !w.created:
			m.err = status.Errorf(codes.Internal, "watch %d: %v before created", resp.GetWatchId(), resp)
		default:
			w.resps = append(w.resps, resp.GetResponse())
		}
		m.mu.Unlock()
		m.poke()
	}
}

func (m *manyStream) poke() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *manyStream) create(id uint64, req *pb.WatchRequest) {
	m.t.Helper()
	m.mu.Lock()
	m.watches[id] = &manyWatch{req: req}
	m.mu.Unlock()
	if err := m.st.Send(&pb.WatchManyRequest{Request: &pb.WatchManyRequest_Create{Create: &pb.WatchCreate{WatchId: id, Request: req}}}); err != nil {
		m.t.Fatal(err)
	}
}

func (m *manyStream) cancel(id uint64) {
	m.t.Helper()
	if err := m.st.Send(&pb.WatchManyRequest{Request: &pb.WatchManyRequest_Cancel{Cancel: &pb.WatchCancel{WatchId: id}}}); err != nil {
		m.t.Fatal(err)
	}
}

// until waits, bounded by waitFor, for cond over the recorded watches.
func (m *manyStream) until(what string, cond func(map[uint64]*manyWatch) bool) {
	m.t.Helper()
	deadline := time.After(waitFor)
	for {
		m.mu.Lock()
		ok, err := cond(m.watches), m.err
		m.mu.Unlock()
		if err != nil {
			m.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-m.changed:
		case <-deadline:
			m.t.Fatalf("%s: not after %v", what, waitFor)
		}
	}
}

// reached reports whether w completed revision target (or ended).
func (w *manyWatch) reached(target uint64) bool {
	if w.ended != nil {
		return true
	}
	if n := len(w.resps); n > 0 {
		last := w.resps[n-1]
		return last.GetRevision() >= target && !last.GetFragment()
	}
	return false
}

// TestWatchManyFiltersStartsAndCancel: watches with different filters and
// start revisions on one stream each receive exactly their events, in
// order, with no gap and no duplicate; a bad filter ends only its watch;
// a canceled watch ends with CANCELLED and nothing after, while the others
// go on; its id can then be reused.
func TestWatchManyFiltersStartsAndCancel(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.putObservations(e.stat, loadObservations(1)); err != nil {
		t.Fatal(err)
	}
	rev0 := e.revision()
	reqs := map[uint64]*pb.WatchRequest{
		1: {StartRevision: 1},
		2: {Kinds: []pb.EventKind{kindCompute}, StartRevision: rev0 + 1},
		3: {Kinds: []pb.EventKind{kindIndex, kindMethod}},
		4: {Provinces: []string{"CN-GD", "Beijing"}, StartRevision: rev0},
		5: {Years: []int32{2024}},
		6: {Kinds: []pb.EventKind{kindCompute}, Provinces: []string{"广东"}, Years: []int32{2022, 2023}, StartRevision: 2},
		7: {}, // canceled half-way
		8: {Kinds: []pb.EventKind{kindMethod}},
	}
	m := openMany(t, e.reader)
	go m.read()
	for id, req := range reqs {
		req.ProgressNotify = true
		m.create(id, req)
	}
	m.create(99, &pb.WatchRequest{Provinces: []string{"Atlantis"}})
	m.until("every watch created", func(ws map[uint64]*manyWatch) bool {
		for _, w := range ws {
			if !w.created && w.ended == nil {
				return false
			}
		}
		return true
	})
	if err := e.ingestLoad("many1", 3, 20, 2); err != nil {
		t.Fatal(err)
	}
	mid := e.revision()
	m.until("watch 7 at the first load's end", func(ws map[uint64]*manyWatch) bool { return ws[7].reached(mid) })
	m.cancel(7)
	m.until("watch 7 ended", func(ws map[uint64]*manyWatch) bool { return ws[7].ended != nil })
	m.create(7, &pb.WatchRequest{StartRevision: mid + 1, ProgressNotify: true}) // the id is free again
	reqs[7] = &pb.WatchRequest{StartRevision: mid + 1}
	if err := e.ingestLoad("many2", 3, 20, 3); err != nil {
		t.Fatal(err)
	}
	target := e.revision()
	m.until("every watch at the last revision", func(ws map[uint64]*manyWatch) bool {
		for id, w := range ws {
			if id != 7 && !w.reached(target) {
				return false
			}
		}
		return ws[7].created && ws[7].reached(target)
	})

	m.mu.Lock()
	defer m.mu.Unlock()
	if bad := m.watches[99]; bad.created || status.Code(bad.ended.Err()) != codes.InvalidArgument {
		t.Errorf("bad filter: created %t, ended %v", bad.created, bad.ended)
	}
	for id, req := range reqs {
		w := m.watches[id]
		if w.ended != nil {
			t.Errorf("watch %d ended: %v", id, w.ended)
			continue
		}
		after := w.after
		if start := req.GetStartRevision(); start > 0 && after != start-1 {
			t.Errorf("watch %d: start %d reported as after %d", id, start, after)
		}
		checkStream(t, fmt.Sprintf("watch %d", id), after, w.resps, e.expected(req, after))
	}
}

// TestWatchManyCancelStopsOnlyThatWatch: the first watch under an id ended
// with CANCELLED, and what it received before is a gap-free prefix.
func TestWatchManyCancelStopsOnlyThatWatch(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	m := openMany(t, e.reader)
	go m.read()
	m.create(1, &pb.WatchRequest{StartRevision: 1, ProgressNotify: true})
	m.create(2, &pb.WatchRequest{StartRevision: 1, ProgressNotify: true})
	m.until("created", func(ws map[uint64]*manyWatch) bool { return ws[1].created && ws[2].created })
	if err := e.ingestLoad("c1", 2, 10, 0); err != nil {
		t.Fatal(err)
	}
	m.cancel(1)
	m.until("watch 1 ended", func(ws map[uint64]*manyWatch) bool { return ws[1].ended != nil })
	if err := e.ingestLoad("c2", 2, 10, 0); err != nil {
		t.Fatal(err)
	}
	target := e.revision()
	m.until("watch 2 at the end", func(ws map[uint64]*manyWatch) bool { return ws[2].reached(target) })
	m.mu.Lock()
	defer m.mu.Unlock()
	w1, w2 := m.watches[1], m.watches[2]
	if status.Code(w1.ended.Err()) != codes.Canceled {
		t.Fatalf("watch 1 ended with %v, want Canceled", w1.ended)
	}
	all := e.expected(&pb.WatchRequest{}, 0)
	var got int
	for _, r := range w1.resps {
		got += len(r.GetEvents())
	}
	checkStream(t, "canceled", 0, w1.resps, all[:got])
	checkStream(t, "other", 0, w2.resps, all)
	if w2.ended != nil {
		t.Fatalf("watch 2 ended: %v", w2.ended)
	}
}

// TestWatchManyErrRequest: reusing the id of a live watch, or a request
// that neither creates nor cancels, ends the stream with InvalidArgument.
func TestWatchManyErrRequest(t *testing.T) {
	e := newEnv(t)
	for name, reqs := range map[string][]*pb.WatchManyRequest{
		"DuplicateID": {
			{Request: &pb.WatchManyRequest_Create{Create: &pb.WatchCreate{WatchId: 5, Request: &pb.WatchRequest{}}}},
			{Request: &pb.WatchManyRequest_Create{Create: &pb.WatchCreate{WatchId: 5, Request: &pb.WatchRequest{}}}},
		},
		"Empty": {{}},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := watchStub(e.reader).WatchMany(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range reqs {
				if err := st.Send(r); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				_, err = st.Recv()
				if err != nil {
					break
				}
			}
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("stream ended with %v, want InvalidArgument", err)
			}
		})
	}
}

// TestWatchCoalescedAfterStall: subscribers that stop reading while
// revisions commit receive, once they read again, responses that each
// carry several revisions, in order, each event with its own revision,
// with no gap and no duplicate, on Watch and on WatchMany alike.
func TestWatchCoalescedAfterStall(t *testing.T) {
	e := newWatchEnv(t, 4096) // room for the whole backlog: this is not about cut-offs
	e.putChips()
	// Small HTTP/2 windows (they also turn off window growth), so that the
	// stalled streams block the server's sends early.
	stalledClient, err := client.New(e.addr, client.WithToken(readerToken),
		client.WithDialOptions(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
	if err != nil {
		t.Fatal(err)
	}
	defer stalledClient.Close()
	single, err := watchStub(stalledClient).Watch(ctx(t), &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	after := startAfter(t, single)
	m := openMany(t, stalledClient)
	m.create(1, &pb.WatchRequest{})
	m.create(2, &pb.WatchRequest{Kinds: []pb.EventKind{kindCompute}, Provinces: []string{"CN-GD", "CN-BJ", "CN-SH"}})
	// Not read yet: the responses wait in the transport. created is sent
	// before the watch is live, so once both are here both watch.
	manyCreated := make(chan struct{})
	go func() {
		defer close(manyCreated)
		for range 2 {
			r, err := m.st.Recv()
			if err != nil || r.GetCreated() == nil {
				m.err = status.Errorf(codes.Internal, "before the load: %v, %v", r, err)
				return
			}
			m.watches[r.GetWatchId()].created, m.watches[r.GetWatchId()].after = true, r.GetCreated().GetStartAfter()
		}
	}()
	<-manyCreated
	if m.err != nil {
		t.Fatal(m.err)
	}
	if err := e.ingestLoad("stall", 40, 20, 0); err != nil {
		t.Fatal(err)
	}
	target := e.revision()

	go m.read()
	var resps []*pb.WatchResponse
	for len(resps) == 0 || resps[len(resps)-1].GetRevision() < target {
		r, err := single.Recv()
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, r)
	}
	m.until("both watches at the end", func(ws map[uint64]*manyWatch) bool { return ws[1].reached(target) && ws[2].reached(target) })
	m.mu.Lock()
	defer m.mu.Unlock()
	streams := map[string]struct {
		req   *pb.WatchRequest
		after uint64
		resps []*pb.WatchResponse
	}{
		"Watch":             {&pb.WatchRequest{}, after, resps},
		"WatchMany/all":     {m.watches[1].req, m.watches[1].after, m.watches[1].resps},
		"WatchMany/compute": {m.watches[2].req, m.watches[2].after, m.watches[2].resps},
	}
	for name, s := range streams {
		checkStream(t, name, s.after, s.resps, e.expected(s.req, s.after))
		most := 0
		for _, r := range s.resps {
			revs := map[uint64]bool{}
			for _, ev := range r.GetEvents() {
				revs[ev.GetRevision()] = true
			}
			most = max(most, len(revs))
		}
		if most < 2 {
			t.Errorf("%s: no response carried more than one revision (%d responses for %d revisions)", name, len(s.resps), target-s.after)
		}
		t.Logf("%s: %d responses for %d revisions, up to %d revisions in one", name, len(s.resps), target-s.after, most)
	}
}

// TestWatchClientSharedStreamResumesEveryWatch: the client helper carries
// several watches (different filters and starts) on one shared stream; the
// server restarts under them, and every watch reopens from its own last
// complete revision and delivers exactly its part of the log.
func TestWatchClientSharedStreamResumesEveryWatch(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.putObservations(e.stat, loadObservations(1)); err != nil {
		t.Fatal(err)
	}
	rev0 := e.revision()
	reqs := []*pb.WatchRequest{
		{StartRevision: 1},
		{Kinds: []pb.EventKind{kindCompute}, StartRevision: rev0 + 1},
		{Kinds: []pb.EventKind{kindIndex, kindMethod}, StartRevision: rev0},
		{Provinces: []string{"CN-GD", "Beijing"}, Years: []int32{2023, 2024}, StartRevision: 2},
	}
	var target atomic.Uint64
	type result struct {
		events  []*pb.Event
		resumes int
		err     error
	}
	results := make([]chan result, len(reqs))
	started := make(chan struct{}, len(reqs))
	for i, req := range reqs {
		req.ProgressNotify = true
		results[i] = make(chan result, 1)
		go func() {
			var res result
			complete := req.GetStartRevision() - 1 // the last revision delivered whole
			first := true
			res.err = e.reader.Watch(ctx(t), proto.Clone(req).(*pb.WatchRequest), func(r *pb.WatchResponse) error {
				res.events = append(res.events, r.GetEvents()...)
				if !r.GetFragment() {
					complete = r.GetRevision()
				}
				if first {
					first = false
					started <- struct{}{}
				}
				if t := target.Load(); t > 0 && r.GetRevision() >= t && !r.GetFragment() {
					return client.ErrStopWatch
				}
				return nil
			}, client.WithWatchBackoff(10*time.Millisecond, 200*time.Millisecond),
				client.WithWatchResumeHook(func(from uint64, _ error) {
					res.resumes++
					if from != complete+1 {
						t.Errorf("watch %d resumed from %d; its last complete revision was %d", i, from, complete)
					}
				}))
			results[i] <- res
		}()
	}
	for range reqs {
		select {
		case <-started:
		case <-time.After(waitFor):
			t.Fatal("a watch delivered nothing")
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- e.ingestLoad("shared", 8, 10, 2) }()
	e.restart()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if err := e.ingestLoad("after", 2, 10, 3); err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	for i, req := range reqs {
		var res result
		select {
		case res = <-results[i]:
		case <-time.After(waitFor):
			t.Fatalf("watch %d did not reach the last revision", i)
		}
		if res.err != nil {
			t.Fatalf("watch %d: %v", i, res.err)
		}
		if res.resumes == 0 {
			t.Errorf("watch %d never resumed", i)
		}
		sameEvents(t, fmt.Sprintf("watch %d", i), res.events, e.expected(req, req.GetStartRevision()-1))
	}
}

// TestWatchManyCompactedEndsOnlyThatWatch: a watch from before the retained
// history ends with OutOfRange and the oldest revision, as Watch would; a
// watch from the oldest revision on the same stream delivers the rest.
func TestWatchManyCompactedEndsOnlyThatWatch(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.ingestLoad("compact", 3, 10, 0); err != nil {
		t.Fatal(err)
	}
	rev := e.revision()
	if _, err := pb.NewAdminServiceClient(e.admin.Conn()).Compact(ctx(t), &pb.CompactRequest{Revision: rev - 2}); err != nil {
		t.Fatal(err)
	}
	m := openMany(t, e.reader)
	go m.read()
	m.create(1, &pb.WatchRequest{StartRevision: rev - 2, ProgressNotify: true})
	m.create(2, &pb.WatchRequest{StartRevision: 1})
	m.until("watch 2 ended, watch 1 at the end", func(ws map[uint64]*manyWatch) bool { return ws[2].ended != nil && ws[1].reached(rev) })
	m.mu.Lock()
	defer m.mu.Unlock()
	ended := m.watches[2].ended.Err()
	if info := errorInfo(ended); status.Code(ended) != codes.OutOfRange || info.GetReason() != "REVISION_COMPACTED" ||
		info.GetMetadata()["oldest_revision"] != strconv.FormatUint(rev-2, 10) {
		t.Fatalf("watch 2 ended with %v (%v); want OutOfRange with oldest %d", ended, info, rev-2)
	}
	w1 := m.watches[1]
	if w1.ended != nil {
		t.Fatalf("watch 1 ended: %v", w1.ended)
	}
	checkStream(t, "from oldest", w1.after, w1.resps, e.expected(w1.req, rev-3))
}

// TestWatchManySlowWatchesCutOffAndResumed: watches of a stream that stops
// reading fall behind and are cut off one by one with ResourceExhausted and
// the last revision each received whole; what each received is a gap-free
// prefix, and a new watch on the same stream from that revision + 1 delivers
// the rest.
func TestWatchManySlowWatchesCutOffAndResumed(t *testing.T) {
	e := newWatchEnv(t, 4)
	e.putChips()
	stalledClient, err := client.New(e.addr, client.WithToken(readerToken),
		client.WithDialOptions(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
	if err != nil {
		t.Fatal(err)
	}
	defer stalledClient.Close()
	m := openMany(t, stalledClient)
	go m.read()
	reqs := map[uint64]*pb.WatchRequest{1: {}, 2: {Kinds: []pb.EventKind{kindCompute}}}
	for id, req := range reqs {
		m.create(id, req)
	}
	m.until("created", func(ws map[uint64]*manyWatch) bool { return ws[1].created && ws[2].created })
	// Stop reading: hold the recorder's lock while the load runs.
	m.mu.Lock()
	if err := e.ingestLoad("slow", 40, 20, 0); err != nil {
		m.mu.Unlock()
		t.Fatal(err)
	}
	target := e.revision()
	m.mu.Unlock()
	m.until("both cut off", func(ws map[uint64]*manyWatch) bool { return ws[1].ended != nil && ws[2].ended != nil })
	m.mu.Lock()
	resumeFrom := map[uint64]uint64{}
	for id := range reqs {
		w := m.watches[id]
		ended := w.ended.Err()
		info := errorInfo(ended)
		last, perr := strconv.ParseUint(info.GetMetadata()["last_sent_revision"], 10, 64)
		if status.Code(ended) != codes.ResourceExhausted || info.GetReason() != "SUBSCRIBER_TOO_SLOW" || perr != nil {
			m.mu.Unlock()
			t.Fatalf("watch %d ended with %v (%v); want ResourceExhausted, SUBSCRIBER_TOO_SLOW", id, ended, info)
		}
		complete := w.after
		var got int
		for _, r := range w.resps {
			if !r.GetFragment() {
				complete = max(complete, r.GetRevision())
			}
			got += len(r.GetEvents())
		}
		if last != complete || last >= target {
			t.Errorf("watch %d: last_sent_revision %d; received up to %d of %d", id, last, complete, target)
		}
		want := e.expected(w.req, w.after)
		checkStream(t, fmt.Sprintf("watch %d before the cut", id), w.after, w.resps, want[:min(got, len(want))])
		resumeFrom[id] = last + 1
	}
	m.mu.Unlock()
	// Resume on the same stream, under new ids.
	for id, req := range reqs {
		r := proto.Clone(req).(*pb.WatchRequest)
		r.StartRevision, r.ProgressNotify = resumeFrom[id], true
		m.create(id+10, r)
	}
	m.until("resumed watches at the end", func(ws map[uint64]*manyWatch) bool { return ws[11].reached(target) && ws[12].reached(target) })
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range reqs {
		w := m.watches[id+10]
		if w.ended != nil {
			t.Fatalf("resumed watch %d ended: %v", id, w.ended)
		}
		checkStream(t, fmt.Sprintf("watch %d resumed", id), w.after, w.resps, e.expected(w.req, w.after))
	}
}
