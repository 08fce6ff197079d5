package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/internal/etcdembed"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestClusterCrash is the cluster's kill test: three etcd members (in this
// process) and three `serve --etcd-endpoints` processes; each cycle ingests
// through every node while a random node is SIGKILLed or a random etcd
// member stopped, then brings it back. After each cycle etcd holds every
// acknowledged batch whole and no batch in part, and every node, asked for
// etcd's current revision, serves the same totals counting exactly etcd's
// records. COMPUTESCALE_CLUSTER_CRASH_CYCLES sets the cycles (default 2);
// scripts/crash-cluster.sh runs 20.
func TestClusterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, starts 3 etcd members and 3 servers; skipped with -short")
	}
	cycles := envInt(t, "COMPUTESCALE_CLUSTER_CRASH_CYCLES", 2)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COMPUTESCALE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("$COMPUTESCALE_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("cluster crash: %d cycles, seed %d (replay with COMPUTESCALE_CRASH_SEED=%d)", cycles, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0xc105))

	bin := buildBinary(t)
	dir := t.TempDir()
	etcd, err := etcdembed.Start(etcdembed.Options{Dir: filepath.Join(dir, "etcd"), MaxTxnOps: 20_000, MaxRequestBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	tokens := writeTokenFile(t, dir)
	nodes := make([]*clusterProc, 3)
	for i := range nodes {
		nodes[i] = &clusterProc{bin: bin, db: filepath.Join(dir, fmt.Sprintf("node-%d.db", i)), tokens: tokens,
			endpoints: strings.Join(etcd.Endpoints(), ",")}
		addr, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		nodes[i].addr = addr
		nodes[i].start(t)
	}
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr
	}
	all := strings.Join(addrs, ",")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	admin, err := client.New(all, client.WithToken(testAdminToken))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.PutChipSpec(ctx, crashChip()); err != nil {
		t.Fatal(err)
	}
	cli, err := etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	const batches, size = 8, 50
	acked := map[string]bool{} // batch prefix → acknowledged
	start := time.Now()
	for cycle := range cycles {
		vendor, err := client.New(all, client.WithToken(testVendorToken), client.WithTimeout(60*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var recs []*pb.ShipmentRecord
		for b := range batches {
			recs = append(recs, crashBatch(fmt.Sprintf("c%d-b%d-", cycle, b), size)...)
		}
		var mu sync.Mutex
		done := make(chan error, 1)
		go func() {
			_, err := vendor.IngestShipments(ctx, recs, client.IngestOptions{BatchSize: size, MaxRetries: 20,
				OnAck: func(r client.BatchResult) {
					if r.Err == nil {
						mu.Lock()
						acked[fmt.Sprintf("c%d-b%d-", cycle, r.Index)] = true
						mu.Unlock()
					}
				}})
			done <- err
		}()
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		what := ""
		if rng.IntN(2) == 0 {
			i := rng.IntN(len(nodes))
			nodes[i].kill(t)
			what = fmt.Sprintf("SIGKILL node %d", i)
			if err := <-done; err != nil {
				t.Logf("cluster crash: cycle %d: ingest ended with %v (unacknowledged batches are checked whole or absent)", cycle, err)
			}
			nodes[i].start(t)
		} else {
			m := rng.IntN(etcd.Size())
			etcd.Stop(m)
			what = fmt.Sprintf("stop etcd member %d", m)
			if err := <-done; err != nil {
				t.Logf("cluster crash: cycle %d: ingest ended with %v", cycle, err)
			}
			if err := etcd.Restart(m); err != nil {
				t.Fatalf("restart member %d: %v", m, err)
			}
		}
		vendor.Close()
		total := checkCluster(t, ctx, cli, nodes, acked, cycle, batches, size)
		t.Logf("crash: cycle %d: %s; %d batches acknowledged so far, %d records in etcd, every node agrees", cycle, what, len(acked), total)
	}
	t.Logf("crash summary: %d cycles in %s", cycles, time.Since(start).Round(time.Second))
}

// checkCluster verifies etcd and every node after a cycle and returns the
// number of records etcd holds.
func checkCluster(t *testing.T, ctx context.Context, cli *clientv3.Client, nodes []*clusterProc, acked map[string]bool, cycle, batches, size int) int64 {
	t.Helper()
	for b := range batches {
		prefix := fmt.Sprintf("c%d-b%d-", cycle, b)
		resp, err := cli.Get(ctx, "/computescale/r/"+testVendor+"/"+prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count != 0 && resp.Count != int64(size) {
			t.Fatalf("cycle %d batch %d: %d of %d records in etcd: a batch in part", cycle, b, resp.Count, size)
		}
		if acked[prefix] && resp.Count != int64(size) {
			t.Fatalf("cycle %d batch %d: acknowledged but %d records in etcd", cycle, b, resp.Count)
		}
	}
	all, err := cli.Get(ctx, "/computescale/r/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	var first *pb.ComputeTotals
	for i, n := range nodes {
		c, err := client.New(n.addr, client.WithToken(testAdminToken), client.WithTimeout(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Compute.GetNationalCompute(ctx, &pb.GetNationalComputeRequest{Year: 2024, Quarter: 4, MinRevision: uint64(all.Header.Revision)})
		c.Close()
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		got := resp.GetTotals()
		if got.GetRecordCount() != all.Count {
			t.Fatalf("node %d counts %d records, etcd holds %d", i, got.GetRecordCount(), all.Count)
		}
		if first == nil {
			first = got
			continue
		}
		a, b := proto.CloneOf(first), proto.CloneOf(got)
		a.Revision, b.Revision = 0, 0
		if !proto.Equal(a, b) {
			t.Fatalf("node %d serves other totals than node 0:\n%v\n%v", i, b, a)
		}
	}
	return all.Count
}

// clusterProc is a `serve --etcd-endpoints` child that can be killed and
// started again on the same address and view file.
type clusterProc struct {
	bin, db, tokens, endpoints, addr string
	proc                             *serveProc
}

func (n *clusterProc) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(n.bin, "serve", "--etcd-endpoints", n.endpoints, "--db", n.db, "--listen", n.addr,
		"--tokens", n.tokens, "--log-level", "warn", "--http-listen", "")
	cmd.Env = hermeticEnv()
	p := &serveProc{addr: n.addr, cmd: cmd, exited: make(chan struct{}), output: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill(t) })
	if err := p.waitServing(60 * time.Second); err != nil {
		t.Fatalf("node on %s: %v\n%s", n.addr, err, p.output)
	}
	n.proc = p
}

func (n *clusterProc) kill(t *testing.T) { n.proc.kill(t) }

func crashChip() *pb.ChipSpec {
	return &pb.ChipSpec{
		Id: "crash-cpu", Vendor: "Acme", Model: "C", Kind: pb.ChipKind_CHIP_KIND_CPU, Cores: 8, ClockHz: 2_000_000_000, Source: "test",
		Rates: []*pb.PrecisionRate{{Precision: pb.Precision_PRECISION_FP32, Rate: &pb.PrecisionRate_FlopsPerCycle{FlopsPerCycle: 16}}},
	}
}

func crashBatch(prefix string, n int) []*pb.ShipmentRecord {
	out := make([]*pb.ShipmentRecord, n)
	for i := range out {
		out[i] = &pb.ShipmentRecord{RecordId: fmt.Sprintf("%s%03d", prefix, i), Province: "CN-GD",
			Period: &pb.Period{Year: 2024, Quarter: int32(1 + i%4)}, ServerClass: pb.ServerClass_SERVER_CLASS_GENERAL_SERVER,
			Units: int64(1 + i%5), Components: []*pb.Component{{Count: 2, Chip: &pb.Component_ChipId{ChipId: "crash-cpu"}}}}
	}
	return out
}
