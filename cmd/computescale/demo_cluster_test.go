package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDemoCluster runs `demo --cluster 3 --once` as a newcomer would: three
// etcd members, three serve processes, the demo loaded through all of them,
// and the failover instructions naming each node's PID.
func TestDemoCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 3 etcd members and 3 server processes; the etcdstore cluster tests cover cluster mode in -short")
	}
	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "demo", "--cluster", "3", "--once", "--listen", "127.0.0.1:0", "--http-listen", "")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo --cluster 3: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"China", "node 1  pid", "node 2  pid", "node 3  pid", "watch --endpoints", "kill -9 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
