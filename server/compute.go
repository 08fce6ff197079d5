package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

func (s *Server) endPeriod(year, quarter int32) (estimator.Period, error) {
	p := estimator.Period{Year: int(year), Quarter: int(quarter)}
	if err := estimator.Invalid("invalid period", p.Validate("", s.maxYear())); err != nil {
		return p, err
	}
	return p, nil
}

// GetProvinceCompute reads one province's aggregate cells (never records) and
// sums the window.
func (s *Server) GetProvinceCompute(ctx context.Context, req *pb.GetProvinceComputeRequest) (*pb.GetProvinceComputeResponse, error) {
	prov, ok := estimator.LookupProvince(req.GetProvince())
	if !ok {
		return nil, s.toError(ctx, invalid("unknown province", estimator.FieldViolation{Field: "province", Description: fmt.Sprintf("unknown province %q", req.GetProvince())}))
	}
	end, err := s.endPeriod(req.GetYear(), req.GetQuarter())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	key := totalsKey{prov.Code, end}
	if t, ok := s.totals.get(key, s.revision()); ok {
		return &pb.GetProvinceComputeResponse{Totals: t}, nil
	}
	cells, factors, rev, err := s.store.CellsWithFactors(prov.Code)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	s.observe(rev)
	t := protoconv.TotalsToProto(estimator.Sum(cells, end, factors), rev)
	t.Province = protoconv.ProvinceToProto(prov)
	s.totals.put(key, rev, t)
	return &pb.GetProvinceComputeResponse{Totals: t}, nil
}

// totalsKey names one province's totals as of one period (province 0: the
// nation).
type totalsKey struct {
	province uint32
	end      estimator.Period
}

// GetNationalCompute sums every province's cells.
func (s *Server) GetNationalCompute(ctx context.Context, req *pb.GetNationalComputeRequest) (*pb.GetNationalComputeResponse, error) {
	end, err := s.endPeriod(req.GetYear(), req.GetQuarter())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	key := totalsKey{0, end}
	if t, ok := s.totals.get(key, s.revision()); ok {
		return &pb.GetNationalComputeResponse{Totals: t}, nil
	}
	cells, factors, rev, err := s.store.CellsWithFactors(0)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	s.observe(rev)
	t := protoconv.TotalsToProto(estimator.Sum(cells, end, factors), rev)
	s.totals.put(key, rev, t)
	return &pb.GetNationalComputeResponse{Totals: t}, nil
}

var orderKeys = map[string]func(*pb.ComputeTotals) float64{
	"total": (*pb.ComputeTotals).GetTotalFp32EquivalentEflops,
	"basic": (*pb.ComputeTotals).GetBasicFp32Eflops,
	"ai":    (*pb.ComputeTotals).GetAiFp32EquivalentEflops,
	"super": (*pb.ComputeTotals).GetSuperFp32EquivalentEflops,
}

// parseOrderBy accepts AIP-132's "field [asc|desc]" for one field.
func parseOrderBy(s string) (field string, desc bool, err error) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) == 0 {
		return "total", true, nil
	}
	field = f[0]
	_, known := orderKeys[field]
	if !known && field != "code" || len(f) > 2 || len(f) == 2 && f[1] != "asc" && f[1] != "desc" {
		return "", false, invalid("invalid order_by", estimator.FieldViolation{Field: "order_by", Description: fmt.Sprintf("%q: want one of code, total, basic, ai, super, optionally followed by asc or desc", s)})
	}
	return field, len(f) == 2 && f[1] == "desc", nil
}

// ListProvinceCompute returns all provinces' totals from one consistent read.
func (s *Server) ListProvinceCompute(ctx context.Context, req *pb.ListProvinceComputeRequest) (*pb.ListProvinceComputeResponse, error) {
	end, err := s.endPeriod(req.GetYear(), req.GetQuarter())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	field, desc, err := parseOrderBy(req.GetOrderBy())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	size, err := pageSize(req.GetPageSize(), int32(estimator.NumProvinces), int32(estimator.NumProvinces))
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	query := fmt.Sprintf("%s|%s|%t", end, field, desc)
	offset := 0
	if req.GetPageToken() != "" {
		var tok pageToken
		if err := tok.decode(req.GetPageToken(), "provinces", query); err != nil {
			return nil, s.toError(ctx, err)
		}
		offset = tok.Offset
	}
	cells, factors, rev, err := s.store.CellsWithFactors(0)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	all := provinceTotals(cells, end, factors, rev)
	slices.SortStableFunc(all, func(a, b *pb.ComputeTotals) int {
		c := 0
		if key := orderKeys[field]; key != nil {
			c = cmp.Compare(key(a), key(b))
		}
		if desc {
			c = -c
		}
		return cmp.Or(c, strings.Compare(a.GetProvince().GetCode(), b.GetProvince().GetCode()))
	})
	resp := &pb.ListProvinceComputeResponse{Revision: rev}
	offset = min(offset, len(all))
	stop := min(offset+size, len(all))
	resp.Totals = all[offset:stop]
	if stop < len(all) {
		resp.NextPageToken = pageToken{Kind: "provinces", Query: query, Offset: stop}.encode()
	}
	return resp, nil
}

// provinceTotals sums the window for every province, including those with no
// cells (they report zeros rather than vanishing from the ranking).
func provinceTotals(cells []estimator.Cell, end estimator.Period, f estimator.Factors, rev uint64) []*pb.ComputeTotals {
	byProvince := map[uint32][]estimator.Cell{}
	for _, c := range cells {
		byProvince[c.Province] = append(byProvince[c.Province], c)
	}
	var out []*pb.ComputeTotals
	for _, p := range estimator.Provinces() {
		t := protoconv.TotalsToProto(estimator.Sum(byProvince[p.Code], end, f), rev)
		t.Province = protoconv.ProvinceToProto(p)
		out = append(out, t)
	}
	return out
}
