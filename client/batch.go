package client

import (
	"context"
	"fmt"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The IngestService's two batch streams, IngestShipments and PutObservations,
// share one protocol: numbered batches, answered in order once durable, a
// rejected batch answered with its status and the stream going on, and an
// identical resend a no-op. This file runs that protocol once, generically;
// ingest.go and observations.go only say how to open the stream and build a
// request.

// batchAck is what both batch responses answer.
type batchAck interface {
	GetBatchId() uint64
	GetRevision() uint64
	GetCreated() int32
	GetReplaced() int32
	GetUnchanged() int32
	GetError() *spb.Status
}

// scoresAck is answered by the responses that report index scores moved.
type scoresAck interface {
	GetScoresChanged() int32
}

// batchStream is the client side of a batch stream; the generated
// grpc.BidiStreamingClient of either RPC satisfies it.
type batchStream[Req any, Resp batchAck] interface {
	Send(Req) error
	Recv() (Resp, error)
	CloseSend() error
}

// batchProtocol is one batch RPC: how to open its stream and how to wrap a
// batch of items in a request.
type batchProtocol[Item, Req any, Resp batchAck] struct {
	what    string // names the call in errors: "ingest", "put observations"
	open    func(context.Context) (batchStream[Req, Resp], error)
	request func(batchID uint64, items []Item, replace bool) Req
}

// sendBatches splits items into opts.BatchSize batches and runs them on p.
func sendBatches[Item, Req any, Resp batchAck](ctx context.Context, p batchProtocol[Item, Req, Resp], items []Item, opts IngestOptions) (IngestSummary, error) {
	opts = opts.withDefaults()
	var batches [][]Item
	for i := 0; i < len(items); i += opts.BatchSize {
		batches = append(batches, items[i:min(i+opts.BatchSize, len(items))])
	}
	r := &batchRun[Item, Req, Resp]{p: p, opts: opts, batches: batches}
	err := r.run(ctx)
	return r.sum, err
}

type batchRun[Item, Req any, Resp batchAck] struct {
	p       batchProtocol[Item, Req, Resp]
	opts    IngestOptions
	batches [][]Item
	acked   int // batches answered so far, in order
	sum     IngestSummary
}

// run reopens the stream after Unavailable, resending every batch not yet
// acknowledged, until all are answered or MaxRetries restarts in a row made
// no progress.
func (r *batchRun[Item, Req, Resp]) run(ctx context.Context) error {
	retries := 0
	for r.acked < len(r.batches) {
		before := r.acked
		err := r.stream(ctx)
		if err == nil {
			return nil
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return fmt.Errorf("%s after %d of %d batches: %w", r.p.what, r.acked, len(r.batches), err)
		}
		if r.acked > before {
			retries = 0
		}
		if retries++; retries > r.opts.MaxRetries {
			return fmt.Errorf("%s gave up after %d restarts: %w", r.p.what, r.opts.MaxRetries, err)
		}
		select {
		case <-time.After(backoff(retries)):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", r.p.what, ctx.Err())
		}
	}
	return nil
}

func backoff(attempt int) time.Duration {
	return min(100*time.Millisecond<<(attempt-1), 2*time.Second)
}

// stream sends the unacknowledged batches on one stream, keeping at most
// Window in flight, until all are answered or the stream fails.
func (r *batchRun[Item, Req, Resp]) stream(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := r.p.open(ctx)
	if err != nil {
		return err
	}
	next := r.acked
	for r.acked < len(r.batches) {
		for next < len(r.batches) && next-r.acked < r.opts.Window {
			if err := st.Send(r.p.request(uint64(next+1), r.batches[next], r.opts.Replace)); err != nil {
				break // the real cause comes from Recv
			}
			next++
		}
		resp, err := st.Recv()
		if err != nil {
			return err
		}
		if resp.GetBatchId() != uint64(r.acked+1) {
			return status.Errorf(codes.Internal, "ack for batch %d while waiting for %d", resp.GetBatchId(), r.acked+1)
		}
		r.record(resp)
	}
	// Every batch is answered; what the stream's end says cannot change that.
	_ = st.CloseSend()
	_, _ = st.Recv()
	return nil
}

func (r *batchRun[Item, Req, Resp]) record(resp Resp) {
	i := r.acked
	b := BatchResult{
		Index: i, First: i * r.opts.BatchSize, Len: len(r.batches[i]), Revision: resp.GetRevision(),
		Created: int(resp.GetCreated()), Replaced: int(resp.GetReplaced()), Unchanged: int(resp.GetUnchanged()),
	}
	if sa, ok := any(resp).(scoresAck); ok {
		b.ScoresChanged = int(sa.GetScoresChanged())
	}
	if resp.GetError() != nil {
		b.Err = status.ErrorProto(resp.GetError())
		r.sum.Rejected = append(r.sum.Rejected, b)
	}
	r.sum.Batches++
	r.sum.Created += b.Created
	r.sum.Replaced += b.Replaced
	r.sum.Unchanged += b.Unchanged
	r.sum.ScoresChanged += b.ScoresChanged
	r.sum.Revision = max(r.sum.Revision, b.Revision)
	r.acked++
	if r.opts.OnAck != nil {
		r.opts.OnAck(b)
	}
}
