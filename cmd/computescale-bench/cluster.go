package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/etcdstore"
	"github.com/computescale/computescale/internal/etcdembed"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// benchCluster (P5) measures cluster mode: a 3-member embedded etcd and
// three computescale nodes, all in this process on 127.0.0.1 (so etcd's
// Raft, three views and the clients share the machine's cores, as a
// one-machine deployment would). Baselines from the same run: single-node
// bbolt mode ingesting the same records, and raw etcd transactions of the
// same records in the same batches on the same cluster (what etcd itself
// costs, before any view applies anything).
func benchCluster(ctx context.Context, c config) ([]row, error) {
	const batch = 1000
	n := 100_000
	if c.short {
		n = 6_000
	}
	etcd, err := etcdembed.Start(etcdembed.Options{Dir: filepath.Join(c.dir, "etcd"), MaxTxnOps: 20_000, MaxRequestBytes: 32 << 20})
	if err != nil {
		return nil, err
	}
	defer etcd.Close()
	var nodes [3]*clusterNode
	for i := range nodes {
		if nodes[i], err = startClusterNode(ctx, etcd, filepath.Join(c.dir, fmt.Sprintf("node-%d.db", i))); err != nil {
			return nil, err
		}
		defer nodes[i].kill()
	}
	a, b, cc := nodes[0], nodes[1], nodes[2]
	go b.grpc.Serve(b.lis)
	go a.grpc.Serve(a.lis)
	admin, err := dialNode(benchAdmin, a.addr)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if err := loadChipsThrough(admin); err != nil {
		return nil, err
	}

	// Ingest: the cluster, single-node bbolt and raw etcd, alternating.
	vendor, err := dialNode(vendorToken(0), a.addr)
	if err != nil {
		return nil, err
	}
	defer vendor.Close()
	var got, single, raw []float64
	for round := range c.rounds {
		recs := records(fmt.Sprintf("c%d-", round), n)
		start := time.Now()
		sum, err := vendor.IngestShipments(ctx, recs, client.IngestOptions{BatchSize: batch})
		if err == nil && len(sum.Rejected) > 0 {
			err = sum.Rejected[0].Err
		}
		if err != nil {
			return nil, fmt.Errorf("cluster ingest: %w", err)
		}
		got = append(got, float64(n)/time.Since(start).Seconds())
		s, err := ingestThroughServer(ctx, c, 1, batch, n, round)
		if err != nil {
			return nil, err
		}
		single = append(single, s)
		r, err := ingestRawEtcd(ctx, a.store.Client(), recs, batch, round)
		if err != nil {
			return nil, err
		}
		raw = append(raw, r)
	}
	g, s, r := median(got), median(single), median(raw)
	rows := []row{
		{group: "P5 cluster", name: fmt.Sprintf("ingest records/s, %d a batch, 3 etcd members, 3 nodes", batch),
			value: fmt.Sprintf("%.0f", g), baseline: fmt.Sprintf("%.0f (single-node bbolt)", s), ratio: fmt.Sprintf("%.0f %%", 100*g/s), target: "—", ok: "—"},
		{group: "P5 cluster", name: "the same, against raw etcd transactions of the same records",
			value: fmt.Sprintf("%.0f", g), baseline: fmt.Sprintf("%.0f (raw etcd txn)", r), ratio: fmt.Sprintf("%.0f %%", 100*g/r), target: "—", ok: "—"},
	}

	// Commit to receive on another node: ingest through A, watch on B.
	lat, err := commitToReceive(ctx, vendor, b.addr, c.short)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{group: "P5 cluster", name: "commit-to-receive on another node's subscriber, p50 / p99",
		value: fmt.Sprintf("%s / %s", lat[0].Round(10*time.Microsecond), lat[1].Round(10*time.Microsecond)), baseline: "—", ratio: "—", target: "—", ok: "—"})

	// Failover: a watch on B, C not yet serving; kill B, serve C, ingest:
	// time from the kill to the subscriber receiving again.
	fo, err := failover(ctx, vendor, b, cc)
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{group: "P5 cluster", name: "failover: node killed → its subscriber receiving again on another node",
		value: fo.Round(time.Millisecond).String(), baseline: "—", ratio: "—", target: "—", ok: "—"})
	return rows, nil
}

type clusterNode struct {
	store *etcdstore.Store
	srv   *server.Server
	grpc  *grpc.Server
	lis   net.Listener
	addr  string
	once  sync.Once
}

func startClusterNode(ctx context.Context, etcd *etcdembed.Cluster, path string) (*clusterNode, error) {
	st, err := etcdstore.Open(ctx, etcdstore.Options{Endpoints: etcd.Endpoints(), Path: path, Log: quietLogger()})
	if err != nil {
		return nil, err
	}
	tokens := server.NewTokens()
	tokens.Add(benchAdmin, server.Identity{Name: "admin", Role: server.RoleAdmin})
	tokens.Add(benchReader, server.Identity{Name: "reader", Role: server.RoleReader})
	tokens.Add(vendorToken(0), server.Identity{Name: "vendor-0", Role: server.RoleVendor})
	srv, err := server.New(server.Config{Store: st, Tokens: tokens, Logger: quietLogger()})
	if err != nil {
		st.Close()
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return nil, err
	}
	srv.SetServing(true)
	return &clusterNode{store: st, srv: srv, grpc: srv.GRPCServer(), lis: lis, addr: lis.Addr().String()}, nil
}

func (n *clusterNode) kill() {
	n.once.Do(func() {
		n.srv.Close()
		n.grpc.Stop()
		n.lis.Close()
		n.store.Close()
	})
}

func dialNode(token string, addrs ...string) (*client.Client, error) {
	addr := addrs[0]
	for _, a := range addrs[1:] {
		addr += "," + a
	}
	return client.New(addr, client.WithToken(token), client.WithTimeout(60*time.Second))
}

func loadChipsThrough(admin *client.Client) error {
	r := &rig{admin: admin}
	return r.loadChips()
}

// ingestRawEtcd puts the records, proto-encoded, one etcd transaction per
// batch, each key created only if absent (the compare computescale's
// transactions make too).
func ingestRawEtcd(ctx context.Context, cli *clientv3.Client, recs []*pb.ShipmentRecord, batch, round int) (float64, error) {
	type kv struct{ k, v string }
	kvs := make([]kv, len(recs))
	for i, rec := range recs {
		b, err := proto.Marshal(rec)
		if err != nil {
			return 0, err
		}
		kvs[i] = kv{fmt.Sprintf("/bench-raw/%d/%s", round, rec.GetRecordId()), string(b)}
	}
	start := time.Now()
	for i := 0; i < len(kvs); i += batch {
		part := kvs[i:min(i+batch, len(kvs))]
		cmps := make([]clientv3.Cmp, len(part))
		ops := make([]clientv3.Op, len(part))
		for j, p := range part {
			cmps[j] = clientv3.Compare(clientv3.CreateRevision(p.k), "=", 0)
			ops[j] = clientv3.OpPut(p.k, p.v)
		}
		if _, err := cli.Txn(ctx).If(cmps...).Then(ops...).Commit(); err != nil {
			return 0, fmt.Errorf("raw etcd txn: %w", err)
		}
	}
	return float64(len(recs)) / time.Since(start).Seconds(), nil
}

// commitToReceive ingests small batches one at a time through vendor (node
// A) while a subscriber on addr (node B) watches; each event's commit time
// (stamped by the writing node) to its arrival on B.
func commitToReceive(ctx context.Context, vendor *client.Client, addr string, short bool) ([2]time.Duration, error) {
	batches := 300
	if short {
		batches = 40
	}
	reader, err := dialNode(benchReader, addr)
	if err != nil {
		return [2]time.Duration{}, err
	}
	defer reader.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var lats []time.Duration
	seen := map[uint64]bool{}
	ready := make(chan struct{})
	var readyOnce sync.Once
	go reader.Watch(wctx, &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}, ProgressNotify: true}, func(r *pb.WatchResponse) error {
		readyOnce.Do(func() { close(ready) })
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		for _, e := range r.GetEvents() {
			if !seen[e.GetRevision()] {
				seen[e.GetRevision()] = true
				lats = append(lats, now.Sub(time.Unix(0, e.GetCommitTimeUnixNanos())))
			}
		}
		return nil
	}, client.WithWatchOwnStream())
	// The first batch opens the stream's flow; measure from the second on.
	for i := range batches + 1 {
		if _, err := vendor.IngestShipments(ctx, records(fmt.Sprintf("lat%d-", i), 10), client.IngestOptions{BatchSize: 10}); err != nil {
			return [2]time.Duration{}, err
		}
		if i == 0 {
			select {
			case <-ready:
			case <-time.After(30 * time.Second):
				return [2]time.Duration{}, fmt.Errorf("the subscriber on B heard nothing")
			}
			mu.Lock()
			lats = lats[:0]
			mu.Unlock()
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(lats)
		mu.Unlock()
		if n >= batches || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lats) == 0 {
		return [2]time.Duration{}, fmt.Errorf("no events received")
	}
	slices.Sort(lats)
	return [2]time.Duration{pct(lats, 0.50), pct(lats, 0.99)}, nil
}

// failover watches through a client that knows B and C while only B serves,
// kills B, lets C serve, ingests a batch through vendor, and times the kill
// to the subscriber's first event after it.
func failover(ctx context.Context, vendor *client.Client, b, c *clusterNode) (time.Duration, error) {
	reader, err := dialNode(benchReader, b.addr, c.addr)
	if err != nil {
		return 0, err
	}
	defer reader.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan time.Time, 1024)
	go reader.Watch(wctx, &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}, ProgressNotify: true}, func(r *pb.WatchResponse) error {
		if len(r.GetEvents()) > 0 {
			select {
			case events <- time.Now():
			default:
			}
		}
		return nil
	}, client.WithWatchOwnStream())
	if _, err := vendor.IngestShipments(ctx, records("fo-before-", 10), client.IngestOptions{BatchSize: 10}); err != nil {
		return 0, err
	}
	select {
	case <-events:
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("the subscriber on B heard nothing")
	}
	go c.grpc.Serve(c.lis)
	killed := time.Now()
	b.kill()
	if _, err := vendor.IngestShipments(ctx, records("fo-after-", 10), client.IngestOptions{BatchSize: 10}); err != nil {
		return 0, err
	}
	for {
		select {
		case t := <-events:
			if t.After(killed) {
				return t.Sub(killed), nil
			}
		case <-time.After(30 * time.Second):
			return 0, fmt.Errorf("the subscriber did not resume on C")
		}
	}
}
