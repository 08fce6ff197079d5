package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/computescale/computescale/etcdstore"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
	"github.com/computescale/computescale/web"
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
	logFlush      time.Duration // 0: every line written at once
	shutdownGrace time.Duration

	tlsCert, tlsKey, clientCA string
	tlsReload                 time.Duration
	metricsListen             string
	pprof                     bool
	checkOnStart              bool
	httpListen                string

	maxStreams     uint32
	callsPerSecond float64
	ingestRate     float64

	watchBuffer      int
	progressInterval time.Duration
	watchRetention   uint64

	// etcdEndpoints switches on cluster mode: etcd holds the data and --db
	// is this node's materialised view of it (etcdstore).
	etcdEndpoints []string
	etcdPrefix    string

	keepUncertainty bool
}

func (c *serveConfig) register(cmd *cobra.Command, defaultDB, defaultHTTP string) {
	f := cmd.Flags()
	f.StringVar(&c.db, "db", defaultDB, "bbolt database file (created if missing)")
	f.StringVar(&c.listen, "listen", "127.0.0.1:7443", "gRPC listen address")
	f.BoolVar(&c.checkOnStart, "check-on-start", false, "run bbolt's page check over the whole file before serving and refuse to start if a page is damaged (reads every page once)")
	f.StringVar(&c.tokens, "tokens", "", "token file: lines of ROLE NAME TOKEN (TOKEN may be sha256:HEX); reloaded on SIGHUP")
	f.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key, serve TLS instead of plaintext")
	f.StringVar(&c.tlsKey, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&c.clientCA, "client-ca", "", "CA bundle (PEM) to require and verify client certificates (mTLS)")
	f.DurationVar(&c.tlsReload, "tls-reload-interval", time.Minute, "how often the TLS certificate, key and client CA files are re-read, so renewed ones are used without a restart (they must share a directory)")
	f.StringVar(&c.metricsListen, "metrics-listen", "", "serve Prometheus /metrics on this address; off when empty")
	f.BoolVar(&c.pprof, "pprof", false, "also serve /debug/pprof/ on the --metrics-listen address (profiles expose internals and cost CPU, so off by default)")
	f.StringVar(&c.httpListen, "http-listen", defaultHTTP, "serve the read-only web dashboard on this address (same tokens); off when empty")
	f.IntVar(&c.maxBatch, "max-batch", server.DefaultMaxBatchRecords, "most records or observations in one ingest batch")
	f.IntVar(&c.maxRecv, "max-recv-bytes", server.DefaultMaxRecvMsgBytes, "largest request message in bytes")
	f.Uint32Var(&c.maxStreams, "max-streams", 256, "most concurrent streams per connection")
	f.Float64Var(&c.callsPerSecond, "calls-per-second", 0, "RPCs (and stream opens) per caller per second; 0 = unlimited")
	f.Float64Var(&c.ingestRate, "ingest-rate", 0, "records and observations per caller per second; 0 = unlimited")
	f.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.DurationVar(&c.logFlush, "log-flush-interval", 100*time.Millisecond,
		"buffer log lines and write them out this often (errors, a full buffer and shutdown write at once); 0 writes every line as it comes")
	f.DurationVar(&c.shutdownGrace, "shutdown-grace", 10*time.Second, "how long a graceful stop may take before calls are cut")
	f.IntVar(&c.watchBuffer, "watch-buffer", 256, "responses a watcher may fall behind before it is cut off")
	f.DurationVar(&c.progressInterval, "watch-progress-interval", 10*time.Second, "how often idle watches with progress_notify hear the revision")
	f.Uint64Var(&c.watchRetention, "watch-retention", 1_000_000, "revisions of watch history kept (0 = all)")
	f.StringSliceVar(&c.etcdEndpoints, "etcd-endpoints", nil,
		"cluster mode: etcd client URLs (http://host:2379,...); etcd holds the data and --db becomes this node's view of it")
	f.StringVar(&c.etcdPrefix, "etcd-prefix", "/computescale/", "cluster mode: the etcd key prefix of this deployment")
	f.BoolVar(&c.keepUncertainty, "keep-uncertainty", true, "keep each touched year's default rank-uncertainty analysis current in the background after writes (off: computed on demand only)")
}

// logger builds the server's logger on w. With --log-flush-interval the
// lines are buffered (logWriter); closeFn, never nil, flushes them and must run
// last, after the final line.
func (c *serveConfig) logger(w io.Writer) (log *slog.Logger, closeFn func() error, err error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, nil, fmt.Errorf("--log-level: %w", err)
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	closeFn = func() error { return nil }
	var lw *logWriter
	if c.logFlush > 0 {
		lw = newLogWriter(w, c.logFlush)
		w, closeFn = lw, lw.Close
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.logFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if lw != nil {
		h = flushOnError{h, lw}
	}
	return slog.New(h), closeFn, nil
}

// credentials returns the transport credentials the TLS flags ask for, and
// a stop for their file reloading (never nil).
func (c *serveConfig) credentials() ([]grpc.ServerOption, func(), error) {
	if c.tlsCert == "" && c.tlsKey == "" {
		if c.clientCA != "" {
			return nil, nil, errors.New("--client-ca needs --tls-cert and --tls-key")
		}
		return nil, func() {}, nil
	}
	if c.tlsReload <= 0 {
		return nil, nil, errors.New("--tls-reload-interval must be positive")
	}
	cfg, stop, err := reloadingTLS(c.tlsCert, c.tlsKey, c.clientCA, c.tlsReload)
	if err != nil {
		return nil, nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}, stop, nil
}

func newServeCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gRPC server on a bbolt database",
		Long: `serve runs the gRPC server. Every flag can also come from the environment
(COMPUTESCALE_ and the flag name in capitals with _ for -, e.g. COMPUTESCALE_LISTEN)
or from a JSON config file (--config FILE, keys are flag names); a flag on the
command line wins over the environment, which wins over the file. SIGHUP reloads
the token file without dropping streams; SIGTERM drains and stops.`,
		Args: cobra.NoArgs,
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
			m.log.Info("serving", slog.String("addr", m.Addr()), slog.String("db", cfg.db), slog.Bool("tls", cfg.tlsCert != ""))
			stopReload := m.reloadTokensOnHUP(tokens)
			defer stopReload()
			<-cmd.Context().Done()
			m.log.Info("draining")
			return m.Close()
		},
	}
	cfg.register(cmd, "computescale.db", "")
	return cmd
}

// storeCloser is the store a server runs on, single-node or cluster.
type storeCloser interface {
	store.Store
	CheckPages() error
	Close() error
}

// openStore opens the bbolt store, or in cluster mode this node's view of
// the etcd cluster (which waits until the view has caught up with etcd).
func openStore(cfg serveConfig, log *slog.Logger) (storeCloser, error) {
	if len(cfg.etcdEndpoints) == 0 {
		db, err := store.Open(cfg.db, store.Options{})
		if err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
		return db, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := etcdstore.Open(ctx, etcdstore.Options{
		Endpoints: cfg.etcdEndpoints, Prefix: cfg.etcdPrefix, Path: cfg.db, Log: log,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster mode: %w", err)
	}
	return s, nil
}

// serverMain is a running server: database, listeners and gRPC server.
type serverMain struct {
	cfg         serveConfig
	log         *slog.Logger
	closeLog    func() error // flushes buffered lines; Close runs it last
	db          storeCloser
	srv         *server.Server
	grpc        *grpc.Server
	lis         net.Listener
	done        chan error
	metrics     *http.Server
	metricsAddr string
	web         *web.Handler
	webHTTP     *http.Server
	webAddr     string
}

func startServer(cfg serveConfig, tokens *server.Tokens) (*serverMain, error) {
	log, closeLog, err := cfg.logger(os.Stderr)
	if err != nil {
		return nil, err
	}
	if cfg.pprof && cfg.metricsListen == "" {
		closeLog()
		return nil, errors.New("--pprof needs --metrics-listen: the profiles are served on the metrics address, never on the gRPC or dashboard port")
	}
	creds, stopTLS, err := cfg.credentials()
	if err != nil {
		closeLog()
		return nil, err
	}
	// The certificate files' polling ends with the server, as the log does.
	flushLog := closeLog
	closeLog = func() error { stopTLS(); return flushLog() }
	db, err := openStore(cfg, log)
	if err != nil {
		closeLog()
		return nil, err
	}
	if cfg.checkOnStart {
		start := time.Now()
		if err := db.CheckPages(); err != nil {
			db.Close()
			closeLog()
			return nil, fmt.Errorf("--check-on-start: %s: %w; not serving (restore a backup, or start without --check-on-start to read what is still readable)", cfg.db, err)
		}
		log.Info("page check passed", slog.String("db", cfg.db), slog.Duration("took", time.Since(start)))
	}
	srv, err := server.New(server.Config{
		Store: db, Tokens: tokens, Logger: log,
		MaxBatchRecords: cfg.maxBatch, MaxRecvMsgBytes: cfg.maxRecv,
		WatchBuffer: cfg.watchBuffer, ProgressInterval: cfg.progressInterval, WatchRetention: cfg.watchRetention,
		KeepUncertainty: cfg.keepUncertainty,
		Limits:          server.Limits{MaxConcurrentStreams: cfg.maxStreams, CallsPerSecond: cfg.callsPerSecond, IngestRecordsPerSecond: cfg.ingestRate},
	})
	if err != nil {
		db.Close()
		closeLog()
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		srv.Close()
		db.Close()
		closeLog()
		return nil, fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	m := &serverMain{cfg: cfg, log: log, closeLog: closeLog, db: db, srv: srv, grpc: srv.GRPCServer(creds...), lis: lis, done: make(chan error, 1)}
	if cfg.metricsListen != "" {
		if err := m.serveMetrics(); err != nil {
			m.abort()
			return nil, err
		}
	}
	if cfg.httpListen != "" {
		if err := m.serveWeb(tokens); err != nil {
			m.abort()
			return nil, err
		}
	}
	go func() { m.done <- m.grpc.Serve(lis) }()
	srv.SetServing(true)
	return m, nil
}

// serveMetrics exposes /metrics, and with --pprof the pprof handlers, on
// their own listener, never on the gRPC port.
func (m *serverMain) serveMetrics() error {
	lis, err := net.Listen("tcp", m.cfg.metricsListen)
	if err != nil {
		return fmt.Errorf("metrics listen on %s: %w", m.cfg.metricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.srv.Registry(), promhttp.HandlerOpts{}))
	if m.cfg.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	m.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := m.metrics.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("metrics server", slog.Any("error", err))
		}
	}()
	m.metricsAddr = lis.Addr().String()
	m.log.Info("metrics", slog.String("addr", m.metricsAddr), slog.Bool("pprof", m.cfg.pprof))
	return nil
}

// serveWeb runs the dashboard on its own listener. It reads through the
// same handler methods as gRPC, in process, with the same tokens.
func (m *serverMain) serveWeb(tokens *server.Tokens) error {
	lis, err := net.Listen("tcp", m.cfg.httpListen)
	if err != nil {
		return fmt.Errorf("http listen on %s: %w", m.cfg.httpListen, err)
	}
	m.web = web.New(web.Config{Server: m.srv, Tokens: tokens, Logger: m.log})
	m.webHTTP = &http.Server{Handler: m.web, ReadHeaderTimeout: 10 * time.Second}
	m.webAddr = lis.Addr().String()
	go func() {
		if err := m.webHTTP.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("dashboard server", slog.Any("error", err))
		}
	}()
	m.log.Info("dashboard", slog.String("addr", m.webAddr))
	return nil
}

// reloadTokensOnHUP swaps in the token file's new content on SIGHUP. Calls
// already authenticated (open streams) are untouched; a file that does not
// parse is logged and the old tokens stay.
func (m *serverMain) reloadTokensOnHUP(tokens *server.Tokens) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				fresh, err := server.LoadTokens(m.cfg.tokens)
				if err != nil {
					m.log.Error("token reload failed; keeping the old tokens", slog.Any("error", err))
					continue
				}
				tokens.Replace(fresh)
				m.log.Info("tokens reloaded", slog.Int("entries", fresh.Len()))
			}
		}
	}()
	return func() { signal.Stop(hup); close(done) }
}

// abort undoes a startServer that failed before grpc.Serve ran: Close would
// wait for Serve to return, and GracefulStop closes only the listeners Serve
// was given.
func (m *serverMain) abort() {
	m.done <- nil
	m.lis.Close()
	m.Close()
}

// Addr is the address actually listened on (useful with port 0).
func (m *serverMain) Addr() string { return m.lis.Addr().String() }

// Close drains: health goes NOT_SERVING, watch streams end with Unavailable
// (clients resume elsewhere or later), in-flight calls finish and their acks
// go out, and after the grace period whatever is left is cut. The database
// closes last, so no acknowledged write is ever interrupted.
func (m *serverMain) Close() error {
	m.srv.Close()
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if m.web != nil {
		m.web.Close() // event streams end, so Shutdown need not wait for them
		m.webHTTP.Shutdown(ctx)
	}
	if m.metrics != nil {
		m.metrics.Shutdown(ctx)
	}
	err := m.db.Close()
	m.closeLog()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}
