package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/internal/etcdembed"
)

// demoClusterEtcdLimits let one transaction hold a whole batch at the
// server's largest batch size (10,000 records, plus one stamp) and its
// bytes; etcd's defaults (128 operations, 1.5 MiB) would refuse batches of
// more than 127 records.
const (
	demoClusterMaxTxnOps       = 20_000
	demoClusterMaxRequestBytes = 32 << 20
)

// runDemoCluster starts an embedded etcd cluster of n members in this
// process and n `computescale serve --etcd-endpoints` nodes as child
// processes (so that one can be killed), loads the demo data through the
// first node, prints the tables and how to try failover, and serves until
// interrupted.
func runDemoCluster(ctx context.Context, cfg serveConfig, n int, once bool, out, errOut io.Writer) error {
	if cfg.tokens != "" {
		return errors.New("demo --cluster generates its own tokens; --tokens is not supported with it")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo --cluster: find this program to start the nodes: %w", err)
	}
	dir, err := os.MkdirTemp("", "computescale-cluster-")
	if err != nil {
		return fmt.Errorf("demo --cluster: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(errOut, "starting %d etcd members...\n", n)
	etcd, err := etcdembed.Start(etcdembed.Options{Members: n, Dir: filepath.Join(dir, "etcd"),
		MaxTxnOps: demoClusterMaxTxnOps, MaxRequestBytes: demoClusterMaxRequestBytes})
	if err != nil {
		return fmt.Errorf("demo --cluster: %w", err)
	}
	defer etcd.Close()

	_, secrets, err := demoTokens("")
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(dir, "tokens.txt")
	if err := writeDemoTokenFile(tokenFile, secrets); err != nil {
		return err
	}

	addrs, err := demoNodeAddrs(cfg.listen, n)
	if err != nil {
		return err
	}
	nodes := make([]*exec.Cmd, n)
	defer func() {
		for _, c := range nodes {
			stopNode(c)
		}
	}()
	endpoints := strings.Join(etcd.Endpoints(), ",")
	for i := range nodes {
		logPath := filepath.Join(dir, fmt.Sprintf("node-%d.log", i+1))
		logFile, err := os.Create(logPath)
		if err != nil {
			return fmt.Errorf("demo --cluster: node log: %w", err)
		}
		defer logFile.Close()
		c := exec.Command(exe, "serve", "--etcd-endpoints", endpoints,
			"--db", filepath.Join(dir, fmt.Sprintf("node-%d.db", i+1)),
			"--listen", addrs[i], "--tokens", tokenFile, "--http-listen", "", "--log-level", "warn",
			"--max-batch", strconv.Itoa(cfg.maxBatch))
		c.Stdout, c.Stderr = logFile, logFile
		if err := c.Start(); err != nil {
			return fmt.Errorf("demo --cluster: start node %d: %w", i+1, err)
		}
		nodes[i] = c
	}
	for i, a := range addrs {
		if err := waitServing(ctx, a, 60*time.Second); err != nil {
			return fmt.Errorf("demo --cluster: node %d (%s, log %s): %w", i+1, a,
				filepath.Join(dir, fmt.Sprintf("node-%d.log", i+1)), err)
		}
	}
	all := strings.Join(addrs, ",")
	if err := loadDemo(ctx, all, secrets, errOut); err != nil {
		return err
	}
	if err := printDemo(ctx, all, secrets[demoReader], out); err != nil {
		return err
	}

	fmt.Fprintf(out, "\ncluster: %d etcd members in this process (pid %d): %s\n", n, os.Getpid(), endpoints)
	for i, c := range nodes {
		fmt.Fprintf(out, "  node %d  pid %-7d  %s  view %s  log %s\n", i+1, c.Process.Pid, addrs[i],
			filepath.Join(dir, fmt.Sprintf("node-%d.db", i+1)), filepath.Join(dir, fmt.Sprintf("node-%d.log", i+1)))
	}
	fmt.Fprintf(out, "tokens (generated for this run):\n  admin         %s\n  reader        %s\n  vendor        %s  (name %s)\n  statistician  %s  (name %s)\n",
		secrets[demoAdmin], secrets[demoReader], secrets[demoVendor], demoVendor, secrets[demoStat], demoStat)
	fmt.Fprintf(out, `
try failover, each in its own shell:
  COMPUTESCALE_TOKEN=%[1]s go run ./cmd/computescale watch --endpoints %[2]s
  COMPUTESCALE_TOKEN=%[3]s go run ./cmd/computescale ingest FEED.csv --endpoints %[2]s
  kill -9 %[4]d      # node 1 dies; the watch resumes on another node, with no revision lost or repeated
  COMPUTESCALE_TOKEN=%[1]s go run ./cmd/computescale query list --endpoints %[2]s
`, secrets[demoReader], all, secrets[demoVendor], nodes[0].Process.Pid)
	if once {
		return nil
	}
	<-ctx.Done()
	return nil
}

// writeDemoTokenFile writes the generated tokens as sha256 digests, so the file
// on disk holds no secret.
func writeDemoTokenFile(path string, secrets map[string]string) error {
	roles := map[string]string{demoAdmin: "admin", demoReader: "reader", demoVendor: "vendor", demoStat: "statistician"}
	var b strings.Builder
	for name, secret := range secrets {
		fmt.Fprintf(&b, "%s %s sha256:%s\n", roles[name], name, sha256Hex(secret))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("demo --cluster: token file: %w", err)
	}
	return nil
}

// demoNodeAddrs gives node i the --listen port plus i (port 0: a free one).
func demoNodeAddrs(listen string, n int) ([]string, error) {
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	addrs := make([]string, n)
	for i := range addrs {
		p := 0
		if port != 0 {
			p = port + i
		} else {
			l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
			if err != nil {
				return nil, err
			}
			p = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		addrs[i] = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return addrs, nil
}

// waitServing polls a node's health until SERVING.
func waitServing(ctx context.Context, addr string, limit time.Duration) error {
	c, err := client.New(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		resp, err := healthpb.NewHealthClient(c.Conn()).Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not serving after %s: %v", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopNode asks a node to drain, then kills it if it does not.
func stopNode(c *exec.Cmd) {
	if c == nil || c.Process == nil {
		return
	}
	_ = c.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.Process.Kill()
		<-done
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
