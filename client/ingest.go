package client

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// IngestOptions tune IngestShipments; zero values take the defaults.
type IngestOptions struct {
	BatchSize  int  // records a batch (default 1000)
	Replace    bool // let changed records replace stored ones
	Window     int  // batches sent ahead of their acks (default 4)
	MaxRetries int  // stream restarts after Unavailable without progress (default 5)
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
	Err       error // the batch was rejected whole; a *status.Status error
}

// IngestSummary totals a whole IngestShipments call.
type IngestSummary struct {
	Batches   int
	Rejected  []BatchResult
	Created   int
	Replaced  int
	Unchanged int
	Revision  uint64 // highest revision acknowledged
}

// IngestShipments streams recs in batches and waits for every ack. A batch
// the server rejects is reported (OnAck, Summary.Rejected) and the rest go on.
// If the stream fails with Unavailable, it is reopened and every batch not yet
// acknowledged is sent again; that is safe because a re-sent record with
// identical content is a no-op on the server. The error is non-nil only when
// the call could not finish (context, transport, retries exhausted).
func (c *Client) IngestShipments(ctx context.Context, recs []*pb.ShipmentRecord, opts IngestOptions) (IngestSummary, error) {
	opts = opts.withDefaults()
	var batches [][]*pb.ShipmentRecord
	for i := 0; i < len(recs); i += opts.BatchSize {
		batches = append(batches, recs[i:min(i+opts.BatchSize, len(recs))])
	}
	in := &ingestRun{c: c, opts: opts, batches: batches}
	err := in.run(ctx)
	return in.sum, err
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

type ingestRun struct {
	c       *Client
	opts    IngestOptions
	batches [][]*pb.ShipmentRecord
	acked   int // batches answered so far, in order
	sum     IngestSummary
}

func (in *ingestRun) run(ctx context.Context) error {
	retries := 0
	for in.acked < len(in.batches) {
		before := in.acked
		err := in.stream(ctx)
		if err == nil {
			return nil
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return fmt.Errorf("ingest after %d of %d batches: %w", in.acked, len(in.batches), err)
		}
		if in.acked > before {
			retries = 0
		}
		if retries++; retries > in.opts.MaxRetries {
			return fmt.Errorf("ingest gave up after %d restarts: %w", in.opts.MaxRetries, err)
		}
		select {
		case <-time.After(backoff(retries)):
		case <-ctx.Done():
			return fmt.Errorf("ingest: %w", ctx.Err())
		}
	}
	return nil
}

func backoff(attempt int) time.Duration {
	return min(100*time.Millisecond<<(attempt-1), 2*time.Second)
}

// stream sends the unacknowledged batches on one stream, keeping at most
// Window in flight, until all are answered or the stream fails.
func (in *ingestRun) stream(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := in.c.Ingest.IngestShipments(ctx)
	if err != nil {
		return err
	}
	next := in.acked
	for in.acked < len(in.batches) {
		for next < len(in.batches) && next-in.acked < in.opts.Window {
			req := &pb.IngestShipmentsRequest{BatchId: uint64(next + 1), Records: in.batches[next], Replace: in.opts.Replace}
			if err := st.Send(req); err != nil {
				break // the real cause comes from Recv
			}
			next++
		}
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if resp.GetBatchId() != uint64(in.acked+1) {
			return status.Errorf(codes.Internal, "ack for batch %d while waiting for %d", resp.GetBatchId(), in.acked+1)
		}
		in.record(resp)
	}
	// Every batch is answered; what the stream's end says cannot change that.
	_ = st.CloseSend()
	_, _ = st.Recv()
	return nil
}

func (in *ingestRun) record(resp *pb.IngestShipmentsResponse) {
	i := in.acked
	r := BatchResult{
		Index: i, First: i * in.opts.BatchSize, Len: len(in.batches[i]), Revision: resp.GetRevision(),
		Created: int(resp.GetCreated()), Replaced: int(resp.GetReplaced()), Unchanged: int(resp.GetUnchanged()),
	}
	if resp.GetError() != nil {
		r.Err = status.ErrorProto(resp.GetError())
		in.sum.Rejected = append(in.sum.Rejected, r)
	}
	in.sum.Batches++
	in.sum.Created += r.Created
	in.sum.Replaced += r.Replaced
	in.sum.Unchanged += r.Unchanged
	in.sum.Revision = max(in.sum.Revision, r.Revision)
	in.acked++
	if in.opts.OnAck != nil {
		in.opts.OnAck(r)
	}
}
