package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.json")
	os.WriteFile(file, []byte(`{"listen": "127.0.0.1:1111", "db": "from-file.db", "max-batch": 7, "log-format": "json"}`), 0o600)
	env := map[string]string{"COMPUTESCALE_DB": "from-env.db", "COMPUTESCALE_MAX_BATCH": "9"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var got serveConfig
	cmd := &cobra.Command{Use: "serve", RunE: func(*cobra.Command, []string) error { return nil }}
	got.register(cmd, "default.db", "")
	cmd.Flags().String("config", "", "")
	if err := cmd.ParseFlags([]string{"--config", file, "--max-batch", "11"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(cmd, lookup); err != nil {
		t.Fatal(err)
	}
	// flag > env > file > default
	if got.maxBatch != 11 || got.db != "from-env.db" || got.listen != "127.0.0.1:1111" || got.logFormat != "json" || got.logLevel != "info" {
		t.Errorf("config = batch %d db %q listen %q format %q level %q", got.maxBatch, got.db, got.listen, got.logFormat, got.logLevel)
	}
	t.Run("ErrUnknownKey", func(t *testing.T) {
		os.WriteFile(file, []byte(`{"lisen": "x"}`), 0o600)
		c := &cobra.Command{Use: "serve"}
		var cfg serveConfig
		cfg.register(c, "", "")
		c.Flags().String("config", file, "")
		if err := applyConfig(c, lookup); err == nil {
			t.Error("unknown key accepted")
		}
	})
	t.Run("ErrBadEnvValue", func(t *testing.T) {
		c := &cobra.Command{Use: "serve"}
		var cfg serveConfig
		cfg.register(c, "", "")
		c.Flags().String("config", "", "")
		bad := func(k string) (string, bool) { return "many", k == "COMPUTESCALE_MAX_BATCH" }
		if err := applyConfig(c, bad); err == nil {
			t.Error("max-batch=many accepted")
		}
	})
	t.Run("ErrBadFlagsFailFast", func(t *testing.T) {
		for _, args := range [][]string{
			{"serve", "--tokens", filepath.Join(dir, "missing")},
			{"serve"},
			{"serve", "--tokens", file, "--log-format", "xml"},
			{"serve", "--client-ca", file, "--tokens", file},
		} {
			if _, _, err := run(t, args...); err == nil {
				t.Errorf("%v started", args)
			}
		}
	})
}

// TestGracefulShutdown closes a server that has an ingest stream and a
// watch stream open: the watch ends with Unavailable, Close returns, and
// every acknowledged batch is in the file afterwards.
func TestGracefulShutdown(t *testing.T) {
	cfg := cliServeConfig(filepath.Join(t.TempDir(), "g.db"))
	cfg.shutdownGrace, cfg.maxBatch, cfg.watchBuffer, cfg.progressInterval = 2*time.Second, 1000, 256, time.Second
	m, _, secrets := startCLIServer(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := loadCatalogOnly(ctx, m.Addr(), secrets[demoAdmin]); err != nil {
		t.Fatal(err)
	}
	reader, _ := client.New(m.Addr(), client.WithToken(secrets[demoReader]))
	defer reader.Close()
	watch, err := pb.NewWatchServiceClient(reader.Conn()).Watch(ctx, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	vendor, _ := client.New(m.Addr(), client.WithToken(secrets[demoVendor]))
	defer vendor.Close()
	var mu sync.Mutex
	var acked []string
	done := make(chan error, 1)
	go func() {
		var recs []*pb.ShipmentRecord
		for i := range 200_000 {
			recs = append(recs, &pb.ShipmentRecord{RecordId: fmt.Sprintf("g%05d", i), Province: "CN-GD", Period: &pb.Period{Year: 2024},
				ServerClass: pb.ServerClass_SERVER_CLASS_GENERAL_SERVER, Units: 1,
				Components: []*pb.Component{{Count: 2, Chip: &pb.Component_ChipId{ChipId: "intel-xeon-platinum-8480p"}}}})
		}
		_, err := vendor.IngestShipments(ctx, recs, client.IngestOptions{BatchSize: 200, MaxRetries: 1, OnAck: func(b client.BatchResult) {
			if b.Err == nil {
				mu.Lock()
				for _, r := range recs[b.First : b.First+b.Len] {
					acked = append(acked, r.GetRecordId())
				}
				mu.Unlock()
			}
		}})
		done <- err
	}()
	for { // let some batches land first (bounded by ctx)
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 1000 || ctx.Err() != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := watch.Recv(); err != nil { // the watch is live and receiving
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	_, werr := watch.Recv()
	for werr == nil {
		_, werr = watch.Recv()
	}
	if status.Code(werr) != codes.Unavailable {
		t.Errorf("watch ended with %v, want Unavailable", werr)
	}
	cancel() // the ingest would otherwise keep waiting for the server to return
	<-done
	db, err := store.Open(cfg.db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range acked {
		if _, err := db.Record(demoVendor, id); err != nil {
			t.Fatalf("acknowledged record %s lost: %v", id, err)
		}
	}
	if rep, err := db.Verify(); err != nil || len(rep.Mismatches)+len(rep.CheckErrors) > 0 {
		t.Errorf("verify: %v %+v", err, rep)
	}
	t.Logf("%d acknowledged records survived the shutdown", len(acked))
}

// TestStartServerMetricsListenFails: a metrics address already in use fails
// startup promptly, with the gRPC listener and the database released.
func TestStartServerMetricsListenFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := filepath.Join(t.TempDir(), "m.db")
	cfg := serveConfig{db: db, listen: "127.0.0.1:0", metricsListen: busy.Addr().String(), logFormat: "text", logLevel: "error",
		shutdownGrace: time.Second, maxBatch: 1000, maxRecv: 32 << 20}
	errc := make(chan error, 1)
	go func() {
		_, err := startServer(cfg, nil)
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("startServer succeeded with its metrics address in use")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("startServer hung after the metrics listener failed")
	}
	s, err := store.Open(db, store.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("database still locked: %v", err)
	}
	s.Close()
}

// TestPprofOnlyWithFlag: /debug/pprof/ is served on the metrics address only
// with --pprof; /metrics always is; --pprof without --metrics-listen does not
// start.
func TestPprofOnlyWithFlag(t *testing.T) {
	get := func(url string) int {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, on := range []bool{false, true} {
		cfg := serveConfig{db: filepath.Join(t.TempDir(), "p.db"), listen: "127.0.0.1:0", metricsListen: "127.0.0.1:0", pprof: on,
			logFormat: "text", logLevel: "error", shutdownGrace: time.Second, maxBatch: 1000, maxRecv: 32 << 20}
		m, err := startServer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + m.metricsAddr
		if code := get(base + "/metrics"); code != http.StatusOK {
			t.Errorf("pprof=%v: /metrics %d", on, code)
		}
		want := http.StatusNotFound
		if on {
			want = http.StatusOK
		}
		if code := get(base + "/debug/pprof/"); code != want {
			t.Errorf("pprof=%v: /debug/pprof/ %d, want %d", on, code, want)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := serveConfig{db: filepath.Join(t.TempDir(), "p.db"), listen: "127.0.0.1:0", pprof: true, logFormat: "text", logLevel: "error"}
	if m, err := startServer(cfg, nil); err == nil {
		m.Close()
		t.Error("--pprof without --metrics-listen started")
	}
}

// TestNewFlagsInServeAndDemo: the flags of issue 12 are serve flags that the
// demo takes too, since the two share their flag set; and the demo refuses
// --pprof without --metrics-listen as serve does.
func TestNewFlagsInServeAndDemo(t *testing.T) {
	for _, cmd := range []string{"serve", "demo"} {
		out, _, err := run(t, cmd, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []string{"--check-on-start", "--pprof", "--tls-reload-interval"} {
			if !strings.Contains(out, flag) {
				t.Errorf("%s --help lacks %s", cmd, flag)
			}
		}
	}
	if _, _, err := run(t, "demo", "--once", "--pprof", "--listen", "127.0.0.1:0", "--http-listen", "", "--db", filepath.Join(t.TempDir(), "d.db")); err == nil || !strings.Contains(err.Error(), "--pprof needs --metrics-listen") {
		t.Errorf("demo --pprof without --metrics-listen: %v", err)
	}
}
