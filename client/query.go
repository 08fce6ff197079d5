package client

import (
	"context"
	"fmt"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// ProvinceCompute returns a province's totals for the six-year window ending
// at year (quarter 0) or at a quarter of it.
func (c *Client) ProvinceCompute(ctx context.Context, province string, year, quarter int) (*pb.ComputeTotals, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.Compute.GetProvinceCompute(ctx, &pb.GetProvinceComputeRequest{Province: province, Year: int32(year), Quarter: int32(quarter)})
	if err != nil {
		return nil, fmt.Errorf("get compute of %s: %w", province, err)
	}
	return resp.GetTotals(), nil
}

// NationalCompute returns the national totals.
func (c *Client) NationalCompute(ctx context.Context, year, quarter int) (*pb.ComputeTotals, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.Compute.GetNationalCompute(ctx, &pb.GetNationalComputeRequest{Year: int32(year), Quarter: int32(quarter)})
	if err != nil {
		return nil, fmt.Errorf("get national compute: %w", err)
	}
	return resp.GetTotals(), nil
}

// ListProvinceCompute returns every province's totals in orderBy order
// ("total desc" when empty), following page tokens to the end.
func (c *Client) ListProvinceCompute(ctx context.Context, year, quarter int, orderBy string) ([]*pb.ComputeTotals, error) {
	var out []*pb.ComputeTotals
	req := &pb.ListProvinceComputeRequest{Year: int32(year), Quarter: int32(quarter), OrderBy: orderBy}
	for {
		page, err := func() (*pb.ListProvinceComputeResponse, error) {
			ctx, cancel := c.unary(ctx)
			defer cancel()
			return c.Compute.ListProvinceCompute(ctx, req)
		}()
		if err != nil {
			return nil, fmt.Errorf("list province compute: %w", err)
		}
		out = append(out, page.GetTotals()...)
		if page.GetNextPageToken() == "" {
			return out, nil
		}
		req.PageToken = page.GetNextPageToken()
	}
}

// PutChipSpec creates or replaces a catalog spec (admin).
func (c *Client) PutChipSpec(ctx context.Context, spec *pb.ChipSpec) (*pb.PutChipSpecResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.Chips.PutChipSpec(ctx, &pb.PutChipSpecRequest{ChipSpec: spec})
	if err != nil {
		return nil, fmt.Errorf("put chip spec %s: %w", spec.GetId(), err)
	}
	return resp, nil
}

// ChipSpec returns one catalog spec.
func (c *Client) ChipSpec(ctx context.Context, id string) (*pb.ChipSpec, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.Chips.GetChipSpec(ctx, &pb.GetChipSpecRequest{Id: id})
	if err != nil {
		return nil, fmt.Errorf("get chip spec %s: %w", id, err)
	}
	return resp.GetChipSpec(), nil
}

// Retract removes the caller's records by id; with allowMissing, unknown ids
// are reported rather than failing the call.
func (c *Client) Retract(ctx context.Context, ids []string, allowMissing bool) (*pb.RetractShipmentsResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := c.Ingest.RetractShipments(ctx, &pb.RetractShipmentsRequest{RecordIds: ids, AllowMissing: allowMissing})
	if err != nil {
		return nil, fmt.Errorf("retract %d records: %w", len(ids), err)
	}
	return resp, nil
}
