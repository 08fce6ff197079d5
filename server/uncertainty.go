package server

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

// DefaultUncertaintySamples is the base sample size when a request names
// none, and the one the kept analyses use (1,000 × 7 runs: about a second of
// one core for 31 provinces).
const DefaultUncertaintySamples = 1000

// uncertaintyKey names one analysis as asked; assumptions is their
// canonical text, so equal requests share an entry.
type uncertaintyKey struct {
	year        int32
	version     uint64
	samples     int
	seed        uint64
	assumptions string
}

// uncertaintyEntry is one computed analysis and what it came from.
type uncertaintyEntry struct {
	m    estimator.Methodology
	a    estimator.Assumptions
	u    estimator.Uncertainty
	rev  uint64
	kept bool
	at   time.Time // when it was computed
}

// uncertaintyRequest is what Get and List share.
type uncertaintyRequest interface {
	GetYear() int32
	GetMethodologyVersion() uint64
	GetSamples() int32
	GetSeed() uint64
	GetAssumptions() *pb.UncertaintyAssumptions
}

// uncertaintyOf answers an analysis: the kept result when the request is
// the default one and the kept result is current, else a cached on-demand
// result at the current revision, else a computation bounded by ctx. One
// computation runs at a time, so that analyses cannot starve ingest of both
// cores; a caller waiting for its turn is bounded by its deadline too.
func (s *Server) uncertaintyOf(ctx context.Context, req uncertaintyRequest) (uncertaintyEntry, error) {
	if _, err := s.endPeriod(req.GetYear(), 0); err != nil {
		return uncertaintyEntry{}, err
	}
	a, badVary := protoconv.AssumptionsFromProto(req.GetAssumptions())
	var vs []estimator.FieldViolation
	for _, i := range badVary {
		vs = append(vs, estimator.FieldViolation{Field: fmt.Sprintf("assumptions.vary[%d]", i), Description: "unknown choice"})
	}
	samples := int(req.GetSamples())
	if samples == 0 {
		samples = DefaultUncertaintySamples
	}
	if samples < 1 || samples > estimator.MaxUncertaintySamples {
		vs = append(vs, estimator.FieldViolation{Field: "samples", Description: fmt.Sprintf("samples must be within 1..%d (0: %d), not %d", estimator.MaxUncertaintySamples, DefaultUncertaintySamples, req.GetSamples())})
	}
	if err := estimator.Invalid("invalid uncertainty request", vs); err != nil {
		return uncertaintyEntry{}, err
	}
	isDefault := req.GetAssumptions() == nil && req.GetSeed() == 0 && samples == DefaultUncertaintySamples
	if isDefault {
		if e, ok := s.uncertainty.current(req.GetYear(), req.GetMethodologyVersion(), s.revision()); ok {
			return e, nil
		}
	}
	key := uncertaintyKey{req.GetYear(), req.GetMethodologyVersion(), samples, req.GetSeed(), fmt.Sprintf("%+v", a)}
	if e, ok := s.uncertainties.get(key, s.revision()); ok {
		return e, nil
	}
	select {
	case s.analysing <- struct{}{}:
		defer func() { <-s.analysing }()
	case <-ctx.Done():
		return uncertaintyEntry{}, fmt.Errorf("waiting to analyse %d: %w", req.GetYear(), ctx.Err())
	}
	// Half the cores: an analysis must leave room for acks.
	e, err := s.analyseWith(ctx, int(req.GetYear()), req.GetMethodologyVersion(), samples, req.GetSeed(), a, max(1, runtime.GOMAXPROCS(0)/2))
	if err != nil {
		return uncertaintyEntry{}, err
	}
	if isDefault && req.GetMethodologyVersion() == 0 && s.uncertainty.put(e) {
		// Kept from now on: the worker keeps the year current.
		e.kept = true
	}
	s.uncertainties.put(key, e.rev, e)
	return e, nil
}

// analyseWith reads one consistent snapshot and runs the analysis on it
// with that many workers.
func (s *Server) analyseWith(ctx context.Context, year int, version uint64, samples int, seed uint64, a estimator.Assumptions, workers int) (uncertaintyEntry, error) {
	return s.analysePaced(ctx, year, version, samples, seed, a, workers, nil)
}

// analysePaced is analyseWith with a pace (estimator.UncertaintyConfig.Pace).
func (s *Server) analysePaced(ctx context.Context, year int, version uint64, samples int, seed uint64, a estimator.Assumptions, workers int, pace func()) (uncertaintyEntry, error) {
	in, m, rev, err := s.store.NativeScoreInputs(year, version)
	if err != nil {
		return uncertaintyEntry{}, err
	}
	s.observe(rev)
	if s.afterSnapshot != nil {
		s.afterSnapshot(rev)
	}
	by := "request"
	if pace != nil { // only the worker paces itself
		by = "worker"
	}
	start := time.Now()
	defer func() { s.metrics.uncertaintySeconds.WithLabelValues(by).Observe(time.Since(start).Seconds()) }()
	u, err := estimator.RankUncertainty(ctx, in, m, estimator.UncertaintyConfig{
		Samples: samples, Seed: seed, Assumptions: a, Workers: workers, Pace: pace,
	})
	if err != nil {
		return uncertaintyEntry{}, fmt.Errorf("uncertainty of %d with methodology %d: %w", year, m.Version, err)
	}
	return uncertaintyEntry{m: m, a: a, u: u, rev: rev, at: s.now()}, nil
}

// runToProto states what an analysis was computed from.
func runToProto(e uncertaintyEntry) *pb.UncertaintyRun {
	return &pb.UncertaintyRun{
		Year: int32(e.u.Year), MethodologyVersion: e.m.Version, Revision: e.rev,
		Samples: int32(e.u.Samples), Seed: e.u.Seed, Runs: int64(e.u.Runs),
		Assumptions: protoconv.AssumptionsToProto(e.a, e.a.Alternatives(e.m)), Kept: e.kept,
	}
}

// byMedianRank orders an analysis's provinces: median rank, then nominal
// rank (none last), then code.
func byMedianRank(ps []estimator.ProvinceUncertainty) []estimator.ProvinceUncertainty {
	out := slices.Clone(ps)
	nominal := func(p estimator.ProvinceUncertainty) int {
		if p.NominalRank == 0 {
			return estimator.NumProvinces + 1
		}
		return p.NominalRank
	}
	slices.SortStableFunc(out, func(a, b estimator.ProvinceUncertainty) int {
		return cmp.Or(cmp.Compare(a.MedianRank, b.MedianRank), cmp.Compare(nominal(a), nominal(b)), cmp.Compare(a.Province, b.Province))
	})
	return out
}

// GetRankUncertainty returns one province's rank uncertainty.
func (s *Server) GetRankUncertainty(ctx context.Context, req *pb.GetRankUncertaintyRequest) (*pb.GetRankUncertaintyResponse, error) {
	prov, ok := estimator.LookupProvince(req.GetProvince())
	if !ok {
		return nil, s.toError(ctx, invalid("unknown province", estimator.FieldViolation{Field: "province", Description: fmt.Sprintf("unknown province %q", req.GetProvince())}))
	}
	e, err := s.uncertaintyOf(ctx, req)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	for _, p := range e.u.Provinces {
		if p.Province == prov.Code {
			return &pb.GetRankUncertaintyResponse{Uncertainty: protoconv.RankUncertaintyToProto(p, e.u.Varied), Run: runToProto(e)}, nil
		}
	}
	return nil, s.toError(ctx, estimator.Errorf(estimator.EInternal, "province %d missing from the analysis", prov.Code))
}

// ListRankUncertainty returns a year's analysis by median rank, paged.
func (s *Server) ListRankUncertainty(ctx context.Context, req *pb.ListRankUncertaintyRequest) (*pb.ListRankUncertaintyResponse, error) {
	size, err := pageSize(req.GetPageSize(), int32(estimator.NumProvinces), int32(estimator.NumProvinces))
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	e, err := s.uncertaintyOf(ctx, req)
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	// The token pins what the first page was computed from, so that later
	// pages cannot mix two analyses.
	query := fmt.Sprintf("%d|%d|%d|%d|%+v", e.u.Year, e.m.Version, e.u.Samples, e.u.Seed, e.a)
	offset := 0
	if req.GetPageToken() != "" {
		var tok pageToken
		if err := tok.decode(req.GetPageToken(), "uncertainty", query); err != nil {
			return nil, s.toError(ctx, err)
		}
		offset = tok.Offset
	}
	ps := byMedianRank(e.u.Provinces)
	offset = min(offset, len(ps))
	stop := min(offset+size, len(ps))
	resp := &pb.ListRankUncertaintyResponse{Run: runToProto(e)}
	for _, p := range ps[offset:stop] {
		resp.Provinces = append(resp.Provinces, protoconv.RankUncertaintyToProto(p, e.u.Varied))
	}
	if stop < len(ps) {
		resp.NextPageToken = pageToken{Kind: "uncertainty", Query: query, Offset: stop}.encode()
	}
	return resp, nil
}

// uncertaintyEvent is a kept analysis as a watch event, stamped with the
// revision it reflects and the time it was computed.
func uncertaintyEvent(e uncertaintyEntry) *pb.Event {
	c := &pb.RankUncertaintyChange{Run: runToProto(e)}
	for _, p := range byMedianRank(e.u.Provinces) {
		c.Provinces = append(c.Provinces, protoconv.RankUncertaintyToProto(p, e.u.Varied))
	}
	return &pb.Event{Revision: e.rev, Kind: pb.EventKind_EVENT_KIND_UNCERTAINTY, CommitTimeUnixNanos: e.at.UnixNano(),
		Change: &pb.Event_Uncertainty{Uncertainty: c}}
}
