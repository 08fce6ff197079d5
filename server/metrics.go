package server

import (
	"os"
	"runtime"
	"runtime/debug"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
)

// metrics are the server's Prometheus collectors, in their own registry so
// that two servers in one process (tests) never collide.
type metrics struct {
	registry *prometheus.Registry
	// RPC metrics from the go-grpc-middleware provider: the handling-time
	// histogram only for unary calls, since a stream's duration (a watch
	// lasting hours) says nothing about latency. The two instances share
	// metric names and tell themselves apart by the grpc_shape label.
	unary, stream *grpcprom.ServerMetrics

	ingested, rejected *prometheus.CounterVec // by caller and kind
	batches            *prometheus.CounterVec // committed, by kind
	commitSeconds      *prometheus.HistogramVec
}

func newMetrics(s *Server) *metrics {
	shape := func(v string) prometheus.Labels { return prometheus.Labels{"grpc_shape": v} }
	m := &metrics{
		registry: prometheus.NewRegistry(),
		unary: grpcprom.NewServerMetrics(
			grpcprom.WithServerCounterOptions(grpcprom.WithConstLabels(shape("unary"))),
			grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramConstLabels(shape("unary"))),
		),
		stream: grpcprom.NewServerMetrics(grpcprom.WithServerCounterOptions(grpcprom.WithConstLabels(shape("stream")))),
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "computescale_ingested_total", Help: "Records and observations stored or confirmed unchanged, by caller.",
		}, []string{"caller", "kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "computescale_rejected_total", Help: "Records and observations in rejected batches, by caller.",
		}, []string{"caller", "kind"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "computescale_batches_committed_total", Help: "Ingest batches acknowledged after commit.",
		}, []string{"kind"}),
		commitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "computescale_commit_seconds", Help: "Time from a batch's arrival to its fsynced commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"kind"}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	bolt := s.store.Bolt()
	m.registry.MustRegister(m.unary, m.stream, m.ingested, m.rejected, m.batches, m.commitSeconds, buildInfo(),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("computescale_revision", "The store's current revision.", func() float64 {
			rev, _ := s.store.Revision()
			return float64(rev)
		}),
		gauge("computescale_changelog_entries", "Revisions retained in the change log (watch history).", func() float64 {
			rev, _ := s.store.Revision()
			oldest, _ := s.store.OldestRevision()
			return float64(rev + 1 - oldest)
		}),
		gauge("computescale_watch_subscribers", "Live watch streams.", func() float64 { return float64(s.hub.subscribers()) }),
		gauge("computescale_watch_max_lag_revisions", "Largest gap between the newest revision and what a live watcher was sent.",
			func() float64 { return float64(s.hub.maxLag()) }),
		gauge("computescale_bbolt_file_bytes", "Size of the bbolt file.", func() float64 {
			fi, err := os.Stat(s.store.Path())
			if err != nil {
				return 0
			}
			return float64(fi.Size())
		}),
		gauge("computescale_bbolt_open_read_tx", "Open bbolt read transactions.", func() float64 { return float64(bolt.Stats().OpenTxN) }),
		counter("computescale_bbolt_read_tx_total", "bbolt read transactions started.", func() float64 { return float64(bolt.Stats().TxN) }),
		counter("computescale_bbolt_page_writes_total", "Pages written by bbolt commits.", func() float64 {
			st := bolt.Stats()
			return float64(st.TxStats.GetWrite())
		}),
		counter("computescale_bbolt_write_seconds_total", "Time bbolt spent writing pages.", func() float64 {
			st := bolt.Stats()
			return st.TxStats.GetWriteTime().Seconds()
		}),
		counter("computescale_bbolt_spill_seconds_total", "Time bbolt spent rebalancing and spilling nodes.", func() float64 {
			st := bolt.Stats()
			return st.TxStats.GetSpillTime().Seconds()
		}),
		gauge("computescale_bbolt_free_pages", "Free pages in the bbolt file.", func() float64 { return float64(bolt.Stats().FreePageN) }),
		counter("computescale_commit_groups_total", "Transactions the shipment committer ran (each commits one or more batches).", func() float64 {
			groups, _ := s.store.GroupStats()
			return float64(groups)
		}),
		counter("computescale_commit_group_batches_total", "Shipment batches committed in those transactions; divided by the groups, the mean group size.", func() float64 {
			_, batches := s.store.GroupStats()
			return float64(batches)
		}),
	)
	return m
}

// buildInfo is computescale_build_info, constant 1, whose labels say which
// build is running (the Prometheus convention for version information), so
// a dashboard can tell a rollout's old and new servers apart.
func buildInfo() prometheus.Collector {
	labels := prometheus.Labels{"version": "(devel)", "goversion": runtime.Version(), "revision": "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			labels["version"] = bi.Main.Version
		}
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && kv.Value != "" {
				labels["revision"] = kv.Value
			}
		}
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "computescale_build_info", Help: "Always 1; the labels name the running build.", ConstLabels: labels,
	}, func() float64 { return 1 })
}

// initialize creates every method's RPC series at zero before the first
// call, so that rate() and absent-series alerts work from the start instead
// of after each method's first call. Each provider instance gets only the
// methods of its shape: unary methods alone have a handling-time histogram.
func (m *metrics) initialize(g *grpc.Server) {
	m.unary.InitializeMetrics(methodsOfShape{g, false})
	m.stream.InitializeMetrics(methodsOfShape{g, true})
}

// methodsOfShape is g's service info reduced to its unary or its streaming
// methods.
type methodsOfShape struct {
	g       *grpc.Server
	streams bool
}

func (f methodsOfShape) GetServiceInfo() map[string]grpc.ServiceInfo {
	out := map[string]grpc.ServiceInfo{}
	for name, info := range f.g.GetServiceInfo() {
		var keep []grpc.MethodInfo
		for _, mi := range info.Methods {
			if (mi.IsClientStream || mi.IsServerStream) == f.streams {
				keep = append(keep, mi)
			}
		}
		out[name] = grpc.ServiceInfo{Methods: keep, Metadata: info.Metadata}
	}
	return out
}

// Registry is what --metrics-listen serves.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

// Subscribers is how many watch streams are live (for tools and benchmarks).
func (s *Server) Subscribers() int { return s.hub.subscribers() }
