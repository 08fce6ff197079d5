package server

import (
	"context"
	"fmt"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/store"
)

// PutObservations takes statistics batches with the shipments' rules.
func (s *Server) PutObservations(stream pb.IngestService_PutObservationsServer) error {
	id, _ := IdentityFrom(stream.Context())
	return serveBatches(stream, s.draining, func(req *pb.PutObservationsRequest) func() *pb.PutObservationsResponse {
		// Observation batches are small and rare: each commits on its own.
		resp := s.observationBatch(stream.Context(), id.Name, req)
		return func() *pb.PutObservationsResponse { return resp }
	})
}

func (s *Server) observationBatch(ctx context.Context, actor string, req *pb.PutObservationsRequest) *pb.PutObservationsResponse {
	resp := &pb.PutObservationsResponse{BatchId: req.GetBatchId()}
	b := s.beginBatch(ctx, "observations", actor, len(req.GetObservations()))
	obs, err := s.observationsFromProto(req.GetObservations())
	if err == nil && req.GetForce() && !req.GetReplace() {
		err = invalid("force needs replace", estimator.FieldViolation{Field: "force",
			Description: "force only overrides the plausibility bounds of a replacing batch; set replace too"})
	}
	if err == nil {
		err = b.wait()
	}
	if err == nil {
		var res store.ObservationResult
		res, err = s.store.PutObservationsWith(actor, obs, store.ObservationOptions{Replace: req.GetReplace(), Force: req.GetForce()})
		resp.Revision, resp.Created, resp.Replaced, resp.Unchanged = res.Revision, int32(res.Created), int32(res.Replaced), int32(res.Unchanged)
		resp.ScoresChanged = int32(res.ScoresChanged)
	}
	resp.Error, resp.Revision = b.end(err, req.GetBatchId(), resp.Revision)
	return resp
}

func (s *Server) observationsFromProto(in []*pb.Observation) ([]estimator.Observation, error) {
	if err := s.checkBatchSize("observations", len(in)); err != nil {
		return nil, err
	}
	maxYear := s.maxYear()
	out := make([]estimator.Observation, len(in))
	var vs []estimator.FieldViolation
	for i, o := range in {
		obs := protoconv.ObservationFromProto(o)
		prefix := fmt.Sprintf("observations[%d].", i)
		for _, v := range obs.Validate(maxYear) {
			if v.Field == "province" {
				v.Description = fmt.Sprintf("unknown province %q", o.GetProvince())
			}
			vs = append(vs, estimator.FieldViolation{Field: prefix + v.Field, Description: v.Description})
		}
		out[i] = obs
	}
	if err := estimator.Invalid("batch rejected: invalid observations", vs); err != nil {
		return nil, err
	}
	return out, nil
}

// checkBatchSize refuses empty and oversized batches, naming the list field.
func (s *Server) checkBatchSize(field string, n int) error {
	switch {
	case n == 0:
		return invalid("empty batch", estimator.FieldViolation{Field: field, Description: "a batch needs at least one entry"})
	case n > s.maxBatch:
		return invalid("batch too large", estimator.FieldViolation{Field: field, Description: fmt.Sprintf("%d entries is over the limit of %d a batch", n, s.maxBatch)})
	}
	return nil
}
