package server

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"io"
	"log/slog"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/store"
)

// IngestShipments answers each batch in order, after its commit is fsynced.
func (s *Server) IngestShipments(stream pb.IngestService_IngestShipmentsServer) error {
	id, _ := IdentityFrom(stream.Context())
	return serveBatches(stream, s.draining, func(req *pb.IngestShipmentsRequest) func() *pb.IngestShipmentsResponse {
		return s.ingestBatch(stream.Context(), id.Name, req)
	})
}

// batchStream is the shape of both ingest streams.
type batchStream[Req, Resp any] interface {
	Recv() (Req, error)
	Send(Resp) error
}

// pipelineDepth is how many batches of one stream may be in hand at once:
// checked and submitted to the store but not yet answered. More than one
// lets a stream's next batch be decoded and checked while the previous one
// commits, and lets the store commit a vendor's queued batches together;
// the bound keeps a stream's memory at a few batches (the client's default
// window is 4).
const pipelineDepth = 4

// serveBatches runs a batch stream. handle starts a batch (checks it and
// submits it, in arrival order) and returns what waits for its answer;
// answers go out in the same order, each once its batch is handled
// (committed and fsynced, or rejected with its status inside the response).
// A rejected batch does not end the stream; only the transport does, or the
// server draining: then the batches in hand finish and their acks go out,
// and the stream ends with Unavailable so that the client resends what was
// not acknowledged, to this server later or to another.
func serveBatches[Req, Resp any](stream batchStream[Req, Resp], draining <-chan struct{}, handle func(Req) func() Resp) error {
	type received struct {
		req Req
		err error
	}
	// Recv blocks, so it runs on its own goroutine; the handler can then
	// notice draining while waiting for the next batch.
	in := make(chan received)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			req, err := stream.Recv()
			select {
			case in <- received{req, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// The sender answers in order; after a failed Send it still waits for
	// every batch in hand, so that none is left running when the handler
	// returns.
	acks := make(chan func() Resp, pipelineDepth-1)
	failed := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		var err error
		for wait := range acks {
			resp := wait()
			if err == nil {
				if err = stream.Send(resp); err != nil {
					close(failed)
				}
			}
		}
		sent <- err
	}()
	finish := func(err error) error {
		close(acks)
		if serr := <-sent; err == nil {
			err = serr
		}
		return err
	}
	for {
		var r received
		select {
		case <-draining:
			return finish(status.Error(codes.Unavailable, "server draining: resend unacknowledged batches"))
		case <-failed:
			return finish(nil)
		case r = <-in:
		}
		if errors.Is(r.err, io.EOF) {
			return finish(nil)
		}
		if r.err != nil {
			return finish(r.err)
		}
		acks <- handle(r.req)
	}
}

// ingestBatch checks a batch, takes its share of the caller's rate and
// submits it to the store; the function it returns waits for the commit and
// builds the answer.
func (s *Server) ingestBatch(ctx context.Context, vendor string, req *pb.IngestShipmentsRequest) func() *pb.IngestShipmentsResponse {
	resp := &pb.IngestShipmentsResponse{BatchId: req.GetBatchId()}
	b := s.beginBatch(ctx, "records", vendor, len(req.GetRecords()))
	recs, err := s.batchFromProto(req.GetRecords())
	if err == nil {
		err = b.wait()
	}
	var p store.Pending
	if err == nil {
		p = s.store.SubmitShipments(vendor, recs, req.GetReplace())
	}
	return func() *pb.IngestShipmentsResponse {
		if p != nil {
			var res store.IngestResult
			res, err = p.Wait()
			resp.Revision, resp.Created, resp.Replaced, resp.Unchanged = res.Revision, int32(res.Created), int32(res.Replaced), int32(res.Unchanged)
		}
		resp.Error, resp.Revision = b.end(err, req.GetBatchId(), resp.Revision)
		return resp
	}
}

// batch is the bookkeeping every ingest batch shares: the caller's rate
// limit, metrics and the log line of a rejection.
type batch struct {
	s      *Server
	ctx    context.Context
	kind   string // "records" or "observations"
	caller string
	n      int
	start  time.Time
}

func (s *Server) beginBatch(ctx context.Context, kind, caller string, n int) *batch {
	return &batch{s: s, ctx: ctx, kind: kind, caller: caller, n: n, start: time.Now()}
}

// wait takes the batch's share of the caller's ingest rate.
func (b *batch) wait() error {
	return b.s.records.waitRecords(b.ctx, b.caller, b.n, b.s.limits.MaxIngestWait)
}

// end counts the batch and, for a rejected one, returns its status for the
// response together with the current revision (the store's, since nothing
// was committed).
func (b *batch) end(err error, batchID, revision uint64) (*spb.Status, uint64) {
	m := b.s.metrics
	if err == nil {
		m.ingested.WithLabelValues(b.caller, b.kind).Add(float64(b.n))
		m.batches.WithLabelValues(b.kind).Inc()
		m.commitSeconds.WithLabelValues(b.kind).Observe(time.Since(b.start).Seconds())
		return nil, revision
	}
	m.rejected.WithLabelValues(b.caller, b.kind).Add(float64(b.n))
	st := b.s.toProtoStatus(b.ctx, err)
	b.s.log.InfoContext(b.ctx, "batch rejected", slog.String("caller", b.caller), slog.String("kind", b.kind),
		slog.Uint64("batch_id", batchID), slog.Int("size", b.n), slog.String("reason", st.GetMessage()))
	return st, b.s.store.Revision()
}

// batchFromProto converts and checks a whole batch, collecting every
// violation under records[i] so that a vendor can fix them all at once. The
// catalog checks (unknown chips, a record that derives no compute) are the
// store's, at commit; a batch already rejected here never gets there, so
// they are made here too, read-only, lest a vendor fix one kind of mistake
// only to be told of the next.
func (s *Server) batchFromProto(in []*pb.ShipmentRecord) ([]estimator.Record, error) {
	if err := s.checkBatchSize("records", len(in)); err != nil {
		return nil, err
	}
	maxYear := s.maxYear()
	recs := make([]estimator.Record, len(in))
	perRecord := make([][]estimator.FieldViolation, len(in))
	failed := false
	seen := make(map[string]int, len(in))
	for i, r := range in {
		rec, rvs := protoconv.CheckedRecordFromProto(r, maxYear)
		perRecord[i] = rvs
		if j, dup := seen[rec.ID]; dup && rec.ID != "" {
			perRecord[i] = append(perRecord[i], estimator.FieldViolation{Field: "record_id", Description: fmt.Sprintf("record_id %q repeats records[%d]", rec.ID, j)})
		}
		failed = failed || len(perRecord[i]) > 0
		seen[rec.ID] = i
		recs[i] = rec
	}
	if !failed {
		return recs, nil
	}
	catalog := s.catalogChecker()
	var vs []estimator.FieldViolation
	for i := range recs {
		rvs := append(perRecord[i], catalog(&recs[i], len(perRecord[i]) == 0)...)
		vs = append(vs, estimator.Prefix(fmt.Sprintf("records[%d].", i), rvs)...)
	}
	return nil, estimator.Invalid("batch rejected: invalid records", vs)
}

// catalogChecker returns a check of a record against the chip catalog, for
// a batch that is rejected anyway: for a record valid on its own, the
// store's own derivation (unknown chips, no compute); for an invalid one,
// whose derivation may not be meaningful, only that its chip ids exist.
// Each id is looked up once. If the catalog cannot be read, the check says
// nothing rather than call a chip unknown.
func (s *Server) catalogChecker() func(r *estimator.Record, valid bool) []estimator.FieldViolation {
	specs := map[string]*estimator.ChipSpec{}
	unreadable := false
	resolve := func(id string) (estimator.ChipSpec, bool) {
		spec, seen := specs[id]
		if !seen {
			got, err := s.store.Chip(id)
			var e *estimator.Error
			switch {
			case err == nil:
				spec = &got
			case !errors.As(err, &e) || e.Code != estimator.ENotFound:
				unreadable = true
			}
			specs[id] = spec
		}
		if spec == nil {
			return estimator.ChipSpec{}, false
		}
		return *spec, true
	}
	return func(r *estimator.Record, valid bool) []estimator.FieldViolation {
		if valid {
			var e *estimator.Error
			if _, err := r.Contributions(resolve); errors.As(err, &e) && e.Code == estimator.EInvalid && !unreadable {
				return e.Violations
			}
			return nil
		}
		var vs []estimator.FieldViolation
		for i, c := range r.Components {
			if c.Inline == nil && c.ChipID != "" {
				if _, ok := resolve(c.ChipID); !ok {
					vs = append(vs, estimator.FieldViolation{Field: fmt.Sprintf("components[%d].chip_id", i), Description: fmt.Sprintf("unknown chip id %q", c.ChipID)})
				}
			}
		}
		if unreadable {
			return nil
		}
		return vs
	}
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
