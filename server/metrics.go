package server

import (
	"runtime"
	"runtime/debug"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"

	"github.com/computescale/computescale/store"
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
	// uncertaintySeconds times rank-uncertainty analyses, by who asked:
	// "worker" (kept current) or "request" (computed for a call).
	uncertaintySeconds *prometheus.HistogramVec
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
		uncertaintySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "computescale_uncertainty_analysis_seconds", Help: "Wall time of a rank-uncertainty analysis, by who asked (worker or request).",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
		}, []string{"by"}),
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.registry.MustRegister(m.unary, m.stream, m.ingested, m.rejected, m.batches, m.commitSeconds, m.uncertaintySeconds, buildInfo(),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "computescale_uncertainty_kept_total",
			Help: "Rank-uncertainty analyses kept current (by the worker, or for a default request)."},
			func() float64 { return float64(s.uncertainty.kept.Load()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("computescale_watch_subscribers", "Live watch streams.", func() float64 { return float64(s.hub.subscribers()) }),
		gauge("computescale_watch_max_lag_revisions", "Largest gap between the newest revision and what a live watcher was sent.",
			func() float64 { return float64(s.hub.maxLag()) }),
		storeCollector{s.store},
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

// storeCollector reports store.Stats, read once per scrape. The bbolt
// figures keep their names; another store implementation reports those of
// its local view.
type storeCollector struct{ store store.Store }

type storeMetric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(store.Stats) float64
}

var storeMetrics = func() []storeMetric {
	m := func(name, help string, kind prometheus.ValueType, value func(store.Stats) float64) storeMetric {
		return storeMetric{prometheus.NewDesc(name, help, nil, nil), kind, value}
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return []storeMetric{
		m("computescale_revision", "The store's current revision.", g, func(st store.Stats) float64 { return float64(st.Revision) }),
		m("computescale_changelog_entries", "Revisions retained in the change log (watch history).", g,
			func(st store.Stats) float64 { return float64(st.ChangeLogEntries) }),
		m("computescale_changefeed_window", "Recent changes the store serves subscribers from memory.", g,
			func(st store.Stats) float64 { return float64(st.FeedChanges) }),
		m("computescale_bbolt_file_bytes", "Size of the bbolt file.", g, func(st store.Stats) float64 { return float64(st.FileBytes) }),
		m("computescale_bbolt_open_read_tx", "Open bbolt read transactions.", g, func(st store.Stats) float64 { return float64(st.ReadTxOpen) }),
		m("computescale_bbolt_read_tx_total", "bbolt read transactions started.", c, func(st store.Stats) float64 { return float64(st.ReadTxs) }),
		m("computescale_bbolt_page_writes_total", "Pages written by bbolt commits.", c, func(st store.Stats) float64 { return float64(st.PageWrites) }),
		m("computescale_bbolt_write_seconds_total", "Time bbolt spent writing pages.", c, func(st store.Stats) float64 { return st.WriteTime.Seconds() }),
		m("computescale_bbolt_spill_seconds_total", "Time bbolt spent rebalancing and spilling nodes.", c,
			func(st store.Stats) float64 { return st.SpillTime.Seconds() }),
		m("computescale_bbolt_free_pages", "Free pages in the bbolt file.", g, func(st store.Stats) float64 { return float64(st.FreePages) }),
		m("computescale_commit_groups_total", "Transactions the shipment committer ran (each commits one or more batches).", c,
			func(st store.Stats) float64 { return float64(st.CommitGroups) }),
		m("computescale_commit_group_batches_total", "Shipment batches committed in those transactions; divided by the groups, the mean group size.", c,
			func(st store.Stats) float64 { return float64(st.CommitGroupBatches) }),
	}
}()

func (storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range storeMetrics {
		ch <- m.desc
	}
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.store.Stats()
	for _, m := range storeMetrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(st))
	}
}
