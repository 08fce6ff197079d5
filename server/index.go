package server

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

// scoresOf computes a year's scores with a stored methodology from one
// consistent read. The current methodology gives exactly what the commit
// path stored, because both run the same estimator.ScoreYear on inputs built
// by the same store function. Results are cached per (year, version) until
// the revision moves, so repeated reads of an unchanged store cost one
// revision lookup; callers get their own copy of the slice to sort.
func (s *Server) scoresOf(year int32, version uint64) ([]estimator.ProvinceScore, estimator.Methodology, uint64, error) {
	if _, err := s.endPeriod(year, 0); err != nil {
		return nil, estimator.Methodology{}, 0, err
	}
	key := scoreKey{year, version}
	cached := s.revision()
	if e, ok := s.scores.get(key, cached); ok {
		return slices.Clone(e.scores), e.m, cached, nil
	}
	in, m, weights, rev, err := s.store.ScoreInputs(int(year), version)
	if err != nil {
		return nil, m, 0, err
	}
	s.observe(rev)
	scores, err := estimator.ScoreYear(in, m, weights)
	if err != nil {
		return nil, m, 0, fmt.Errorf("score %d with methodology %d: %w", year, m.Version, err)
	}
	s.scores.put(key, rev, scoreEntry{m: m, scores: scores})
	return slices.Clone(scores), m, rev, nil
}

type scoreKey struct {
	year    int32
	version uint64 // as asked: 0 is "current", which a revision change may move
}

// indexKey names one province's converted score.
type indexKey struct {
	province uint32
	year     int32
	version  uint64
}

type scoreEntry struct {
	m      estimator.Methodology
	scores []estimator.ProvinceScore
}

// GetIndex returns one province's scores.
func (s *Server) GetIndex(ctx context.Context, req *pb.GetIndexRequest) (*pb.GetIndexResponse, error) {
	prov, ok := estimator.LookupProvince(req.GetProvince())
	if !ok {
		return nil, s.toError(ctx, invalid("unknown province", estimator.FieldViolation{Field: "province", Description: fmt.Sprintf("unknown province %q", req.GetProvince())}))
	}
	key := indexKey{prov.Code, req.GetYear(), req.GetMethodologyVersion()}
	if sc, ok := s.indexes.get(key, s.revision()); ok {
		return &pb.GetIndexResponse{Score: sc}, nil
	}
	scores, m, rev, err := s.scoresOf(req.GetYear(), req.GetMethodologyVersion())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	for _, sc := range scores {
		if sc.Province == prov.Code {
			out := protoconv.ScoreToProto(sc, m.Version, rev)
			if err := s.addProvenance(out, prov.Code, int(req.GetYear())); err != nil {
				return nil, s.toError(ctx, err)
			}
			s.indexes.put(key, rev, out)
			return &pb.GetIndexResponse{Score: out}, nil
		}
	}
	return nil, s.toError(ctx, estimator.Errorf(estimator.EInternal, "province %d missing from scores", prov.Code))
}

// addProvenance names, on each observed leaf of one province's score, the
// source and the writer of its value, so that a reader can see whose
// statistics moved a score. It is read after the scores, in its own read
// transaction: a write between the two (rare, and visible by the revision
// moving) can pair a score with the newer provenance.
func (s *Server) addProvenance(sc *pb.IndexScore, province uint32, year int) error {
	obs, _, err := s.store.Observations(year)
	if err != nil {
		return err
	}
	byCode := map[string]*pb.LeafScore{}
	for _, l := range sc.GetLeaves() {
		byCode[l.GetIndicator()] = l
	}
	for _, o := range obs {
		if l := byCode[o.Indicator]; o.Province == province && l != nil {
			l.Source, l.Writer = o.Source, o.Actor
		}
	}
	return nil
}

// ListIndex returns a year's ranking by the composite or one dimension.
func (s *Server) ListIndex(ctx context.Context, req *pb.ListIndexRequest) (*pb.ListIndexResponse, error) {
	dim := req.GetDimension()
	if dim != "" && !slices.Contains(estimator.Dimensions(), dim) {
		return nil, s.toError(ctx, invalid("unknown dimension", estimator.FieldViolation{Field: "dimension", Description: fmt.Sprintf("%q is not one of scale, industry, tech, env, app", dim)}))
	}
	size, err := pageSize(req.GetPageSize(), int32(estimator.NumProvinces), int32(estimator.NumProvinces))
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	scores, m, rev, err := s.scoresOf(req.GetYear(), req.GetMethodologyVersion())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	// The token pins the methodology version actually used, so that paging
	// through "current" cannot mix two versions if an admin puts a new one.
	query := fmt.Sprintf("%d|%s|%d", req.GetYear(), dim, m.Version)
	offset := 0
	if req.GetPageToken() != "" {
		var tok pageToken
		if err := tok.decode(req.GetPageToken(), "index", query); err != nil {
			return nil, s.toError(ctx, err)
		}
		offset = tok.Offset
	}
	key := func(sc estimator.ProvinceScore) float64 {
		if dim == "" {
			if sc.Produced {
				return sc.Composite
			}
			return math.Inf(-1)
		}
		if v, ok := sc.Dimensions[dim]; ok {
			return v
		}
		return math.Inf(-1)
	}
	slices.SortStableFunc(scores, func(a, b estimator.ProvinceScore) int {
		return cmp.Or(cmp.Compare(key(b), key(a)), cmp.Compare(a.Province, b.Province))
	})
	offset = min(offset, len(scores))
	stop := min(offset+size, len(scores))
	resp := &pb.ListIndexResponse{MethodologyVersion: m.Version, Revision: rev}
	for _, sc := range scores[offset:stop] {
		resp.Scores = append(resp.Scores, protoconv.ScoreToProto(sc, m.Version, rev))
	}
	if stop < len(scores) {
		resp.NextPageToken = pageToken{Kind: "index", Query: query, Offset: stop}.encode()
	}
	return resp, nil
}

// GetMethodology returns a stored methodology.
func (s *Server) GetMethodology(ctx context.Context, req *pb.GetMethodologyRequest) (*pb.GetMethodologyResponse, error) {
	m, err := s.store.Methodology(req.GetVersion())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	weights, _, err := m.Weights()
	if err != nil && !m.AllowInconsistent {
		return nil, s.toError(ctx, fmt.Errorf("stored methodology %d no longer validates: %w", m.Version, err))
	}
	return &pb.GetMethodologyResponse{Methodology: protoconv.MethodologyToProto(m, weights)}, nil
}

// PutMethodology validates, stores and activates a new methodology version.
func (s *Server) PutMethodology(ctx context.Context, req *pb.PutMethodologyRequest) (*pb.PutMethodologyResponse, error) {
	if req.GetMethodology().GetHierarchy() == nil {
		return nil, s.toError(ctx, invalid("hierarchy is required", estimator.FieldViolation{Field: "methodology.hierarchy", Description: "required"}))
	}
	m := protoconv.MethodologyFromProto(req.GetMethodology(), req.GetAllowInconsistent())
	res, err := s.store.PutMethodology(m)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	weights, _, _ := res.Methodology.Weights()
	return &pb.PutMethodologyResponse{
		Methodology: protoconv.MethodologyToProto(res.Methodology, weights),
		Nodes:       protoconv.NodesToProto(res.Nodes), Revision: res.Revision, ScoresChanged: int32(res.ScoresChanged),
	}, nil
}

// EvaluateWeights solves a matrix or a hierarchy without storing anything.
func (s *Server) EvaluateWeights(ctx context.Context, req *pb.EvaluateWeightsRequest) (*pb.EvaluateWeightsResponse, error) {
	switch in := req.GetInput().(type) {
	case *pb.EvaluateWeightsRequest_Matrix:
		r, err := estimator.AHP(protoconv.MatrixFromProto(in.Matrix), protoconv.AHPMethodFromProto(req.GetMethod()))
		if err != nil {
			return nil, s.toError(ctx, err)
		}
		return &pb.EvaluateWeightsResponse{Evaluation: protoconv.AHPToProto(r)}, nil
	case *pb.EvaluateWeightsRequest_Hierarchy:
		weights, nodes, err := estimator.SynthesizeWeights(protoconv.WeightNodeFromProto(in.Hierarchy))
		if err != nil {
			return nil, s.toError(ctx, err)
		}
		resp := &pb.EvaluateWeightsResponse{Nodes: protoconv.NodesToProto(nodes)}
		if len(resp.Nodes) > 0 {
			resp.Evaluation = resp.Nodes[0].GetEvaluation()
		}
		resp.LeafWeights = protoconv.MethodologyToProto(estimator.Methodology{}, weights).GetLeafWeights()
		return resp, nil
	}
	return nil, s.toError(ctx, invalid("nothing to evaluate", estimator.FieldViolation{Field: "input", Description: "give a matrix or a hierarchy"}))
}

// AnalyzeRelationship fits gdp or digital_economy_core on the composite.
func (s *Server) AnalyzeRelationship(ctx context.Context, req *pb.AnalyzeRelationshipRequest) (*pb.AnalyzeRelationshipResponse, error) {
	code := map[pb.RelationshipTarget]string{
		pb.RelationshipTarget_RELATIONSHIP_TARGET_GDP:                  "gdp",
		pb.RelationshipTarget_RELATIONSHIP_TARGET_DIGITAL_ECONOMY_CORE: "digital_economy_core",
	}[req.GetY()]
	if code == "" {
		return nil, s.toError(ctx, invalid("unknown y", estimator.FieldViolation{Field: "y", Description: "y must be GDP or DIGITAL_ECONOMY_CORE"}))
	}
	scores, m, rev, err := s.scoresOf(req.GetYear(), req.GetMethodologyVersion())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	obs, _, err := s.store.Observations(int(req.GetYear()))
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	y := map[uint32]estimator.Observation{}
	for _, o := range obs {
		if o.Indicator == code {
			y[o.Province] = o
		}
	}
	resp := &pb.AnalyzeRelationshipResponse{MethodologyVersion: m.Version, Revision: rev}
	var xs, ys []float64
	for _, sc := range scores {
		o, ok := y[sc.Province]
		if !sc.Produced || !ok {
			continue
		}
		xs, ys = append(xs, sc.Composite), append(ys, o.Value)
		prov, _ := estimator.ProvinceByCode(sc.Province)
		resp.Points = append(resp.Points, &pb.RelationshipPoint{Province: protoconv.ProvinceToProto(prov), Composite: sc.Composite, Y: o.Value,
			Source: o.Source, Writer: o.Actor})
	}
	slope, intercept, r2, n, err := estimator.FitLine(xs, ys)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	resp.Slope, resp.Intercept, resp.RSquared, resp.N = slope, intercept, r2, int32(n)
	return resp, nil
}
