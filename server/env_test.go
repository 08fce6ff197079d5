package server_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
	"google.golang.org/grpc"
)

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
