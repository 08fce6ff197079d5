package server_test

import (
	"fmt"
	"testing"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestIngestResumesAcrossRestart kills the server (hard stop, same file, same
// port) while a vendor is mid-stream: the client reopens the stream, resends
// what was not acknowledged, and every record ends up stored exactly once.
func TestIngestResumesAcrossRestart(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	var recs []*pb.ShipmentRecord
	for i := range 400 {
		recs = append(recs, general(fmt.Sprintf("r%03d", i), "CN-AH", 2020+i%5, 0, 1+i%7))
	}
	restarted := false
	sum, err := e.vendorA.IngestShipments(ctx(t), recs, client.IngestOptions{
		BatchSize: 10, Window: 4,
		OnAck: func(b client.BatchResult) {
			if b.Index == 5 && !restarted {
				restarted = true
				e.restart()
			}
		},
	})
	if err != nil {
		t.Fatalf("ingest across restart: %v", err)
	}
	if !restarted || sum.Batches != 40 || len(sum.Rejected) != 0 {
		t.Fatalf("restarted %v, summary %+v", restarted, sum)
	}
	if sum.Created+sum.Unchanged < 400 || sum.Created > 400 {
		t.Errorf("created %d unchanged %d", sum.Created, sum.Unchanged)
	}
	ah, err := e.reader.ProvinceCompute(ctx(t), "CN-AH", 2024, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantUnits := 0
	for i := range 400 {
		wantUnits += 1 + i%7
	}
	if ah.GetRecordCount() != 400 || ah.GetGeneralServerUnits() != float64(wantUnits) {
		t.Errorf("records %d units %v, want 400 and %d", ah.GetRecordCount(), ah.GetGeneralServerUnits(), wantUnits)
	}
}
