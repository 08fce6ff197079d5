package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/computescale/computescale/client"
)

// buildBinary builds this command into a temporary folder, for tests that
// need a server in its own process (one they can SIGKILL).
func buildBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binary:", err)
	}
	bin := filepath.Join(t.TempDir(), "computescale")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a `computescale serve` child process.
type serveProc struct {
	addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	output *syncBuffer
}

var errPortTaken = errors.New("port taken")

// startServe starts serve on a free 127.0.0.1 port and waits until health
// says SERVING. The port is found by listening on :0 and closing, so another
// process can take it meanwhile; then serve fails and another port is tried.
func startServe(t *testing.T, bin, db, tokens string) *serveProc {
	t.Helper()
	for attempt := 1; attempt <= 5; attempt++ {
		p, err := launchServe(t, bin, db, tokens)
		if errors.Is(err, errPortTaken) {
			t.Logf("serve attempt %d: %v; trying another port", attempt, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatal("serve: no free port after 5 attempts")
	return nil
}

func launchServe(t *testing.T, bin, db, tokens string) (*serveProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--db", db, "--listen", addr, "--tokens", tokens, "--log-level", "warn")
	cmd.Env = hermeticEnv()
	p := &serveProc{addr: addr, cmd: cmd, exited: make(chan struct{}), output: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start serve: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill(t) })
	if err := p.waitServing(20 * time.Second); err != nil {
		p.kill(t)
		if strings.Contains(p.output.String(), "address already in use") {
			return nil, fmt.Errorf("%s: %w", addr, errPortTaken)
		}
		return nil, fmt.Errorf("serve on %s: %w\noutput:\n%s", addr, err, p.output)
	}
	return p, nil
}

// hermeticEnv is the test's environment without COMPUTESCALE_ variables,
// which serve would read as flags.
func hermeticEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMPUTESCALE_") {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitServing polls the health service until SERVING, the process exits or
// limit passes. Reconnects back off from 50 ms, not gRPC's default 1 s.
func (p *serveProc) waitServing(limit time.Duration) error {
	c, err := client.New(p.addr, client.WithDialOptions(grpc.WithConnectParams(grpc.ConnectParams{
		Backoff: backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, MaxDelay: 500 * time.Millisecond},
	})))
	if err != nil {
		return err
	}
	defer c.Close()
	health := healthpb.NewHealthClient(c.Conn())
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("serve exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not SERVING within %v", limit)
}

// kill sends SIGKILL and waits for the process to be gone, so that its file
// lock is released. Killing an exited process is a no-op.
func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("serve pid %d still running 10s after SIGKILL", p.cmd.Process.Pid)
	}
}

// syncBuffer collects a child's output; exec copies into it from its own
// goroutine while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
