package main

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	etcdpb "go.etcd.io/etcd/api/v3/etcdserverpb"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// P3's fan-out comparison: computescale and etcd, each serving from a child
// process (so that the server's CPU is its own), with the same subscriber
// counts, the same two shapes and the same commit pacing, alternating in
// one run. Latency runs from the writer's send of a commit to a
// subscriber's receive of its revision, decoded: the same clock for both
// systems (computescale's events also carry a commit time, etcd's do not).

// perStream is how many subscribers share one stream (shared shape) or one
// connection (a stream each): under computescale's limit of 256 streams a
// connection, the same for both systems.
const perStream = 200

// fanoutTarget is one system under the fan-out measurement.
type fanoutTarget interface {
	// subscribe opens n subscribers, shared on ceil(n/perStream) streams or
	// a stream each, and returns once every one is live. Each reports the
	// revisions it receives to rec; subscribe's wait returns once every
	// subscriber has received want revisions above base or ctx ends.
	subscribe(ctx context.Context, n int, shared bool, rec *samples) (wait func(), err error)
	// commit writes one change and returns its revision once acknowledged.
	commit(ctx context.Context, i int) (uint64, error)
	// cpu is the server process's CPU time so far.
	cpu() (time.Duration, error)
	// mem is the server process's heap and stacks in use after a GC.
	mem() (uint64, error)
	close()
}

// samples collects commit-to-receive latencies of one run.
type samples struct {
	base   uint64         // revision before the first measured commit
	sentAt []atomic.Int64 // by commit: when the writer sent it (Unix ns)
	want   int            // revisions each subscriber receives

	mu  sync.Mutex
	lat []time.Duration
}

// sub is one subscriber's bookkeeping, kept by its receiving goroutine.
type sub struct {
	lat  []time.Duration
	seen int
	last uint64
}

// got records revision rev received at now; it reports whether the
// subscriber has everything. Revisions arrive in order; one already seen
// (several events of one revision) counts once.
func (s *samples) got(b *sub, rev uint64, now time.Time) bool {
	if rev <= s.base || rev <= b.last {
		return b.seen >= s.want
	}
	b.last = rev
	if i := int(rev - s.base - 1); i < len(s.sentAt) {
		b.lat = append(b.lat, now.Sub(time.Unix(0, s.sentAt[i].Load())))
		b.seen++
	}
	return b.seen >= s.want
}

// drainMany receives from one stream that carries the watches [0, ids)
// until each has seen every commit or the stream ends. recv returns the
// next message's watch id and its events' revisions; the receipt time is
// taken as soon as it returns, before the events are looked at.
func (s *samples) drainMany(ids int, recv func() (id int64, revs iter.Seq[uint64], err error)) {
	subs := make([]sub, ids)
	defer func() {
		for i := range subs {
			s.merge(&subs[i])
		}
	}()
	left := ids
	for left > 0 {
		id, revs, err := recv()
		if err != nil {
			return
		}
		now := time.Now()
		if id < 0 || id >= int64(ids) {
			continue
		}
		b := &subs[id]
		if b.seen >= s.want {
			continue
		}
		for rev := range revs {
			if s.got(b, rev, now) {
				left--
				break
			}
		}
	}
}

func (s *samples) merge(b *sub) {
	s.mu.Lock()
	s.lat = append(s.lat, b.lat...)
	s.mu.Unlock()
}

// fanoutRun is one measured run.
type fanoutRun struct {
	p50, p99  time.Duration
	cpuPer    float64 // server CPU µs per delivery, commits included
	clientPer float64 // the subscribers' (and the writer's) CPU µs per delivery
}

// measureFanout opens n subscribers on t, makes commits one every pace,
// and collects every delivery; one that never arrives is an error.
func measureFanout(ctx context.Context, t fanoutTarget, n int, shared bool, commits int, pace time.Duration) (fanoutRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A first commit tells the revision the measured ones follow.
	base, err := t.commit(ctx, 0)
	if err != nil {
		return fanoutRun{}, err
	}
	s := &samples{base: base, sentAt: make([]atomic.Int64, commits), want: commits}
	wait, err := t.subscribe(ctx, n, shared, s)
	if err != nil {
		return fanoutRun{}, err
	}
	cpu0, err := t.cpu()
	if err != nil {
		return fanoutRun{}, err
	}
	client0 := processCPU()
	start := time.Now()
	for i := range commits {
		if d := time.Until(start.Add(time.Duration(i) * pace)); d > 0 {
			time.Sleep(d)
		}
		s.sentAt[i].Store(time.Now().UnixNano())
		rev, err := t.commit(ctx, i+1)
		if err != nil {
			return fanoutRun{}, err
		}
		if rev != base+uint64(i)+1 {
			return fanoutRun{}, fmt.Errorf("commit %d at revision %d, want %d: something else writes", i+1, rev, base+uint64(i)+1)
		}
	}
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
	}
	cpu1, err := t.cpu()
	if err != nil {
		return fanoutRun{}, err
	}
	client1 := processCPU()
	cancel()
	<-done
	if len(s.lat) != n*commits {
		return fanoutRun{}, fmt.Errorf("%d subscribers: %d of %d deliveries arrived", n, len(s.lat), n*commits)
	}
	slices.Sort(s.lat)
	return fanoutRun{p50: s.lat[len(s.lat)/2], p99: s.lat[min(len(s.lat)-1, len(s.lat)*99/100)],
		cpuPer: float64(cpu1-cpu0) / 1e3 / float64(n*commits), clientPer: float64(client1-client0) / 1e3 / float64(n*commits)}, nil
}

// streamsFor is how many streams (shared) or connections (a stream each)
// n subscribers use.
func streamsFor(n int) int { return (n + perStream - 1) / perStream }

// csTarget is computescale in a child process.
type csTarget struct {
	ch      *child
	r       *rig
	closeCl func()
	ingest  grpc.BidiStreamingClient[pb.IngestShipmentsRequest, pb.IngestShipmentsResponse]
	recs    []*pb.ShipmentRecord
	closers []func()
}

func startCS(ctx context.Context, c config, name string, commits int) (*csTarget, error) {
	ch, err := startChild(dbPath(c.dir, name))
	if err != nil {
		return nil, err
	}
	r, closeCl, err := dialChild(ch.addr)
	if err != nil {
		ch.stop()
		return nil, err
	}
	t := &csTarget{ch: ch, r: r, closeCl: closeCl, recs: records(name, commits+1)}
	if err := r.loadChips(); err != nil {
		t.close()
		return nil, err
	}
	if t.ingest, err = r.vendors[0].Ingest.IngestShipments(ctx); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

func (t *csTarget) commit(ctx context.Context, i int) (uint64, error) {
	if err := t.ingest.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i + 1), Records: []*pb.ShipmentRecord{t.recs[i]}}); err != nil {
		return 0, err
	}
	resp, err := t.ingest.Recv()
	if err != nil {
		return 0, err
	}
	if resp.GetError() != nil {
		return 0, fmt.Errorf("commit %d: %s", i, resp.GetError().GetMessage())
	}
	return resp.GetRevision(), nil
}

func (t *csTarget) cpu() (time.Duration, error) { return t.ch.cpu() }

func (t *csTarget) mem() (uint64, error) {
	m, _, err := t.ch.mem()
	return m, err
}

func (t *csTarget) close() {
	for _, c := range t.closers {
		c()
	}
	t.closeCl()
	t.ch.stop()
}

var computeOnly = &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}}

func (t *csTarget) subscribe(ctx context.Context, n int, shared bool, s *samples) (func(), error) {
	conns, closeConns, err := t.r.watchConns(n)
	if err != nil {
		return nil, err
	}
	t.closers = append(t.closers, closeConns)
	var wg sync.WaitGroup
	if !shared {
		for i := range n {
			st, err := pb.NewWatchServiceClient(conns[i%len(conns)]).Watch(ctx, computeOnly)
			if err != nil {
				return nil, err
			}
			if _, err := st.Header(); err != nil { // sent once the watcher is live
				return nil, err
			}
			wg.Go(func() {
				var b sub
				defer s.merge(&b)
				for {
					resp, err := st.Recv()
					if err != nil {
						return
					}
					now := time.Now()
					for _, e := range resp.GetEvents() {
						if s.got(&b, e.GetRevision(), now) {
							return
						}
					}
				}
			})
		}
		return wg.Wait, nil
	}
	for k := range streamsFor(n) {
		st, err := pb.NewWatchServiceClient(conns[k]).WatchMany(ctx)
		if err != nil {
			return nil, err
		}
		ids := min(perStream, n-k*perStream)
		for id := range ids {
			if err := st.Send(&pb.WatchManyRequest{Request: &pb.WatchManyRequest_Create{Create: &pb.WatchCreate{WatchId: uint64(id), Request: computeOnly}}}); err != nil {
				return nil, err
			}
		}
		for range ids { // "created" is sent once the watch is live
			resp, err := st.Recv()
			if err != nil {
				return nil, err
			}
			if resp.GetCreated() == nil {
				return nil, fmt.Errorf("watch %d: %v before created", resp.GetWatchId(), resp)
			}
		}
		wg.Go(func() {
			s.drainMany(ids, func() (int64, iter.Seq[uint64], error) {
				resp, err := st.Recv()
				if err != nil {
					return 0, nil, err
				}
				// An id beyond int64 turns negative: drainMany skips it
				// as it skips any id it did not create.
				return int64(resp.GetWatchId()), func(yield func(uint64) bool) {
					for _, e := range resp.GetResponse().GetEvents() {
						if !yield(e.GetRevision()) {
							return
						}
					}
				}, nil
			})
		})
	}
	return wg.Wait, nil
}

// etcdTarget is an embedded one-member etcd in a child process, watched
// through its own gRPC API (as computescale's subscribers use theirs, with
// no client library in between).
type etcdTarget struct {
	ch      *child
	conns   []*grpc.ClientConn
	kv      etcdpb.KVClient
	closers []func()
}

const etcdKey = "bench/key"

func startEtcd(c config, name string) (*etcdTarget, error) {
	ch, err := startEtcdChild(dbPath(c.dir, name))
	if err != nil {
		return nil, err
	}
	t := &etcdTarget{ch: ch}
	cc, err := t.dial()
	if err != nil {
		ch.stop()
		return nil, err
	}
	t.kv = etcdpb.NewKVClient(cc)
	return t, nil
}

func (t *etcdTarget) dial() (*grpc.ClientConn, error) {
	cc, err := grpc.NewClient(t.ch.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	t.conns = append(t.conns, cc)
	return cc, nil
}

func (t *etcdTarget) commit(ctx context.Context, i int) (uint64, error) {
	resp, err := t.kv.Put(ctx, &etcdpb.PutRequest{Key: []byte(etcdKey), Value: fmt.Appendf(nil, "commit %d", i)})
	if err != nil {
		return 0, err
	}
	return uint64(resp.GetHeader().GetRevision()), nil
}

func (t *etcdTarget) cpu() (time.Duration, error) { return t.ch.cpu() }

func (t *etcdTarget) mem() (uint64, error) {
	m, _, err := t.ch.mem()
	return m, err
}

func (t *etcdTarget) close() {
	for _, c := range t.closers {
		c()
	}
	for _, cc := range t.conns {
		cc.Close()
	}
	t.ch.stop()
}

func (t *etcdTarget) subscribe(ctx context.Context, n int, shared bool, s *samples) (func(), error) {
	var conns []*grpc.ClientConn
	for range streamsFor(n) {
		cc, err := t.dial()
		if err != nil {
			return nil, err
		}
		conns = append(conns, cc)
	}
	create := func(id int) *etcdpb.WatchRequest {
		return &etcdpb.WatchRequest{RequestUnion: &etcdpb.WatchRequest_CreateRequest{CreateRequest: &etcdpb.WatchCreateRequest{
			Key: []byte(etcdKey), WatchId: int64(id)}}}
	}
	var wg sync.WaitGroup
	// open starts one stream with the watches [0, ids) and its receiver.
	open := func(cc *grpc.ClientConn, ids int) error {
		st, err := etcdpb.NewWatchClient(cc).Watch(ctx)
		if err != nil {
			return err
		}
		for id := range ids {
			if err := st.Send(create(id)); err != nil {
				return err
			}
		}
		for range ids {
			resp, err := st.Recv()
			if err != nil {
				return err
			}
			if !resp.GetCreated() {
				return fmt.Errorf("etcd watch %d: %v before created", resp.GetWatchId(), resp)
			}
		}
		wg.Go(func() {
			s.drainMany(ids, func() (int64, iter.Seq[uint64], error) {
				resp, err := st.Recv()
				if err != nil {
					return 0, nil, err
				}
				return resp.GetWatchId(), func(yield func(uint64) bool) {
					for _, e := range resp.GetEvents() {
						if !yield(uint64(e.GetKv().GetModRevision())) {
							return
						}
					}
				}, nil
			})
		})
		return nil
	}
	for k := range streamsFor(n) {
		ids := min(perStream, n-k*perStream)
		if shared {
			if err := open(conns[k], ids); err != nil {
				return nil, err
			}
			continue
		}
		for range ids {
			if err := open(conns[k], 1); err != nil {
				return nil, err
			}
		}
	}
	return wg.Wait, nil
}

// idleWatchMemory is the growth of a server's heap and stacks per idle
// watch: n watches of nothing that changes, shared or a stream each.
func idleWatchMemory(ctx context.Context, t fanoutTarget, n int, shared bool) (float64, error) {
	before, err := t.mem()
	if err != nil {
		return 0, err
	}
	s := &samples{base: 1 << 62, want: 1} // nothing is ever counted
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := t.subscribe(ctx, n, shared, s); err != nil {
		return 0, err
	}
	after, err := t.mem()
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}
