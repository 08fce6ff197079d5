package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// IngestShipments answers each batch in order, after its commit is fsynced.
func (s *Server) IngestShipments(stream pb.IngestService_IngestShipmentsServer) error {
	id, _ := IdentityFrom(stream.Context())
	return serveBatches(stream, func(req *pb.IngestShipmentsRequest) *pb.IngestShipmentsResponse {
		return s.ingestBatch(stream.Context(), id.Name, req)
	})
}

// batchStream is the shape of both ingest streams.
type batchStream[Req, Resp any] interface {
	Recv() (Req, error)
	Send(Resp) error
}

// serveBatches runs a batch stream: each request is answered, in order, once
// handled (committed and fsynced, or rejected with its status inside the
// response). A rejected batch does not end the stream; only the transport
// does. Batches of one stream are handled one at a time, so acks can never
// overtake each other.
func serveBatches[Req, Resp any](stream batchStream[Req, Resp], handle func(Req) Resp) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(handle(req)); err != nil {
			return err
		}
	}
}

func (s *Server) ingestBatch(ctx context.Context, vendor string, req *pb.IngestShipmentsRequest) *pb.IngestShipmentsResponse {
	resp := &pb.IngestShipmentsResponse{BatchId: req.GetBatchId()}
	recs, err := s.batchFromProto(req.GetRecords())
	if err == nil {
		var res store.IngestResult
		res, err = s.store.IngestShipments(vendor, recs, req.GetReplace())
		resp.Revision, resp.Created, resp.Replaced, resp.Unchanged = res.Revision, int32(res.Created), int32(res.Replaced), int32(res.Unchanged)
	}
	if err != nil {
		resp.Error = s.toProtoStatus(ctx, err)
		if rev, rerr := s.store.Revision(); rerr == nil {
			resp.Revision = rev
		}
		s.log.InfoContext(ctx, "batch rejected", slog.String("vendor", vendor), slog.Uint64("batch_id", req.GetBatchId()),
			slog.Int("records", len(req.GetRecords())), slog.String("reason", resp.Error.GetMessage()))
	}
	return resp
}

// batchFromProto converts and checks a whole batch, collecting every
// violation under records[i] so that a vendor can fix them all at once.
func (s *Server) batchFromProto(in []*pb.ShipmentRecord) ([]estimator.Record, error) {
	if err := s.checkBatchSize("records", len(in)); err != nil {
		return nil, err
	}
	maxYear := s.maxYear()
	recs := make([]estimator.Record, len(in))
	var vs []estimator.FieldViolation
	seen := make(map[string]int, len(in))
	for i, r := range in {
		rec, rvs := recordFromProto(r, maxYear)
		prefix := fmt.Sprintf("records[%d].", i)
		vs = append(vs, estimator.Prefix(prefix, rvs)...)
		if j, dup := seen[rec.ID]; dup && rec.ID != "" {
			vs = append(vs, estimator.FieldViolation{Field: prefix + "record_id", Description: fmt.Sprintf("record_id %q repeats records[%d]", rec.ID, j)})
		}
		seen[rec.ID] = i
		recs[i] = rec
	}
	if err := estimator.Invalid("batch rejected: invalid records", vs); err != nil {
		return nil, err
	}
	return recs, nil
}

// RetractShipments removes the caller's own records.
func (s *Server) RetractShipments(ctx context.Context, req *pb.RetractShipmentsRequest) (*pb.RetractShipmentsResponse, error) {
	id, _ := IdentityFrom(ctx)
	if len(req.GetRecordIds()) == 0 {
		return nil, s.toError(ctx, invalid("nothing to retract", estimator.FieldViolation{Field: "record_ids", Description: "at least one id is required"}))
	}
	if len(req.GetRecordIds()) > s.maxBatch {
		return nil, s.toError(ctx, invalid("too many ids", estimator.FieldViolation{Field: "record_ids", Description: fmt.Sprintf("at most %d ids a call", s.maxBatch)}))
	}
	res, err := s.store.Retract(id.Name, req.GetRecordIds(), req.GetAllowMissing())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	return &pb.RetractShipmentsResponse{Retracted: int32(res.Retracted), MissingRecordIds: res.Missing, Revision: res.Revision}, nil
}
