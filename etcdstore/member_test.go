package etcdstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/computescale/computescale/estimator"
)

// TestMemberKilledMidIngest stops the etcd leader while a node ingests
// batch after batch (retrying a failed batch, as the client does): every
// acknowledged batch is in the view whole, and no batch is there in part.
func TestMemberKilledMidIngest(t *testing.T) {
	c := startCluster(t)
	a := openNode(t, c, filepath.Join(t.TempDir(), "a.db"))
	defer a.Close()
	if _, err := a.PutChip(cpuSpec("cpu")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	const batches, size = 24, 40
	acked := map[int]bool{}
	killed := -1
	for i := range batches {
		if i == 8 {
			for m, ep := range c.Endpoints() {
				st, err := a.Client().Status(ctx, ep)
				if err == nil && st.Header.MemberId == st.Leader {
					killed = m
				}
			}
			if killed < 0 {
				t.Fatal("no member says it leads")
			}
			c.Stop(killed)
		}
		recs := batch(i*size, size)
		for attempt := 0; ; attempt++ {
			_, err := a.SubmitShipments("acme", recs, false).Wait()
			if err == nil {
				acked[i] = true
				break
			}
			if estimator.ErrorCode(err) != estimator.EUnavailable || attempt == 20 {
				t.Fatalf("batch %d attempt %d: %v", i, attempt, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if len(acked) != batches {
		t.Fatalf("%d of %d batches acknowledged", len(acked), batches)
	}
	if err := a.WaitRevision(ctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	for i := range batches {
		present := 0
		for _, r := range batch(i*size, size) {
			if _, err := a.View().Record("acme", r.ID); err == nil {
				present++
			}
		}
		if present != size {
			t.Errorf("batch %d: %d of %d records present (acknowledged %v)", i, present, size, acked[i])
		}
	}
	// The stopped member rejoins and, read on its own, holds every batch.
	if err := c.Restart(killed); err != nil {
		t.Fatal(err)
	}
	only, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoint(killed)}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	for {
		resp, err := only.Get(ctx, "/computescale/r/acme/", clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithSerializable())
		if err == nil && resp.Count == batches*size {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("restarted member: %v records, err %v; want %d", resp, err, batches*size)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
