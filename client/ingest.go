package client

import (
	"context"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// IngestOptions tune IngestShipments and PutObservations; zero values take
// the defaults.
type IngestOptions struct {
	BatchSize int  // records (or observations) a batch (default 1000)
	Replace   bool // let changed records replace stored ones
	// Force, with Replace, lets PutObservations store values outside the
	// methodology's plausibility bounds; shipments ignore it.
	Force      bool
	Window     int // batches sent ahead of their acks (default 4)
	MaxRetries int // stream restarts after Unavailable without progress (default 5)
	// OnAck, if set, is called for every batch as its answer arrives, in order.
	OnAck func(BatchResult)
}

// BatchResult is the server's answer to one batch.
type BatchResult struct {
	Index     int // batch number, from 0
	First     int // index in the input of the batch's first record
	Len       int // records in the batch
	Revision  uint64
	Created   int
	Replaced  int
	Unchanged int
	// ScoresChanged is how many stored index scores the batch moved; only
	// PutObservations reports it (0 for shipments).
	ScoresChanged int
	Err           error // the batch was rejected whole; a *status.Status error
}

// IngestSummary totals a whole IngestShipments or PutObservations call.
type IngestSummary struct {
	Batches       int
	Rejected      []BatchResult
	Created       int
	Replaced      int
	Unchanged     int
	ScoresChanged int    // PutObservations only
	Revision      uint64 // highest revision acknowledged
}

// IngestShipments streams recs in batches and waits for every ack. A batch
// the server rejects is reported (OnAck, Summary.Rejected) and the rest go on.
// If the stream fails with Unavailable, it is reopened and every batch not yet
// acknowledged is sent again; that is safe because a re-sent record with
// identical content is a no-op on the server. The error is non-nil only when
// the call could not finish (context, transport, retries exhausted).
func (c *Client) IngestShipments(ctx context.Context, recs []*pb.ShipmentRecord, opts IngestOptions) (IngestSummary, error) {
	return sendBatches(ctx, batchProtocol[*pb.ShipmentRecord, *pb.IngestShipmentsRequest, *pb.IngestShipmentsResponse]{
		what: "ingest",
		open: func(ctx context.Context) (batchStream[*pb.IngestShipmentsRequest, *pb.IngestShipmentsResponse], error) {
			return c.Ingest.IngestShipments(ctx)
		},
		request: func(id uint64, recs []*pb.ShipmentRecord, replace bool) *pb.IngestShipmentsRequest {
			return &pb.IngestShipmentsRequest{BatchId: id, Records: recs, Replace: replace}
		},
	}, recs, opts)
}

func (o IngestOptions) withDefaults() IngestOptions {
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Window <= 0 {
		o.Window = 4
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	return o
}
