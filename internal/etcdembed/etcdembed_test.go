package etcdembed_test

import (
	"context"
	"testing"
	"time"

	"github.com/computescale/computescale/internal/etcdembed"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestClusterSurvivesOneMember writes through a 3-member cluster, stops one
// member, keeps writing on the remaining quorum, restarts the member and
// reads the later write from that member alone: it rejoined and caught up.
func TestClusterSurvivesOneMember(t *testing.T) {
	c, err := etcdembed.Start(etcdembed.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if got := len(c.Endpoints()); got != 3 {
		t.Fatalf("endpoints = %d, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli, err := c.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(ctx, "k", "before"); err != nil {
		t.Fatalf("put before: %v", err)
	}

	c.Stop(1)
	if c.Running(1) {
		t.Fatal("member 1 still running after Stop")
	}
	put, err := cli.Put(ctx, "k", "during")
	if err != nil {
		t.Fatalf("put with one member stopped: %v", err)
	}

	if err := c.Restart(1); err != nil {
		t.Fatalf("restart: %v", err)
	}
	only, err := clientv3.New(clientv3.Config{Endpoints: []string{c.Endpoint(1)}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	// A serializable read answers from member 1's own state, so seeing the
	// write made while it was down proves it caught up.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := only.Get(ctx, "k", clientv3.WithSerializable())
		if err == nil && resp.Header.Revision >= put.Header.Revision {
			if got := string(resp.Kvs[0].Value); got != "during" {
				t.Fatalf("restarted member reads %q, want %q", got, "during")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarted member did not catch up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStartRejectsMissingDir checks the one required option.
func TestStartRejectsMissingDir(t *testing.T) {
	if _, err := etcdembed.Start(etcdembed.Options{}); err == nil {
		t.Fatal("Start without Dir succeeded")
	}
}

// TestSingleMember covers the 1-member cluster benchmarks use as a baseline.
func TestSingleMember(t *testing.T) {
	c, err := etcdembed.Start(etcdembed.Options{Dir: t.TempDir(), Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
}
