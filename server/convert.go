package server

import (
	"fmt"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

// recordFromProto converts one shipment record and validates everything that
// needs no catalog, returning violations relative to the record.
func recordFromProto(r *pb.ShipmentRecord, maxYear int) (estimator.Record, []estimator.FieldViolation) {
	rec := protoconv.RecordFromProto(r)
	var vs []estimator.FieldViolation
	if rec.Province == 0 {
		vs = append(vs, estimator.FieldViolation{Field: "province", Description: fmt.Sprintf("unknown province %q: give a GB/T 2260 code, ISO 3166-2 code, pinyin or Chinese name", r.GetProvince())})
	}
	for _, v := range rec.Validate(maxYear) {
		if v.Field == "province" && rec.Province == 0 {
			continue // already named with the value given
		}
		vs = append(vs, v)
	}
	return rec, vs
}
