package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

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
	opts := store.ObservationOptions{Replace: req.GetReplace(), Force: req.GetForce()}
	obs, err := s.observationsFromProto(actor, req.GetObservations(), opts)
	if err == nil && req.GetForce() && !req.GetReplace() {
		err = invalid("force needs replace", estimator.FieldViolation{Field: "force",
			Description: "force only overrides the plausibility bounds of a replacing batch; set replace too"})
	}
	if err == nil {
		err = b.wait()
	}
	if err == nil {
		var res store.ObservationResult
		res, err = s.store.PutObservationsWith(actor, obs, opts)
		resp.Revision, resp.Created, resp.Replaced, resp.Unchanged = res.Revision, int32(res.Created), int32(res.Replaced), int32(res.Unchanged)
		resp.ScoresChanged = int32(res.ScoresChanged)
	}
	resp.Error, resp.Revision = b.end(err, req.GetBatchId(), resp.Revision)
	return resp
}

// observationsFromProto converts and checks a whole batch, collecting every
// violation under observations[i] in record order. The store's checks
// (repeats, plausibility bounds against stored values) happen at commit; a
// batch already rejected here never gets there, so they are made here too,
// read-only, over the observations valid on their own, lest a statistician
// fix a wrong unit only to be told next of an implausible value.
func (s *Server) observationsFromProto(actor string, in []*pb.Observation, opts store.ObservationOptions) ([]estimator.Observation, error) {
	if err := s.checkBatchSize("observations", len(in)); err != nil {
		return nil, err
	}
	maxYear := s.maxYear()
	out := make([]estimator.Observation, len(in))
	perObs := make([][]estimator.FieldViolation, len(in))
	failed := false
	type key struct {
		year      int
		province  uint32
		indicator string
	}
	seen := make(map[key]int, len(in))
	for i, o := range in {
		obs := protoconv.ObservationFromProto(o)
		vs := obs.Validate(maxYear)
		for j := range vs {
			if vs[j].Field == "province" {
				vs[j].Description = fmt.Sprintf("unknown province %q", o.GetProvince())
			}
		}
		// Repeats are the store's check too, but the store would number
		// them within the subset it is given below.
		k := key{obs.Year, obs.Province, obs.Indicator}
		if j, dup := seen[k]; dup && len(vs) == 0 {
			vs = append(vs, estimator.FieldViolation{Field: "indicator",
				Description: fmt.Sprintf("%s of province %d in %d is also observations[%d]", obs.Indicator, obs.Province, obs.Year, j)})
		} else if len(vs) == 0 {
			seen[k] = i
		}
		perObs[i], out[i] = vs, obs
		failed = failed || len(vs) > 0
	}
	if !failed {
		return out, nil
	}
	for i, vs := range s.storeObservationViolations(actor, out, perObs, opts) {
		perObs[i] = append(perObs[i], vs...)
	}
	var vs []estimator.FieldViolation
	for i := range perObs {
		vs = append(vs, estimator.Prefix(fmt.Sprintf("observations[%d].", i), perObs[i])...)
	}
	return nil, estimator.Invalid("batch rejected: invalid or implausible observations", vs)
}

// storeObservationViolations asks the store, read-only, what it would find
// wrong with the observations that have no violation of their own (those
// with one may not mean anything to its checks), and returns its invalid
// or implausible findings by index in obs. Conflicts with stored values are
// another status and wait until the batch is otherwise valid; if the store
// cannot answer, it says nothing rather than guess.
func (s *Server) storeObservationViolations(actor string, obs []estimator.Observation, perObs [][]estimator.FieldViolation, opts store.ObservationOptions) map[int][]estimator.FieldViolation {
	var valid []estimator.Observation
	var index []int
	for i := range obs {
		if len(perObs[i]) == 0 {
			valid = append(valid, obs[i])
			index = append(index, i)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	var e *estimator.Error
	if err := s.store.CheckObservations(actor, valid, opts); !errors.As(err, &e) || e.Code != estimator.EInvalid {
		return nil
	}
	out := map[int][]estimator.FieldViolation{}
	for _, v := range e.Violations {
		rest, ok := strings.CutPrefix(v.Field, "observations[")
		num, field, ok2 := strings.Cut(rest, "].")
		k, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || k < 0 || k >= len(index) {
			continue // not about one observation: nothing to place
		}
		out[index[k]] = append(out[index[k]], estimator.FieldViolation{Field: field, Description: v.Description})
	}
	return out
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
