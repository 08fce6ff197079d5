package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// ListChipSpecs returns the catalog's specs that match req's filters, in id
// order, following page tokens to the end; each page is one call with its
// own deadline.
func (c *Client) ListChipSpecs(ctx context.Context, req *pb.ListChipSpecsRequest) ([]*pb.ChipSpec, error) {
	req = proto.Clone(req).(*pb.ListChipSpecsRequest)
	var out []*pb.ChipSpec
	for {
		page, err := func() (*pb.ListChipSpecsResponse, error) {
			ctx, cancel := c.unary(ctx)
			defer cancel()
			return c.Chips.ListChipSpecs(ctx, req)
		}()
		if err != nil {
			return nil, fmt.Errorf("list chip specs: %w", err)
		}
		out = append(out, page.GetChipSpecs()...)
		if page.GetNextPageToken() == "" {
			return out, nil
		}
		req.PageToken = page.GetNextPageToken()
	}
}
