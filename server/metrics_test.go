package server_test

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
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
