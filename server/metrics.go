package server

import (
	"os"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
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
	m.registry.MustRegister(m.unary, m.stream, m.ingested, m.rejected, m.batches, m.commitSeconds,
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

// Registry is what --metrics-listen serves.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

// Subscribers is how many watch streams are live (for tools and benchmarks).
func (s *Server) Subscribers() int { return s.hub.subscribers() }
