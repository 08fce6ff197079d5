package server_test

import (
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestRejectedBatchNamesEveryViolation: a batch is answered with every
// violation of every record, whichever check finds it. Field checks happen
// before the store is asked and catalog checks in the store's commit; a
// batch rejected by the first used never to reach the second, so an unknown
// chip showed only once the vendor had fixed everything else.
func TestRejectedBatchNamesEveryViolation(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	unknownChip := func(r *pb.ShipmentRecord) *pb.ShipmentRecord {
		r.Components[0].Chip = &pb.Component_ChipId{ChipId: "no-such-chip"}
		return r
	}
	noAccelerator := general("r2", "CN-JS", 2024, 0, 1)
	noAccelerator.ServerClass = pb.ServerClass_SERVER_CLASS_AI_SERVER
	badYearAndChip := unknownChip(general("r3", "CN-JS", 1980, 0, 1))
	ack := e.ingest(e.vendorA, false,
		general("r0", "Atlantis", 2024, 0, 1),
		unknownChip(general("r1", "CN-JS", 2024, 0, 1)),
		noAccelerator,
		badYearAndChip,
		general("r4", "CN-JS", 2024, 0, 1), // fine
	)
	if status.Code(ack.Err) != codes.InvalidArgument {
		t.Fatalf("ack err = %v, want InvalidArgument", ack.Err)
	}
	if msg := status.Convert(ack.Err).Message(); msg != "batch rejected: invalid records" {
		t.Errorf("message %q, want the one wording of a rejected batch", msg)
	}
	var fields []string
	for _, d := range status.Convert(ack.Err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	want := []string{"records[0].province", "records[1].components[0].chip_id", "records[2].components",
		"records[3].period.year", "records[3].components[0].chip_id"}
	if !slices.Equal(fields, want) {
		t.Errorf("violations %v, want %v in record order", fields, want)
	}

	// Caught by the store alone, the same wording.
	ack = e.ingest(e.vendorA, false, unknownChip(general("r5", "CN-JS", 2024, 0, 1)))
	if msg := status.Convert(ack.Err).Message(); msg != "batch rejected: invalid records" {
		t.Errorf("the store's rejection says %q, want the same wording", msg)
	}
	wantViolation(t, ack.Err, "records[0].components[0].chip_id")
}
