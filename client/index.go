package client

import (
	"context"
	"fmt"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// IndexService returns the raw IndexService stub on the client's connection,
// for calls the helpers below do not cover (one page at a time, say). Calls
// made through it carry no deadline unless the caller sets one.
func (c *Client) IndexService() pb.IndexServiceClient { return pb.NewIndexServiceClient(c.conn) }

// Index returns one province's compute development index for year, under a
// stored methodology version (0 = the current one).
func (c *Client) Index(ctx context.Context, province string, year int, version uint64) (*pb.IndexScore, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.IndexService().GetIndex(ctx, &pb.GetIndexRequest{Province: province, Year: int32(year), MethodologyVersion: version})
	if err != nil {
		return nil, fmt.Errorf("get index of %s in %d: %w", province, year, err)
	}
	return resp.GetScore(), nil
}

// ListIndex returns every province's scores for year in rank order, by the
// composite or by one dimension (scale, industry, tech, env, app), following
// page tokens to the end. Each page is one call with its own deadline; the
// token pins the methodology version, so the pages cannot mix two.
func (c *Client) ListIndex(ctx context.Context, year int, dimension string, version uint64) ([]*pb.IndexScore, error) {
	var out []*pb.IndexScore
	req := &pb.ListIndexRequest{Year: int32(year), Dimension: dimension, MethodologyVersion: version}
	for {
		page, err := func() (*pb.ListIndexResponse, error) {
			ctx, cancel := c.unary(ctx)
			defer cancel()
			return c.IndexService().ListIndex(ctx, req)
		}()
		if err != nil {
			return nil, fmt.Errorf("list index of %d: %w", year, err)
		}
		out = append(out, page.GetScores()...)
		if page.GetNextPageToken() == "" {
			return out, nil
		}
		req.PageToken = page.GetNextPageToken()
	}
}

// Methodology returns a stored methodology version (0 = the current one).
func (c *Client) Methodology(ctx context.Context, version uint64) (*pb.Methodology, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.IndexService().GetMethodology(ctx, &pb.GetMethodologyRequest{Version: version})
	if err != nil {
		return nil, fmt.Errorf("get methodology %d: %w", version, err)
	}
	return resp.GetMethodology(), nil
}

// PutMethodology stores m as the next methodology version and makes it
// current (admin); every index year is rescored in the same commit. A
// hierarchy with an AHP consistency ratio of 0.10 or more fails with
// FailedPrecondition unless allowInconsistent is set.
func (c *Client) PutMethodology(ctx context.Context, m *pb.Methodology, allowInconsistent bool) (*pb.PutMethodologyResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.IndexService().PutMethodology(ctx, &pb.PutMethodologyRequest{Methodology: m, AllowInconsistent: allowInconsistent})
	if err != nil {
		return nil, fmt.Errorf("put methodology: %w", err)
	}
	return resp, nil
}

// EvaluateWeights solves a pairwise comparison matrix or a weight hierarchy
// on the server without storing anything.
func (c *Client) EvaluateWeights(ctx context.Context, req *pb.EvaluateWeightsRequest) (*pb.EvaluateWeightsResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.IndexService().EvaluateWeights(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("evaluate weights: %w", err)
	}
	return resp, nil
}

// AnalyzeRelationship fits y (GDP or digital-economy core output) on the
// composite across the provinces of year, under a methodology version (0 =
// the current one).
func (c *Client) AnalyzeRelationship(ctx context.Context, year int, y pb.RelationshipTarget, version uint64) (*pb.AnalyzeRelationshipResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.IndexService().AnalyzeRelationship(ctx, &pb.AnalyzeRelationshipRequest{Year: int32(year), Y: y, MethodologyVersion: version})
	if err != nil {
		return nil, fmt.Errorf("analyze relationship of %s in %d: %w", y, year, err)
	}
	return resp, nil
}
