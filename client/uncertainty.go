package client

import (
	"context"
	"fmt"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// RankUncertainty returns one province's rank uncertainty for year; req's
// province and year are set from the arguments, the rest (samples, seed,
// assumptions, methodology version) is taken as given (nil: the defaults).
func (c *Client) RankUncertainty(ctx context.Context, province string, year int, req *pb.GetRankUncertaintyRequest) (*pb.GetRankUncertaintyResponse, error) {
	if req == nil {
		req = &pb.GetRankUncertaintyRequest{}
	}
	req.Province, req.Year = province, int32(year)
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.IndexService().GetRankUncertainty(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("rank uncertainty of %s in %d: %w", province, year, err)
	}
	return resp, nil
}

// ListRankUncertainty returns every province's rank uncertainty for year by
// median rank, following page tokens, and what the analysis was computed
// from. req's year is set from the argument (nil req: the defaults). An
// analysis computed on demand can take seconds: each page has the client's
// deadline, which the caller's ctx may shorten.
func (c *Client) ListRankUncertainty(ctx context.Context, year int, req *pb.ListRankUncertaintyRequest) ([]*pb.RankUncertainty, *pb.UncertaintyRun, error) {
	if req == nil {
		req = &pb.ListRankUncertaintyRequest{}
	}
	req.Year = int32(year)
	var out []*pb.RankUncertainty
	for {
		page, err := func() (*pb.ListRankUncertaintyResponse, error) {
			ctx, cancel := c.unary(ctx)
			defer cancel()
			return c.IndexService().ListRankUncertainty(ctx, req)
		}()
		if err != nil {
			return nil, nil, fmt.Errorf("list rank uncertainty of %d: %w", year, err)
		}
		out = append(out, page.GetProvinces()...)
		if page.GetNextPageToken() == "" {
			return out, page.GetRun(), nil
		}
		req.PageToken = page.GetNextPageToken()
	}
}
