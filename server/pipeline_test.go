package server_test

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestIngestPipelined sends every batch of a stream before reading any ack,
// with a rejected batch among them and each batch replacing the previous
// one's record, and checks the acks come back one per batch, in order, with
// rising revisions, and that the batches applied in the order sent.
func TestIngestPipelined(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	st, err := e.vendorA.Ingest.IngestShipments(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	const batches, bad = 30, 17
	for i := 1; i <= batches; i++ {
		recs := []*pb.ShipmentRecord{general("r", "CN-GD", 2024, 1, i), general(fmt.Sprintf("x%d", i), "CN-BJ", 2024, 2, 1)}
		if i == bad {
			recs[1].Province = "CN-XX"
		}
		if err := st.Send(&pb.IngestShipmentsRequest{BatchId: uint64(i), Records: recs, Replace: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := 1; i <= batches; i++ {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("ack %d: %v", i, err)
		}
		if resp.GetBatchId() != uint64(i) {
			t.Fatalf("ack %d answers batch %d", i, resp.GetBatchId())
		}
		if i == bad {
			if codes.Code(resp.GetError().GetCode()) != codes.InvalidArgument {
				t.Errorf("batch %d: error %v, want InvalidArgument", i, resp.GetError())
			}
			continue
		}
		if resp.GetError() != nil || resp.GetRevision() <= last {
			t.Fatalf("batch %d: revision %d after %d, error %v", i, resp.GetRevision(), last, resp.GetError())
		}
		last = resp.GetRevision()
	}
	if _, err := st.Recv(); err == nil {
		t.Fatal("stream did not end after the last ack")
	}
	rec, err := e.db.Record("vendor-a", "r")
	if err != nil || rec.Units != batches {
		t.Errorf("record r = %+v, %v; want the last batch's %d units", rec, err, batches)
	}
	if _, err := e.db.Record("vendor-a", fmt.Sprintf("x%d", bad)); err == nil {
		t.Error("the rejected batch's record is stored")
	}
	if rep, err := e.db.Verify(); err != nil || len(rep.Mismatches) > 0 {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}
