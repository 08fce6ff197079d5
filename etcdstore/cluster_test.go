package etcdstore_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/etcdstore"
	"github.com/computescale/computescale/internal/etcdembed"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

const (
	adminToken  = "admin-token-0123456789"
	vendorToken = "vendor-token-0123456789"
	readerToken = "reader-token-0123456789"
)

// node is one computescale server in cluster mode on 127.0.0.1.
type node struct {
	name  string
	store *etcdstore.Store
	srv   *server.Server
	grpc  *grpc.Server
	lis   net.Listener
	addr  string
	once  sync.Once
}

// startNode opens a node's store on the cluster and listens; serve starts
// serving (separately, so a test can hold a node's port before it answers).
func startNode(t *testing.T, c *etcdembed.Cluster, dir, name string) *node {
	t.Helper()
	st := openNode(t, c, filepath.Join(dir, name+".db"))
	tokens := server.NewTokens()
	tokens.Add(adminToken, server.Identity{Name: "root", Role: server.RoleAdmin})
	tokens.Add(vendorToken, server.Identity{Name: "acme", Role: server.RoleVendor})
	tokens.Add(readerToken, server.Identity{Name: "reader", Role: server.RoleReader})
	srv, err := server.New(server.Config{Store: st, Tokens: tokens, MaxBatchRecords: 1000, ReadWaitLimit: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, store: st, srv: srv, grpc: srv.GRPCServer(), lis: lis, addr: lis.Addr().String()}
	t.Cleanup(n.kill)
	return n
}

func (n *node) serve() {
	go n.grpc.Serve(n.lis)
	n.srv.SetServing(true)
}

// kill stops the node at once: streams are cut, not drained.
func (n *node) kill() {
	n.once.Do(func() {
		n.srv.Close()
		n.grpc.Stop()
		n.store.Close()
	})
}

func dial(t *testing.T, token string, addrs ...string) *client.Client {
	t.Helper()
	c, err := client.New(joinAddrs(addrs), client.WithToken(token), client.WithTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func joinAddrs(addrs []string) string {
	out := ""
	for i, a := range addrs {
		if i > 0 {
			out += ","
		}
		out += a
	}
	return out
}

func xeon() *pb.ChipSpec {
	return &pb.ChipSpec{
		Id: "intel-xeon-8480p", Vendor: "Intel", Model: "Xeon Platinum 8480+", Kind: pb.ChipKind_CHIP_KIND_CPU,
		Cores: 56, ClockHz: 2_000_000_000, Source: "Intel ARK; AVX-512 2×FMA",
		Rates: []*pb.PrecisionRate{
			{Precision: pb.Precision_PRECISION_FP64, Rate: &pb.PrecisionRate_FlopsPerCycle{FlopsPerCycle: 32}},
			{Precision: pb.Precision_PRECISION_FP32, Rate: &pb.PrecisionRate_FlopsPerCycle{FlopsPerCycle: 64}},
		},
	}
}

// records returns batch b of n general servers spread over six provinces.
func records(b, n int) []*pb.ShipmentRecord {
	provinces := []string{"CN-BJ", "CN-GD", "CN-ZJ", "CN-JS", "CN-SH", "CN-SD"}
	out := make([]*pb.ShipmentRecord, n)
	for i := range out {
		out[i] = &pb.ShipmentRecord{
			RecordId: fmt.Sprintf("b%03d-%04d", b, i), Province: provinces[(b+i)%len(provinces)],
			Period:      &pb.Period{Year: int32(2020 + i%5), Quarter: int32(1 + i%4)},
			ServerClass: pb.ServerClass_SERVER_CLASS_GENERAL_SERVER, Units: int64(1 + i%9),
			Components: []*pb.Component{{Count: 2, Chip: &pb.Component_ChipId{ChipId: "intel-xeon-8480p"}}},
		}
	}
	return out
}

func threeNodes(t *testing.T) (*etcdembed.Cluster, [3]*node) {
	t.Helper()
	c := startCluster(t)
	dir := t.TempDir()
	var ns [3]*node
	for i, name := range []string{"a", "b", "c"} {
		ns[i] = startNode(t, c, dir, name)
	}
	return c, ns
}

func national(t *testing.T, c *client.Client, minRev uint64) *pb.ComputeTotals {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := c.Compute.GetNationalCompute(ctx, &pb.GetNationalComputeRequest{Year: 2024, Quarter: 4, MinRevision: minRev})
	if err != nil {
		t.Fatalf("GetNationalCompute(min_revision %d): %v", minRev, err)
	}
	return resp.GetTotals()
}

// TestClusterReadYourWrites ingests through node A and reads through B with
// the ack's min_revision, and through C with a consistent read: the same
// totals at the same revision. A changed resend is AlreadyExists through
// any node.
func TestClusterReadYourWrites(t *testing.T) {
	_, ns := threeNodes(t)
	for _, n := range ns {
		n.serve()
	}
	admin := dial(t, adminToken, ns[0].addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := admin.PutChipSpec(ctx, xeon()); err != nil {
		t.Fatal(err)
	}
	vendorA := dial(t, vendorToken, ns[0].addr)
	var recs []*pb.ShipmentRecord
	for b := range 4 {
		recs = append(recs, records(b, 100)...)
	}
	sum, err := vendorA.IngestShipments(ctx, recs, client.IngestOptions{BatchSize: 100})
	if err != nil || len(sum.Rejected) > 0 || sum.Created != 400 {
		t.Fatalf("ingest through A: %+v, %v", sum, err)
	}
	onA := national(t, dial(t, readerToken, ns[0].addr), 0)
	onB := national(t, dial(t, readerToken, ns[1].addr), sum.Revision)
	onC := national(t, dial(t, readerToken, ns[2].addr), 0)
	if onB.GetRevision() < sum.Revision {
		t.Fatalf("B answered at revision %d, below min_revision %d", onB.GetRevision(), sum.Revision)
	}
	if onA.GetRecordCount() != 400 {
		t.Fatalf("A counts %d records, want 400", onA.GetRecordCount())
	}
	for name, got := range map[string]*pb.ComputeTotals{"B": onB, "C": onC} {
		if d := cmp.Diff(onA, got, protocmp.Transform()); d != "" {
			t.Fatalf("totals differ between A and %s (-A +%s):\n%s", name, name, d)
		}
	}

	// A revision no node will reach soon is UNAVAILABLE after the bound.
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	_, err = dial(t, readerToken, ns[1].addr).Compute.GetNationalCompute(rctx,
		&pb.GetNationalComputeRequest{Year: 2024, MinRevision: sum.Revision + 1_000_000})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("min_revision in the future: %v, want Unavailable", err)
	}

	changed := records(0, 3)
	changed[1].Units++
	for i, n := range ns {
		s, err := dial(t, vendorToken, n.addr).IngestShipments(ctx, changed, client.IngestOptions{})
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if len(s.Rejected) != 1 || status.Code(s.Rejected[0].Err) != codes.AlreadyExists {
			t.Fatalf("changed resend through node %d: %+v, want one batch AlreadyExists", i, s)
		}
	}
}

// TestClusterWatchFailover watches through a client that knows nodes B and
// C while A takes the ingest; B dies mid-ingest, the watch resumes on C, and
// the revisions it delivered are exactly the acknowledged ones: none
// missing, none twice.
func TestClusterWatchFailover(t *testing.T) {
	_, ns := threeNodes(t)
	a, b, c := ns[0], ns[1], ns[2]
	a.serve()
	b.serve() // C answers only once the watch is on B
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := dial(t, adminToken, a.addr).PutChipSpec(ctx, xeon()); err != nil {
		t.Fatal(err)
	}
	start := a.store.Revision() + 1

	var mu sync.Mutex
	var seen []uint64
	watcher := dial(t, readerToken, b.addr, c.addr)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	werr := make(chan error, 1)
	first := make(chan struct{})
	var firstOnce sync.Once
	go func() {
		werr <- watcher.Watch(wctx, &pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}, StartRevision: start},
			func(r *pb.WatchResponse) error {
				mu.Lock()
				defer mu.Unlock()
				for _, e := range r.GetEvents() {
					if len(seen) == 0 || seen[len(seen)-1] != e.GetRevision() {
						seen = append(seen, e.GetRevision())
					}
				}
				if len(seen) > 0 {
					firstOnce.Do(func() { close(first) })
				}
				return nil
			}, client.WithWatchOwnStream())
	}()

	const batches = 30
	acked := make([]uint64, 0, batches)
	vendor := dial(t, vendorToken, a.addr)
	for i := range batches {
		if i == 10 {
			select {
			case <-first:
			case <-ctx.Done():
				t.Fatal("the watch delivered nothing")
			}
			c.serve()
			b.kill()
		}
		s, err := vendor.IngestShipments(ctx, records(i, 50), client.IngestOptions{BatchSize: 50})
		if err != nil || len(s.Rejected) > 0 {
			t.Fatalf("batch %d: %+v, %v", i, s, err)
		}
		acked = append(acked, s.Revision)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= len(acked) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	wcancel()
	<-werr
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, acked) {
		t.Fatalf("watch delivered revisions\n%v\nwant the acknowledged ones\n%v", seen, acked)
	}
}
