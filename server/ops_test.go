package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("m1", "CN-BJ", 2024, 0, 3), general("m2", "CN-BJ", 2024, 0, 4))
	e.ingest(e.vendorA, false, general("bad", "Atlantis", 2024, 0, 3))
	if _, err := e.reader.NationalCompute(ctx(t), 2024, 0); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	mfs, err := e.srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		`computescale_ingested_total{caller="vendor-a",kind="records"} 2`,
		`computescale_rejected_total{caller="vendor-a",kind="records"} 1`,
		`computescale_batches_committed_total{kind="records"} 1`,
		`computescale_commit_seconds_count{kind="records"} 1`,
		// Two chips and one batch: three revisions, all retained, all in
		// the store's in-memory window.
		"computescale_revision 3",
		"computescale_changelog_entries 3",
		"computescale_changefeed_window 3",
		"computescale_bbolt_file_bytes ",
		"computescale_watch_subscribers 0",
		// One batch committed (the other was refused before the store), alone.
		"computescale_commit_groups_total 1",
		"computescale_commit_group_batches_total 1",
		`grpc_server_handled_total{grpc_code="OK",grpc_method="GetNationalCompute",grpc_service="computescale.v1.ComputeService",grpc_shape="unary",grpc_type="unary"} 1`,
		`grpc_server_handling_seconds_count{grpc_method="GetNationalCompute",grpc_service="computescale.v1.ComputeService",grpc_shape="unary",grpc_type="unary"} 1`,
		`grpc_server_started_total{grpc_method="IngestShipments",grpc_service="computescale.v1.IngestService",grpc_shape="stream",grpc_type="bidi_stream"} 2`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Streams get no handling-time histogram: only unary calls do.
	if strings.Contains(text.String(), `grpc_server_handling_seconds_count{grpc_method="IngestShipments"`) {
		t.Error("a handling-time histogram for a stream")
	}
	// Tokens never appear in metrics (nor in logs: the logger sees names only).
	if strings.Contains(text.String(), vendorAToken) {
		t.Error("a token in the metrics")
	}
}

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

func TestHealthFollowsLifecycle(t *testing.T) {
	e := newEnv(t)
	h := healthpb.NewHealthClient(e.reader.Conn())
	check := func(svc string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := h.Check(ctx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health %q: %v", svc, err)
		}
		return resp.GetStatus()
	}
	if check("") != healthpb.HealthCheckResponse_SERVING || check("computescale.v1.IngestService") != healthpb.HealthCheckResponse_SERVING {
		t.Fatal("not SERVING after start")
	}
	e.srv.SetServing(false) // what Close does first when draining
	if check("") != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Error("still SERVING while draining")
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

// TestMetricsFromStart: before any call, every method already has its
// series at zero (InitializeMetrics), unary ones with a histogram and
// streaming ones without, and computescale_build_info names the build.
func TestMetricsFromStart(t *testing.T) {
	e := newEnv(t)
	var text strings.Builder
	mfs, err := e.srv.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{
		`grpc_server_handled_total{grpc_code="OK",grpc_method="GetIndex",grpc_service="computescale.v1.IndexService",grpc_shape="unary",grpc_type="unary"} 0`,
		`grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Watch",grpc_service="computescale.v1.WatchService",grpc_shape="stream",grpc_type="server_stream"} 0`,
		`grpc_server_started_total{grpc_method="PutObservations",grpc_service="computescale.v1.IngestService",grpc_shape="stream",grpc_type="bidi_stream"} 0`,
		`grpc_server_handling_seconds_count{grpc_method="Verify",grpc_service="computescale.v1.AdminService",grpc_shape="unary",grpc_type="unary"} 0`,
		`computescale_build_info{goversion="go`,
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("metrics at start lack %s", want)
		}
	}
	for _, wrong := range []string{
		`grpc_server_handling_seconds_count{grpc_method="Watch"`,
		`grpc_server_started_total{grpc_method="GetIndex",grpc_service="computescale.v1.IndexService",grpc_shape="stream"`,
	} {
		if strings.Contains(text.String(), wrong) {
			t.Errorf("metrics at start have %s", wrong)
		}
	}
}
