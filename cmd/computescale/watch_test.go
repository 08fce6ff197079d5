package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// lockedBuffer is an output the command writes from its goroutine while the
// test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// watchUntil runs `computescale watch args...` until its output contains
// until, then interrupts it as Ctrl-C would, and returns output and error.
func watchUntil(t *testing.T, until string, args ...string) (string, error) {
	t.Helper()
	var out, errOut lockedBuffer
	cmd := newRootCmd(&out, &errOut)
	cmd.SetArgs(append([]string{"watch"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), until); {
		select {
		case err := <-done:
			return out.String(), err
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch printed %q, without %q; stderr %q", out.String(), until, errOut.String())
		}
	}
	cancel()
	return out.String(), <-done
}

func TestWatchCommand(t *testing.T) {
	dir := t.TempDir()
	cfg := cliServeConfig(filepath.Join(dir, "w.db"))
	cfg.progressInterval = 100 * time.Millisecond
	m, _, secrets := startCLIServer(t, cfg)
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vendor, err := client.New(m.Addr(), client.WithToken(secrets[demoVendor]))
	if err != nil {
		t.Fatal(err)
	}
	defer vendor.Close()
	super := func(id, province string, rpeak float64) *pb.ShipmentRecord {
		return &pb.ShipmentRecord{RecordId: id, Province: province, Period: &pb.Period{Year: 2024},
			ServerClass: pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER, Units: 1, RpeakFp64Flops: rpeak}
	}
	for _, r := range []*pb.ShipmentRecord{super("s1", "CN-BJ", 2e17), super("s2", "Guangdong", 1e17)} {
		if _, err := vendor.IngestShipments(ctx, []*pb.ShipmentRecord{r}, client.IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	conn := []string{"--addr", m.Addr(), "--token", secrets[demoReader]}

	t.Run("OK/Lines", func(t *testing.T) {
		out, err := watchUntil(t, "\n", append(conn, "--from", "1", "--kinds", "compute", "--province", "广东")...)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(out)
		if len(f) < 7 || f[0] != "2" || f[1] != "compute" || f[2] != "CN-GD" || !strings.HasPrefix(f[5], "2024") || f[6] != "super_commissioned" || !strings.Contains(out, "0.100000 EFlops") {
			t.Errorf("line %q", out)
		}
	})
	t.Run("OK/JSONAndProgress", func(t *testing.T) {
		out, err := watchUntil(t, "progressNotify", append(conn, "--from", "1", "--kinds", "compute", "--json", "--progress")...)
		if err != nil {
			t.Fatal(err)
		}
		var resps []*pb.WatchResponse
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			r := &pb.WatchResponse{}
			if err := protojson.Unmarshal([]byte(line), r); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			resps = append(resps, r)
		}
		// Replay may batch both revisions into one response; a progress
		// line at the current revision follows.
		last := resps[len(resps)-1]
		if len(resps[0].GetEvents()) == 0 || resps[0].GetEvents()[0].GetCompute().GetProvince().GetCode() != "110000" ||
			!last.GetProgressNotify() || last.GetRevision() != 2 {
			t.Errorf("responses %v", resps)
		}
	})
	t.Run("OK/CSV", func(t *testing.T) {
		out, err := watchUntil(t, "440000", append(conn, "--from", "1", "--kinds", "compute", "-o", "csv")...)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(recs) < 3 || strings.Join(recs[0], ",") != "revision,kind,province,period,series,value" {
			t.Fatalf("csv %v: %q", err, out)
		}
		if r := recs[len(recs)-1]; r[0] != "2" || r[1] != "compute" || r[2] != "440000" || r[4] != "super_commissioned" || r[5] != "0.1" {
			t.Errorf("last row %v, want revision 2, Guangdong's 0.1 EFlops", r)
		}
	})
	t.Run("ErrKind", func(t *testing.T) {
		if _, err := watchUntil(t, "never", append(conn, "--kinds", "weather")...); err == nil || !strings.Contains(err.Error(), "weather") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("ErrCompacted", func(t *testing.T) {
		admin, err := client.New(m.Addr(), client.WithToken(secrets[demoAdmin]))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Compact(ctx, 2); err != nil {
			t.Fatal(err)
		}
		_, err = watchUntil(t, "never", append(conn, "--from", "1")...)
		if err == nil || !strings.Contains(err.Error(), "--from 2") {
			t.Errorf("err = %v, want advice to watch --from 2", err)
		}
	})
}
