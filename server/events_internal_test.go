package server

import (
	"errors"
	"testing"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func TestFilterResponses(t *testing.T) {
	ev := func(rev uint64, prov string, year int32) *pb.Event {
		return &pb.Event{Revision: rev, Kind: pb.EventKind_EVENT_KIND_INDEX_SCORE, Change: &pb.Event_IndexScore{
			IndexScore: &pb.IndexScoreChange{Province: &pb.Province{Code: prov}, Year: year}}}
	}
	meth := &pb.Event{Revision: 9, Kind: pb.EventKind_EVENT_KIND_METHODOLOGY, Change: &pb.Event_MethodologyVersion{MethodologyVersion: 2}}
	events := []*pb.Event{ev(9, "440000", 2024), ev(9, "110000", 2024), ev(9, "440000", 2023), ev(9, "310000", 2024), ev(9, "440000", 2022), meth}
	tests := []struct {
		name      string
		f         filter
		wantSizes []int // events per response; all but the last are fragments
	}{
		{"OK/All", filter{}, []int{6}},
		{"OK/Fragments", filter{maxEvents: 2}, []int{2, 2, 2}},
		{"OK/UnevenFragments", filter{maxEvents: 4}, []int{4, 2}},
		{"OK/ProvinceKeepsMethodology", filter{provinces: []string{"440000"}}, []int{4}},
		{"OK/Year", filter{years: []int32{2024}, maxEvents: 2}, []int{2, 2}},
		{"OK/KindCompute", filter{kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}}, nil},
		{"OK/KindMethodology", filter{kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_METHODOLOGY}, provinces: []string{"110000"}}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f.responses(9, events)
			if len(got) != len(tt.wantSizes) {
				t.Fatalf("%d responses, want %d", len(got), len(tt.wantSizes))
			}
			for i, r := range got {
				if len(r.GetEvents()) != tt.wantSizes[i] || r.GetRevision() != 9 || r.GetFragment() != (i < len(got)-1) {
					t.Errorf("response %d: %d events, revision %d, fragment %v", i, len(r.GetEvents()), r.GetRevision(), r.GetFragment())
				}
			}
		})
	}
}

func TestNewFilterErrInvalid(t *testing.T) {
	_, err := newFilter(&pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_UNSPECIFIED}, Provinces: []string{"Atlantis"}})
	var e *estimator.Error
	if !errors.As(err, &e) || len(e.Violations) != 2 || e.Violations[0].Field != "kinds[0]" || e.Violations[1].Field != "provinces[0]" {
		t.Fatalf("err = %v", err)
	}
}
