package server_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// The server's tests, one file per source file: x_test.go holds the tests of
// x.go that go through a real server on 127.0.0.1 and the generated client
// (package server_test), x_internal_test.go those that need the package's
// insides (package server). This file is the harness of the first kind
// (server start and restart, clients, tokens, fixtures, watch recorders);
// harness_internal_test.go is that of the second, and export_test.go what it
// exports to the first. Benchmarks sit beside the tests of what they measure.

// Tokens of the test callers; each at least 16 characters as the token file
// requires.
const (
	adminToken   = "admin-token-0123456789"
	readerToken  = "reader-token-0123456789"
	vendorAToken = "vendor-a-token-0123456789"
	vendorBToken = "vendor-b-token-0123456789"
	statToken    = "statistician-token-0123456789"
)

// env is a real server on 127.0.0.1 with a real bbolt file in a temp dir.
type env struct {
	t       testing.TB
	addr    string
	dbPath  string
	db      *store.DB
	st      store.Store // what the server uses: db, or wrap(db)
	srv     *server.Server
	grpc    *grpc.Server
	admin   *client.Client
	reader  *client.Client
	vendorA *client.Client
	vendorB *client.Client
	stat    *client.Client // the statistician: puts observations

	maxBatch    int
	watchBuffer int
	limits      server.Limits               // set before start by variants
	serverOpts  []grpc.ServerOption         // e.g. TLS credentials
	tokens      *server.Tokens              // nil: the four test callers
	wrap        func(*store.DB) store.Store // another implementation of the contract over db
	maxRecv     int                         // 0: the server's default
	// keepUncertainty runs the rank-uncertainty worker (off by default:
	// it would analyse after every test's writes).
	keepUncertainty bool
}

const testMaxBatch = 50

func newEnv(t testing.TB) *env { return newEnvBatch(t, testMaxBatch) }

// newEnvBatch is newEnv with another batch limit (benchmarks use 1,000).
func newEnvBatch(t testing.TB, maxBatch int) *env {
	return newEnvWith(t, func(e *env) { e.maxBatch = maxBatch })
}

// newEnvWith lets a test set the env's fields (limits, TLS, buffers) before
// the server starts. Clients dial in plaintext; TLS tests dial their own.
func newEnvWith(t testing.TB, configure func(*env)) *env {
	t.Helper()
	e := &env{t: t, dbPath: filepath.Join(t.TempDir(), "test.db"), maxBatch: testMaxBatch}
	configure(e)
	e.start("127.0.0.1:0")
	if e.serverOpts == nil {
		e.admin = e.dial(adminToken)
		e.reader = e.dial(readerToken)
		e.vendorA = e.dial(vendorAToken)
		e.vendorB = e.dial(vendorBToken)
		e.stat = e.dial(statToken)
	}
	t.Cleanup(e.stop)
	return e
}

func (e *env) start(addr string) {
	e.t.Helper()
	db, err := store.Open(e.dbPath, store.Options{})
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	tokens := e.tokens
	if tokens == nil {
		tokens = server.NewTokens()
		tokens.Add(adminToken, server.Identity{Name: "admin", Role: server.RoleAdmin})
		tokens.Add(readerToken, server.Identity{Name: "reader", Role: server.RoleReader})
		tokens.Add(vendorAToken, server.Identity{Name: "vendor-a", Role: server.RoleVendor})
		tokens.Add(vendorBToken, server.Identity{Name: "vendor-b", Role: server.RoleVendor})
		tokens.Add(statToken, server.Identity{Name: "nbs", Role: server.RoleStatistician})
	}
	e.st = db
	if e.wrap != nil {
		e.st = e.wrap(db)
	}
	srv, err := server.New(server.Config{
		Store: e.st, Tokens: tokens, MaxBatchRecords: e.maxBatch, MaxRecvMsgBytes: e.maxRecv,
		Now:              func() time.Time { return time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) },
		ProgressInterval: 200 * time.Millisecond, WatchBuffer: e.watchBuffer, Limits: e.limits,
		KeepUncertainty: e.keepUncertainty,
	})
	if err != nil {
		e.t.Fatalf("server: %v", err)
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		e.t.Fatalf("listen: %v", err)
	}
	e.addr, e.db, e.srv, e.grpc = lis.Addr().String(), db, srv, srv.GRPCServer(e.serverOpts...)
	go e.grpc.Serve(lis)
	srv.SetServing(true)
}

// stop ends the server hard (as a crash would, minus the process), closes
// the file (which waits for a write still in flight), then reopens it alone
// and runs Verify, which includes bbolt's consistency check.
func (e *env) stop() {
	if e.grpc == nil {
		return
	}
	e.srv.Close()
	e.grpc.Stop()
	e.grpc = nil
	if err := e.db.Close(); err != nil {
		e.t.Errorf("close store: %v", err)
	}
	db, err := store.Open(e.dbPath, store.Options{})
	if err != nil {
		e.t.Errorf("reopen store: %v", err)
		return
	}
	defer db.Close()
	report, err := db.Verify()
	if err != nil || len(report.Mismatches) > 0 || len(report.CheckErrors) > 0 {
		e.t.Errorf("verify on stop: err=%v report=%+v", err, report)
	}
}

// restart stops the server and starts it again on the same address and file.
func (e *env) restart() {
	addr := e.addr
	e.stop()
	e.start(addr)
}

func (e *env) dial(token string) *client.Client {
	e.t.Helper()
	c, err := client.New(e.addr, client.WithToken(token))
	if err != nil {
		e.t.Fatalf("client: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// Specs with hand-checkable figures (issue 2's examples).
func xeon8480() *pb.ChipSpec {
	return &pb.ChipSpec{
		Id: "intel-xeon-8480p", Vendor: "Intel", Model: "Xeon Platinum 8480+", Kind: pb.ChipKind_CHIP_KIND_CPU,
		Cores: 56, ClockHz: 2_000_000_000, Source: "Intel ARK; AVX-512 2×FMA",
		Rates: []*pb.PrecisionRate{
			{Precision: pb.Precision_PRECISION_FP64, Rate: &pb.PrecisionRate_FlopsPerCycle{FlopsPerCycle: 32}},
			{Precision: pb.Precision_PRECISION_FP32, Rate: &pb.PrecisionRate_FlopsPerCycle{FlopsPerCycle: 64}},
		},
	}
}

func h100() *pb.ChipSpec {
	return &pb.ChipSpec{
		Id: "nvidia-h100-sxm", Vendor: "NVIDIA", Model: "H100 SXM", Kind: pb.ChipKind_CHIP_KIND_GPU,
		Source: "NVIDIA H100 data sheet, dense",
		Rates: []*pb.PrecisionRate{
			{Precision: pb.Precision_PRECISION_FP64, Rate: &pb.PrecisionRate_PeakFlops{PeakFlops: 34e12}},
			{Precision: pb.Precision_PRECISION_FP32, Rate: &pb.PrecisionRate_PeakFlops{PeakFlops: 67e12}},
			{Precision: pb.Precision_PRECISION_FP16, Rate: &pb.PrecisionRate_PeakFlops{PeakFlops: 989e12}},
		},
	}
}

func (e *env) putChips() {
	e.t.Helper()
	for _, s := range []*pb.ChipSpec{xeon8480(), h100()} {
		if _, err := e.admin.PutChipSpec(ctx(e.t), s); err != nil {
			e.t.Fatalf("put chip: %v", err)
		}
	}
}

func general(id, province string, year, quarter, units int) *pb.ShipmentRecord {
	return &pb.ShipmentRecord{
		RecordId: id, Province: province, Period: &pb.Period{Year: int32(year), Quarter: int32(quarter)},
		ServerClass: pb.ServerClass_SERVER_CLASS_GENERAL_SERVER, Units: int64(units),
		Components: []*pb.Component{{Count: 2, Chip: &pb.Component_ChipId{ChipId: "intel-xeon-8480p"}}},
	}
}

func aiServer(id, province string, year, units int) *pb.ShipmentRecord {
	return &pb.ShipmentRecord{
		RecordId: id, Province: province, Period: &pb.Period{Year: int32(year)},
		ServerClass: pb.ServerClass_SERVER_CLASS_AI_SERVER, Units: int64(units),
		Components: []*pb.Component{
			{Count: 2, Chip: &pb.Component_ChipId{ChipId: "intel-xeon-8480p"}},
			{Count: 8, Chip: &pb.Component_ChipId{ChipId: "nvidia-h100-sxm"}},
		},
	}
}

func super(id, province string, year int, rpeak float64) *pb.ShipmentRecord {
	return &pb.ShipmentRecord{
		RecordId: id, Province: province, Period: &pb.Period{Year: int32(year)},
		ServerClass: pb.ServerClass_SERVER_CLASS_SUPERCOMPUTER, Units: 1, RpeakFp64Flops: rpeak,
	}
}

// ingest sends recs as one batch and returns the ack.
func (e *env) ingest(c *client.Client, replace bool, recs ...*pb.ShipmentRecord) client.BatchResult {
	e.t.Helper()
	var got client.BatchResult
	sum, err := c.IngestShipments(ctx(e.t), recs, client.IngestOptions{BatchSize: len(recs) + 1, Replace: replace, OnAck: func(b client.BatchResult) { got = b }})
	if err != nil {
		e.t.Fatalf("ingest: %v", err)
	}
	if sum.Batches != 1 {
		e.t.Fatalf("ingest: %d batches, want 1", sum.Batches)
	}
	return got
}

func clientOpts(batch int) client.IngestOptions { return client.IngestOptions{BatchSize: batch} }

// observation builds an observation in its indicator's unit.
func observation(province string, year int, indicator string, value float64) *pb.Observation {
	ind, _ := estimator.LookupIndicator(indicator)
	return &pb.Observation{Province: province, Year: int32(year), Indicator: indicator, Value: value,
		Unit: ind.Unit, Source: "hand-made test value"}
}

// putObs sends obs as one PutObservations batch and returns the ack.
func (e *env) putObs(c *client.Client, replace bool, obs ...*pb.Observation) client.BatchResult {
	e.t.Helper()
	var got client.BatchResult
	sum, err := c.PutObservations(ctx(e.t), obs, client.IngestOptions{BatchSize: len(obs) + 1, Replace: replace,
		OnAck: func(b client.BatchResult) { got = b }})
	if err != nil {
		e.t.Fatalf("put observations: %v", err)
	}
	if sum.Batches != 1 {
		e.t.Fatalf("put observations: %d batches, want 1", sum.Batches)
	}
	return got
}

// score returns one province's index, failing the test on error.
func (e *env) score(province string, year int, version uint64) *pb.IndexScore {
	e.t.Helper()
	s, err := e.reader.Index(ctx(e.t), province, year, version)
	if err != nil {
		e.t.Fatalf("index of %s in %d (methodology %d): %v", province, year, version, err)
	}
	return s
}

// unitEFlops is one general server of general(): two Xeon 8480+ at FP32,
// 2 × 56 cores × 2 GHz × 64 FLOPs/cycle = 14.336 TFLOPS, in EFlops.
const unitEFlops = 2 * 56 * 2e9 * 64 / 1e18

// handMethodology weighs three leaves, one in each of three dimensions,
// with explicit weights and five-year targets, so that every score of
// TestIndexHandCalculation can be worked by hand:
//
//	scale.basic       weight 0.2, target 2000 servers' worth (0.028672 EFlops)
//	industry.devices  weight 0.5, target 200 (10^4 units)
//	tech.rnd          weight 0.3, target 400 (10^8 CNY)
//
// A score needs 60 % of the weight; the first tier is above 54 and the
// second runs to rank 2.
func handMethodology() *pb.Methodology {
	return &pb.Methodology{
		Description: "hand-checked: three leaves, explicit weights and targets",
		Hierarchy: &pb.WeightNode{Code: "index", Weights: []float64{0.2, 0.5, 0.3}, Children: []*pb.WeightNode{
			{Code: "scale.basic"}, {Code: "industry.devices"}, {Code: "tech.rnd"}}},
		Normalization: &pb.Normalization{Method: pb.NormalizationMethod_NORMALIZATION_METHOD_TARGET,
			Indicators: []*pb.IndicatorNormalization{
				{Indicator: "scale.basic", Target: 2000 * unitEFlops},
				{Indicator: "industry.devices", Target: 200},
				{Indicator: "tech.rnd", Target: 400},
			}},
		CoverageThreshold: 0.6, FirstTierAbove: 54, SecondTierMaxRank: 2,
	}
}

// cyclicMatrix is as inconsistent as a 3 × 3 matrix gets: a beats b, b beats
// c and c beats a, each by 9. Its weights are equal and its CR is about 6.
func cyclicMatrix() *pb.PairwiseMatrix {
	return &pb.PairwiseMatrix{Rows: []*pb.MatrixRow{
		{Values: []float64{1, 9, 1.0 / 9}}, {Values: []float64{1.0 / 9, 1, 9}}, {Values: []float64{9, 1.0 / 9, 1}}}}
}

// indexDim returns a score's sub-index of one dimension.
func indexDim(s *pb.IndexScore, code string) *pb.DimensionScore {
	for _, d := range s.GetDimensions() {
		if d.GetDimension() == code {
			return d
		}
	}
	return nil
}

// indexLeaf returns a score's leaf of one indicator.
func indexLeaf(s *pb.IndexScore, code string) *pb.LeafScore {
	for _, l := range s.GetLeaves() {
		if l.GetIndicator() == code {
			return l
		}
	}
	return nil
}

// Helpers of the watch tests: raw streams recorded in memory, a concurrent
// ingest load, and the expected sequence rebuilt from the change log.

// newWatchEnv is newEnv with a watcher buffer of buffer responses.
func newWatchEnv(t testing.TB, buffer int) *env {
	return newEnvWith(t, func(e *env) { e.watchBuffer = buffer })
}

func watchStub(c *client.Client) pb.WatchServiceClient { return pb.NewWatchServiceClient(c.Conn()) }

// waitFor bounds every wait of these tests; nothing is timed, only bounded.
const waitFor = 20 * time.Second

// recorder keeps a raw stream's responses until it has seen a response at or
// past target (set once the load is done; progress notifications carry an
// idle stream there).
type recorder struct {
	name  string
	req   *pb.WatchRequest
	after uint64 // the stream delivers revisions above this one
	resps []*pb.WatchResponse
	err   error
	done  chan struct{}
}

func (e *env) record(c *client.Client, name string, req *pb.WatchRequest, target *atomic.Uint64) *recorder {
	e.t.Helper()
	req.ProgressNotify = true
	st, err := watchStub(c).Watch(ctx(e.t), req)
	if err != nil {
		e.t.Fatalf("%s: watch: %v", name, err)
	}
	r := &recorder{name: name, req: req, after: startAfter(e.t, st), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			resp, err := st.Recv()
			if err != nil {
				r.err = err
				return
			}
			r.resps = append(r.resps, resp)
			if t := target.Load(); t > 0 && resp.GetRevision() >= t && !resp.GetFragment() {
				return
			}
		}
	}()
	return r
}

// wait returns once the recorder stopped, failing the test if it does not
// within waitFor or if its stream failed.
func (r *recorder) wait(t testing.TB) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(waitFor):
		t.Fatalf("%s: not done after %v (%d responses)", r.name, waitFor, len(r.resps))
	}
	if r.err != nil {
		t.Fatalf("%s: stream ended: %v", r.name, r.err)
	}
}

// startAfter reads the revision a stream starts after from its header.
func startAfter(t testing.TB, st grpc.ClientStream) uint64 {
	t.Helper()
	md, err := st.Header()
	if err != nil {
		t.Fatalf("watch header: %v", err)
	}
	v := md.Get(server.StartAfterHeader)
	if len(v) != 1 {
		t.Fatalf("watch header lacks %s: %v", server.StartAfterHeader, md)
	}
	after, err := strconv.ParseUint(v[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return after
}

// expected is the event sequence a watch of req starting after after should
// deliver, read from the change log now.
func (e *env) expected(req *pb.WatchRequest, after uint64) []*pb.Event {
	e.t.Helper()
	changes, err := e.st.Changes(after+1, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	want, err := server.WatchExpected(changes, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return want
}

// checkStream checks a raw stream's responses, read after revision after:
// positions never go back, a fragment holds one revision, no event is at or
// below a revision already completed (no duplicate), and the events are want
// (no gap, nothing extra). It returns the events.
func checkStream(t testing.TB, name string, after uint64, resps []*pb.WatchResponse, want []*pb.Event) {
	t.Helper()
	complete := after
	var got []*pb.Event
	for i, r := range resps {
		if r.GetProgressNotify() {
			if len(r.GetEvents()) > 0 || r.GetRevision() < complete {
				t.Fatalf("%s: response %d: progress at %d with %d events after %d was complete", name, i, r.GetRevision(), len(r.GetEvents()), complete)
			}
			complete = r.GetRevision()
			continue
		}
		if len(r.GetEvents()) == 0 {
			t.Fatalf("%s: response %d at %d has no events", name, i, r.GetRevision())
		}
		prev := complete
		for _, ev := range r.GetEvents() {
			rev := ev.GetRevision()
			if rev <= complete || rev < prev || rev > r.GetRevision() || (r.GetFragment() && rev != r.GetRevision()) {
				t.Fatalf("%s: response %d (revision %d, fragment %v) holds an event of %d after %d was complete",
					name, i, r.GetRevision(), r.GetFragment(), rev, complete)
			}
			prev = rev
		}
		if !r.GetFragment() {
			complete = r.GetRevision()
		}
		got = append(got, r.GetEvents()...)
	}
	sameEvents(t, name, got, want)
}

// sameEvents compares event sequences, naming the first difference.
func sameEvents(t testing.TB, name string, got, want []*pb.Event) {
	t.Helper()
	for i := range min(len(got), len(want)) {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: event %d differs:\n got %v\nwant %v", name, i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", name, len(got), len(want))
	}
}

var loadProvinces = []string{"CN-GD", "CN-BJ", "CN-SH", "CN-ZJ", "CN-JS", "CN-SC", "CN-HB", "CN-GZ", "CN-NM"}

// loadRecords are n records of batch b of a caller, spread over provinces,
// years and classes so that filters select different subsets.
func loadRecords(tag string, b, n int) []*pb.ShipmentRecord {
	recs := make([]*pb.ShipmentRecord, n)
	for i := range recs {
		id, prov, year := fmt.Sprintf("%s-%d-%d", tag, b, i), loadProvinces[(b*7+i)%len(loadProvinces)], 2021+(b+i)%4
		if i%3 == 0 {
			recs[i] = aiServer(id, prov, year, 1+i%4)
		} else {
			recs[i] = general(id, prov, year, i%5, 1+i%9)
		}
	}
	return recs
}

// loadObservations are index inputs for every load province in 2023-2024,
// scaled by k so that a second batch (replace) changes them.
func loadObservations(k float64) []*pb.Observation {
	var out []*pb.Observation
	for i, p := range loadProvinces {
		for _, y := range []int32{2023, 2024} {
			out = append(out,
				&pb.Observation{Province: p, Year: y, Indicator: "industry.devices", Value: k * float64(10+i), Unit: "10^4 units", Source: "test"},
				&pb.Observation{Province: p, Year: y, Indicator: "tech.patent_grants", Value: k * float64(100-i), Unit: "count", Source: "test"})
		}
	}
	return out
}

// ingestLoad has vendor A, vendor B and the admin each send batches of
// perBatch records at once, and the statistician one observations batch among them.
// It returns the first error.
func (e *env) ingestLoad(tag string, batches, perBatch int, obsScale float64) error {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i, c := range []*client.Client{e.vendorA, e.vendorB, e.admin} {
		wg.Go(func() {
			var recs []*pb.ShipmentRecord
			for b := range batches {
				recs = append(recs, loadRecords(fmt.Sprintf("%s-%d", tag, i), b, perBatch)...)
			}
			sum, err := c.IngestShipments(ctx(e.t), recs, client.IngestOptions{BatchSize: perBatch, Window: 2})
			if err == nil && len(sum.Rejected) > 0 {
				err = sum.Rejected[0].Err
			}
			errs <- err
		})
	}
	if obsScale > 0 {
		wg.Go(func() { errs <- e.putObservations(e.stat, loadObservations(obsScale)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// putObservations sends obs as one replacing batch with the client helper,
// which resends it after Unavailable (a server restart).
func (e *env) putObservations(c *client.Client, obs []*pb.Observation) error {
	sum, err := c.PutObservations(ctx(e.t), obs, client.IngestOptions{BatchSize: len(obs), Replace: true})
	if err == nil && len(sum.Rejected) > 0 {
		err = sum.Rejected[0].Err
	}
	return err
}

// revision is the store's current revision.
func (e *env) revision() uint64 {
	return e.st.Revision()
}

// errorInfo returns the ErrorInfo detail of err's status, or nil.
func errorInfo(err error) *errdetails.ErrorInfo {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

// watchAll runs the client helper from start, collecting every event until
// a response reaches target; it returns the events and the helper's error.
func watchAll(c context.Context, cl *client.Client, req *pb.WatchRequest, target *atomic.Uint64, opts ...client.WatchOption) ([]*pb.Event, error) {
	var got []*pb.Event
	req.ProgressNotify = true
	err := cl.Watch(c, req, func(r *pb.WatchResponse) error {
		got = append(got, r.GetEvents()...)
		if t := target.Load(); t > 0 && r.GetRevision() >= t && !r.GetFragment() {
			return client.ErrStopWatch
		}
		return nil
	}, opts...)
	return got, err
}
