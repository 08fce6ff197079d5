package server

import (
	"context"
	"strings"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

// PutChipSpec creates or replaces a catalog spec.
func (s *Server) PutChipSpec(ctx context.Context, req *pb.PutChipSpecRequest) (*pb.PutChipSpecResponse, error) {
	if req.GetChipSpec() == nil {
		return nil, s.toError(ctx, invalid("chip_spec is required", estimator.FieldViolation{Field: "chip_spec", Description: "required"}))
	}
	spec := protoconv.ChipFromProto(req.GetChipSpec())
	if err := estimator.Invalid("invalid chip spec", spec.Validate("chip_spec.", true)); err != nil {
		return nil, s.toError(ctx, err)
	}
	res, err := s.store.PutChip(spec)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	return &pb.PutChipSpecResponse{
		ChipSpec: protoconv.ChipToProto(spec), Replaced: res.Replaced,
		RecordsRederived: int64(res.Rederived), Revision: res.Revision,
	}, nil
}

// GetChipSpec returns one spec.
func (s *Server) GetChipSpec(ctx context.Context, req *pb.GetChipSpecRequest) (*pb.GetChipSpecResponse, error) {
	spec, err := s.store.Chip(req.GetId())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	return &pb.GetChipSpecResponse{ChipSpec: protoconv.ChipToProto(spec)}, nil
}

// ListChipSpecs pages through the catalog in id order. The page token is the
// last id of the previous page, which stays valid while specs are added.
func (s *Server) ListChipSpecs(ctx context.Context, req *pb.ListChipSpecsRequest) (*pb.ListChipSpecsResponse, error) {
	size, err := pageSize(req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	after := ""
	if req.GetPageToken() != "" {
		var tok pageToken
		if err := tok.decode(req.GetPageToken(), "chips", req.GetKind().String()+"|"+strings.ToLower(req.GetVendor())); err != nil {
			return nil, s.toError(ctx, err)
		}
		after = tok.After
	}
	keep := func(c estimator.ChipSpec) bool {
		return (req.GetKind() == pb.ChipKind_CHIP_KIND_UNSPECIFIED || c.Kind == estimator.ChipKind(req.GetKind())) &&
			(req.GetVendor() == "" || strings.EqualFold(c.Vendor, req.GetVendor()))
	}
	specs, err := s.store.ListChips(after, size+1, keep)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	resp := &pb.ListChipSpecsResponse{}
	if len(specs) > size {
		specs = specs[:size]
		resp.NextPageToken = pageToken{Kind: "chips", Query: req.GetKind().String() + "|" + strings.ToLower(req.GetVendor()), After: specs[size-1].ID}.encode()
	}
	for _, c := range specs {
		resp.ChipSpecs = append(resp.ChipSpecs, protoconv.ChipToProto(c))
	}
	return resp, nil
}
