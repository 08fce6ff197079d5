package server

import (
	"fmt"
	"slices"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/store"
)

// eventsOf turns one change-log entry into watch events, once, whoever
// watches: cells first (in key order), then scores, then the methodology.
func eventsOf(c store.Change) []*pb.Event {
	stamp := func(kind pb.EventKind) *pb.Event {
		return &pb.Event{Revision: c.Revision, Kind: kind, CommitTimeUnixNanos: c.Time.UnixNano()}
	}
	var out []*pb.Event
	for _, cell := range c.Cells {
		e := stamp(pb.EventKind_EVENT_KIND_COMPUTE)
		e.Change = &pb.Event_Compute{Compute: protoconv.CellChangeToProto(cell)}
		out = append(out, e)
	}
	for _, sc := range c.Scores {
		e := stamp(pb.EventKind_EVENT_KIND_INDEX_SCORE)
		e.Change = &pb.Event_IndexScore{IndexScore: protoconv.ScoreChangeToProto(sc)}
		out = append(out, e)
	}
	if c.Methodology != 0 {
		e := stamp(pb.EventKind_EVENT_KIND_METHODOLOGY)
		e.Change = &pb.Event_MethodologyVersion{MethodologyVersion: c.Methodology}
		out = append(out, e)
	}
	return out
}

// filter is a watcher's selection; empty sets pass everything. It also
// knows how many events fit one response.
type filter struct {
	kinds     []pb.EventKind
	provinces []string // GB/T codes
	years     []int32
	maxEvents int    // 0 means maxEventsPerResponse
	key       string // equal for equal filters, so the hub filters once per distinct filter
}

func newFilter(req *pb.WatchRequest) (filter, error) {
	f := filter{years: req.GetYears()}
	var vs []estimator.FieldViolation
	for i, k := range req.GetKinds() {
		if _, ok := pb.EventKind_name[int32(k)]; !ok || k == pb.EventKind_EVENT_KIND_UNSPECIFIED {
			vs = append(vs, estimator.FieldViolation{Field: fieldIndex("kinds", i), Description: "unknown event kind"})
		}
		f.kinds = append(f.kinds, k)
	}
	for i, p := range req.GetProvinces() {
		prov, ok := estimator.LookupProvince(p)
		if !ok {
			vs = append(vs, estimator.FieldViolation{Field: fieldIndex("provinces", i), Description: "unknown province " + p})
		}
		f.provinces = append(f.provinces, protoconv.ProvinceToProto(prov).GetCode())
	}
	return f, estimator.Invalid("invalid watch filter", vs)
}

func (f filter) pass(e *pb.Event) bool {
	if len(f.kinds) > 0 && !slices.Contains(f.kinds, e.GetKind()) {
		return false
	}
	if e.GetKind() == pb.EventKind_EVENT_KIND_UNCERTAINTY {
		// Opt-in, and an analysis covers every province (watch.proto).
		return f.wantsUncertainty() && (len(f.years) == 0 || slices.Contains(f.years, e.GetUncertainty().GetRun().GetYear()))
	}
	if e.GetKind() == pb.EventKind_EVENT_KIND_METHODOLOGY {
		return true
	}
	var prov string
	var year int32
	switch c := e.GetChange().(type) {
	case *pb.Event_Compute:
		prov, year = c.Compute.GetProvince().GetCode(), c.Compute.GetPeriod().GetYear()
	case *pb.Event_IndexScore:
		prov, year = c.IndexScore.GetProvince().GetCode(), c.IndexScore.GetYear()
	}
	return (len(f.provinces) == 0 || slices.Contains(f.provinces, prov)) &&
		(len(f.years) == 0 || slices.Contains(f.years, year))
}

// wantsUncertainty reports whether the watch listed EVENT_KIND_UNCERTAINTY.
func (f filter) wantsUncertainty() bool {
	return slices.Contains(f.kinds, pb.EventKind_EVENT_KIND_UNCERTAINTY)
}

// maxEventsPerResponse keeps a response well under gRPC's default 4 MiB
// receive limit (an event is a few hundred bytes at most); a revision with
// more events is sent as fragments.
const maxEventsPerResponse = 2000

// responses packs one revision's passing events into responses: none if no
// event passes, fragments if too many.
func (f filter) responses(rev uint64, events []*pb.Event) []*pb.WatchResponse {
	var passing []*pb.Event
	for _, e := range events {
		if f.pass(e) {
			passing = append(passing, e)
		}
	}
	var out []*pb.WatchResponse
	for len(passing) > 0 {
		n := min(len(passing), f.perResponse())
		out = append(out, &pb.WatchResponse{Events: passing[:n], Revision: rev, Fragment: n < len(passing)})
		passing = passing[n:]
	}
	return out
}

// perResponse is how many events one response may carry.
func (f filter) perResponse() int {
	if f.maxEvents > 0 {
		return f.maxEvents
	}
	return maxEventsPerResponse
}

func fieldIndex(field string, i int) string {
	return fmt.Sprintf("%s[%d]", field, i)
}
