package server_test

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

func TestIngestRateLimit(t *testing.T) {
	e := newEnvWith(t, func(e *env) {
		e.limits = server.Limits{IngestRecordsPerSecond: 0.001, MaxIngestWait: 1}
	})
	e.putChips()
	// The burst admits one full batch at once; the next record must wait
	// about 1000 s, over MaxIngestWait, so its batch is refused with
	// RESOURCE_EXHAUSTED and nothing of it is stored.
	var full []*pb.ShipmentRecord
	for i := range testMaxBatch {
		full = append(full, general("f"+itoa(i), "CN-BJ", 2024, 0, 1))
	}
	first := e.ingest(e.vendorA, false, full...)
	second := e.ingest(e.vendorA, false, general("r2", "CN-BJ", 2024, 0, 1))
	if first.Err != nil || status.Code(second.Err) != codes.ResourceExhausted {
		t.Fatalf("first %v, second %v", first.Err, second.Err)
	}
	bj, _ := e.reader.ProvinceCompute(ctx(t), "CN-BJ", 2024, 0)
	if bj.GetRecordCount() != testMaxBatch {
		t.Errorf("records = %d, want %d", bj.GetRecordCount(), testMaxBatch)
	}
	// Another caller has its own bucket.
	if b := e.ingest(e.vendorB, false, general("r1", "CN-BJ", 2024, 0, 1)); b.Err != nil {
		t.Errorf("vendor B throttled by vendor A's use: %v", b.Err)
	}
}

func TestCallRateLimit(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.limits = server.Limits{CallsPerSecond: 0.001} })
	if _, err := e.reader.NationalCompute(ctx(t), 2024, 0); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err := e.reader.NationalCompute(ctx(t), 2024, 0)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("second call: %v, want ResourceExhausted", err)
	}
	// Health probes are not rate limited (they carry no caller).
	for range 3 {
		if _, err := healthpb.NewHealthClient(e.reader.Conn()).Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("health: %v", err)
		}
	}
}

func TestRecvMessageLimit(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.maxBatch, e.maxRecv = 1_000_000, 1<<20 })
	e.putChips()
	// A batch over the 1 MiB message limit set here: gRPC refuses the
	// message itself with RESOURCE_EXHAUSTED and the stream ends.
	recs := make([]*pb.ShipmentRecord, 0, 10_000)
	note := strings.Repeat("x", 200)
	for i := range 10_000 {
		r := general("big-"+itoa(i), "CN-BJ", 2024, 0, 1)
		r.Note = note
		recs = append(recs, r)
	}
	_, err := e.vendorA.IngestShipments(ctx(t), recs, client.IngestOptions{BatchSize: len(recs)})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized message: %v, want ResourceExhausted", err)
	}
	bj, _ := e.reader.ProvinceCompute(ctx(t), "CN-BJ", 2024, 0)
	if bj.GetRecordCount() != 0 {
		t.Errorf("records stored from an oversized message: %d", bj.GetRecordCount())
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
