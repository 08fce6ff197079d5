package server_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// BenchmarkGetProvinceCompute is the cost of one query over loopback against
// a province with six years of cells.
func BenchmarkGetProvinceCompute(b *testing.B) {
	e := newEnvBatch(b, benchBatch)
	e.putChips()
	for i := range 5 {
		st, _ := e.vendorA.Ingest.IngestShipments(b.Context())
		st.Send(&pb.IngestShipmentsRequest{BatchId: 1, Records: benchRecords(i)})
		st.Recv()
		st.CloseSend()
	}
	b.ResetTimer()
	for range b.N {
		if _, err := e.reader.ProvinceCompute(b.Context(), "CN-GD", 2024, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

func TestListProvinceComputePages(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("bj", "CN-BJ", 2024, 0, 30), general("gd", "CN-GD", 2024, 0, 20), general("xz", "CN-XZ", 2024, 0, 10))
	var got []*pb.ComputeTotals
	req := &pb.ListProvinceComputeRequest{Year: 2024, PageSize: 10, OrderBy: "basic desc"}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("page tokens never end")
		}
		resp, err := e.reader.Compute.ListProvinceCompute(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.GetTotals()...)
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if len(got) != 31 {
		t.Fatalf("%d provinces, want 31", len(got))
	}
	if got[0].GetProvince().GetIsoCode() != "CN-BJ" || got[1].GetProvince().GetIsoCode() != "CN-GD" || got[2].GetProvince().GetIsoCode() != "CN-XZ" {
		t.Errorf("order: %s %s %s", got[0].GetProvince().GetIsoCode(), got[1].GetProvince().GetIsoCode(), got[2].GetProvince().GetIsoCode())
	}
	// Ties (all zero) fall back to code order.
	if got[3].GetProvince().GetCode() != "120000" {
		t.Errorf("first tie = %s, want 120000", got[3].GetProvince().GetCode())
	}
	t.Run("ErrTokenOfOtherQuery", func(t *testing.T) {
		resp, _ := e.reader.Compute.ListProvinceCompute(ctx(t), &pb.ListProvinceComputeRequest{Year: 2024, PageSize: 10})
		_, err := e.reader.Compute.ListProvinceCompute(ctx(t), &pb.ListProvinceComputeRequest{Year: 2023, PageSize: 10, PageToken: resp.GetNextPageToken()})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("reused token: %v", err)
		}
	})
	t.Run("ErrOrderBy", func(t *testing.T) {
		_, err := e.reader.Compute.ListProvinceCompute(ctx(t), &pb.ListProvinceComputeRequest{Year: 2024, OrderBy: "gdp desc"})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("bad order_by: %v", err)
		}
	})
	t.Run("ErrUnknownProvince", func(t *testing.T) {
		_, err := e.reader.ProvinceCompute(ctx(t), "Narnia", 2024, 0)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("unknown province: %v", err)
		}
		wantViolation(t, err, "province")
	})
}

func TestTotalsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("g", "CN-HB", 2021, 3, 40), aiServer("a", "CN-HB", 2023, 2))
	before, _ := e.reader.ProvinceCompute(ctx(t), "CN-HB", 2024, 0)
	e.restart()
	after, err := e.reader.ProvinceCompute(ctx(t), "CN-HB", 2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after, protocmp.Transform()); diff != "" {
		t.Errorf("totals changed across restart:\n%s", diff)
	}
}
