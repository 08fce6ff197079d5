package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// serveConfig holds every server flag; serve and demo share it, so anything
// that can be switched on in production can be tried on the demo.
type serveConfig struct {
	db            string
	listen        string
	tokens        string
	maxBatch      int
	maxRecv       int
	logFormat     string
	logLevel      string
	shutdownGrace time.Duration

	watchBuffer      int
	progressInterval time.Duration
	watchRetention   uint64
}

func (c *serveConfig) register(cmd *cobra.Command, defaultDB string) {
	f := cmd.Flags()
	f.StringVar(&c.db, "db", defaultDB, "bbolt database file (created if missing)")
	f.StringVar(&c.listen, "listen", "127.0.0.1:7443", "gRPC listen address")
	f.StringVar(&c.tokens, "tokens", "", "token file: lines of ROLE NAME TOKEN (TOKEN may be sha256:HEX)")
	f.IntVar(&c.maxBatch, "max-batch", server.DefaultMaxBatchRecords, "most records in one ingest batch")
	f.IntVar(&c.maxRecv, "max-recv-bytes", server.DefaultMaxRecvMsgBytes, "largest request message in bytes")
	f.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.DurationVar(&c.shutdownGrace, "shutdown-grace", 10*time.Second, "how long a graceful stop may take before streams are cut")
	f.IntVar(&c.watchBuffer, "watch-buffer", 256, "responses a watcher may fall behind before it is cut off")
	f.DurationVar(&c.progressInterval, "watch-progress-interval", 10*time.Second, "how often idle watches with progress_notify hear the revision")
	f.Uint64Var(&c.watchRetention, "watch-retention", 1_000_000, "revisions of watch history kept (0 = all)")
}

func (c *serveConfig) logger(w *os.File) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
}

func newServeCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gRPC server on a bbolt database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.tokens == "" {
				return errors.New("--tokens is required: without it no caller could authenticate")
			}
			tokens, err := server.LoadTokens(cfg.tokens)
			if err != nil {
				return err
			}
			m, err := startServer(cfg, tokens)
			if err != nil {
				return err
			}
			m.log.Info("serving", slog.String("addr", m.Addr()), slog.String("db", cfg.db))
			<-cmd.Context().Done()
			return m.Close()
		},
	}
	cfg.register(cmd, "computescale.db")
	return cmd
}

// serverMain is a running server: database, listener and gRPC server.
type serverMain struct {
	cfg  serveConfig
	log  *slog.Logger
	db   *store.DB
	srv  *server.Server
	grpc *grpc.Server
	lis  net.Listener
	done chan error
}

func startServer(cfg serveConfig, tokens *server.Tokens) (*serverMain, error) {
	log, err := cfg.logger(os.Stderr)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(cfg.db, store.Options{})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	lis, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	srv, err := server.New(server.Config{
		Store: db, Tokens: tokens, Logger: log,
		MaxBatchRecords: cfg.maxBatch, MaxRecvMsgBytes: cfg.maxRecv,
		WatchBuffer: cfg.watchBuffer, ProgressInterval: cfg.progressInterval, WatchRetention: cfg.watchRetention,
	})
	if err != nil {
		lis.Close()
		db.Close()
		return nil, err
	}
	m := &serverMain{cfg: cfg, log: log, db: db, srv: srv, grpc: srv.GRPCServer(), lis: lis, done: make(chan error, 1)}
	go func() { m.done <- m.grpc.Serve(lis) }()
	srv.SetServing(true)
	return m, nil
}

// Addr is the address actually listened on (useful with port 0).
func (m *serverMain) Addr() string { return m.lis.Addr().String() }

// Close drains: health goes NOT_SERVING, in-flight calls finish and their
// acks go out, and after the grace period whatever is left is cut. The
// database closes last, so no acknowledged write is ever interrupted.
func (m *serverMain) Close() error {
	m.srv.Close() // NOT_SERVING, and watch streams end with Unavailable
	stopped := make(chan struct{})
	go func() { m.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(m.cfg.shutdownGrace):
		m.log.Warn("graceful stop timed out; cutting remaining calls")
		m.grpc.Stop()
		<-stopped
	}
	if err := <-m.done; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		m.log.Error("serve ended", slog.Any("error", err))
	}
	if err := m.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}
