package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/computescale/computescale/server"
)

// cliServeConfig is what the CLI tests serve with: the bbolt file db, a
// port on 127.0.0.1 the kernel picks, and error logs only. Tests that need
// other limits change the copy.
func cliServeConfig(db string) serveConfig {
	return serveConfig{db: db, listen: "127.0.0.1:0", logFormat: "text", logLevel: "error",
		shutdownGrace: time.Second, maxBatch: 10000, maxRecv: 32 << 20}
}

// startCLIServer starts a server with cfg on the demo's tokens; secrets
// holds each demo role's token. The caller closes it, since some tests
// close it on purpose halfway.
func startCLIServer(t *testing.T, cfg serveConfig) (*serverMain, *server.Tokens, map[string]string) {
	t.Helper()
	tokens, secrets, err := demoTokens("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := startServer(cfg, tokens)
	if err != nil {
		t.Fatal(err)
	}
	return m, tokens, secrets
}

// demoEnv is a server loaded like the demo, with a file at dir/s.db, which
// the test's commands talk to.
type demoEnv struct {
	t       *testing.T
	dir     string
	m       *serverMain
	secrets map[string]string
}

// startDemoEnv starts a demoEnv in a fresh directory; the server closes
// when the test ends.
func startDemoEnv(t *testing.T) *demoEnv {
	t.Helper()
	dir := t.TempDir()
	m, _, secrets := startCLIServer(t, cliServeConfig(filepath.Join(dir, "s.db")))
	t.Cleanup(func() { m.Close() })
	if err := loadDemo(context.Background(), m.Addr(), secrets, io.Discard); err != nil {
		t.Fatal(err)
	}
	return &demoEnv{t: t, dir: dir, m: m, secrets: secrets}
}

// as adds the flags that send a command to the server as the demo role who.
func (e *demoEnv) as(who string, args ...string) []string {
	return append(args, "--addr", e.m.Addr(), "--token", e.secrets[who])
}

// write puts content in the file name of the env's directory and returns
// its path.
func (e *demoEnv) write(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}
