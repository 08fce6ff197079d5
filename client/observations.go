package client

import (
	"context"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// PutObservations streams statistics observations in batches on the
// IngestService's PutObservations stream, with IngestShipments' rules: acks
// in order, a rejected batch reported (OnAck, Summary.Rejected) while the
// rest go on, and every unacknowledged batch resent after Unavailable, which
// is safe because an identical observation is a no-op on the server.
// Summary.ScoresChanged totals the index scores the batches moved.
func (c *Client) PutObservations(ctx context.Context, obs []*pb.Observation, opts IngestOptions) (IngestSummary, error) {
	return sendBatches(ctx, batchProtocol[*pb.Observation, *pb.PutObservationsRequest, *pb.PutObservationsResponse]{
		what: "put observations",
		open: func(ctx context.Context) (batchStream[*pb.PutObservationsRequest, *pb.PutObservationsResponse], error) {
			return c.Ingest.PutObservations(ctx)
		},
		request: func(id uint64, obs []*pb.Observation, replace bool) *pb.PutObservationsRequest {
			return &pb.PutObservationsRequest{BatchId: id, Observations: obs, Replace: replace, Force: opts.Force}
		},
	}, obs, opts)
}
