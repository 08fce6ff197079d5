package server_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestStatisticsOwnership: only statisticians and admins put statistics; a
// value far above what is stored for its indicator is refused unless the
// batch replaces with force; a methodology's stated range is enforced; and
// GetIndex shows who wrote each leaf's value and from what source.
func TestStatisticsOwnership(t *testing.T) {
	e := newEnv(t)
	base := []*pb.Observation{observation("CN-GD", 2024, "app.cases", 80), observation("CN-BJ", 2024, "app.cases", 60)}
	if ack := e.putObs(e.stat, false, base...); ack.Err != nil {
		t.Fatal(ack.Err)
	}
	leaf := func(indicator string) *pb.LeafScore {
		t.Helper()
		for _, l := range e.score("CN-GD", 2024, 0).GetLeaves() {
			if l.GetIndicator() == indicator {
				return l
			}
		}
		t.Fatalf("no leaf %s", indicator)
		return nil
	}
	if l := leaf("app.cases"); l.GetValue() != 80 || l.GetWriter() != "nbs" || l.GetSource() != "hand-made test value" {
		t.Errorf("leaf app.cases = %v, want 80 written by nbs with its source", l)
	}
	t.Run("ErrVendorCannotPut", func(t *testing.T) {
		_, err := e.vendorA.PutObservations(ctx(t), []*pb.Observation{observation("CN-GD", 2024, "app.cases", 999999)}, client.IngestOptions{Replace: true})
		if status.Code(err) != codes.PermissionDenied {
			t.Fatalf("vendor put: %v, want PermissionDenied", err)
		}
	})
	t.Run("ErrImplausibleReplace", func(t *testing.T) {
		ack := e.putObs(e.stat, true, observation("CN-GD", 2024, "app.cases", 999999))
		if status.Code(ack.Err) != codes.InvalidArgument {
			t.Fatalf("%v, want InvalidArgument", ack.Err)
		}
		wantViolation(t, ack.Err, "observations[0].value")
		if l := leaf("app.cases"); l.GetValue() != 80 {
			t.Errorf("value after a refused batch: %g, want 80", l.GetValue())
		}
	})
	t.Run("ErrForceWithoutReplace", func(t *testing.T) {
		var ack client.BatchResult
		_, err := e.stat.PutObservations(ctx(t), []*pb.Observation{observation("CN-GD", 2025, "app.cases", 999999)},
			client.IngestOptions{Force: true, OnAck: func(b client.BatchResult) { ack = b }})
		if err != nil || status.Code(ack.Err) != codes.InvalidArgument {
			t.Fatalf("force without replace: %v / %v, want InvalidArgument", err, ack.Err)
		}
		wantViolation(t, ack.Err, "force")
	})
	t.Run("ForceWithReplace", func(t *testing.T) {
		_, err := e.admin.PutObservations(ctx(t), []*pb.Observation{observation("CN-GD", 2024, "app.cases", 999)},
			client.IngestOptions{Replace: true, Force: true, OnAck: func(b client.BatchResult) {
				if b.Err != nil {
					t.Errorf("forced batch: %v", b.Err)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		if l := leaf("app.cases"); l.GetValue() != 999 || l.GetWriter() != "admin" {
			t.Errorf("forced leaf = %v, want 999 written by admin", l)
		}
	})
	t.Run("ErrOutsideStatedRange", func(t *testing.T) {
		m, err := e.reader.Methodology(ctx(t), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.GetPlausibility().GetMaxGrowthFactor(); got != 10 {
			t.Errorf("default max_growth_factor shown as %g, want 10", got)
		}
		m.Plausibility = &pb.Plausibility{MaxGrowthFactor: 3, Ranges: []*pb.IndicatorRange{
			{Indicator: "env.open_data", Min: 0, Max: 100},
			{Indicator: "tech.rnd", MaxGrowthFactor: 1.5}, // a factor of its own, no range
		}}
		if _, err := e.admin.PutMethodology(ctx(t), m, false); err != nil {
			t.Fatal(err)
		}
		ack := e.putObs(e.stat, false, observation("CN-GD", 2024, "env.open_data", 101))
		if status.Code(ack.Err) != codes.InvalidArgument || !strings.Contains(fmt.Sprint(status.Convert(ack.Err).Details()), "range 0..100") {
			t.Fatalf("%v %v, want InvalidArgument naming the range", ack.Err, status.Convert(ack.Err).Details())
		}
		wantViolation(t, ack.Err, "observations[0].value")
		// The new factor: 3 × the largest stored app.cases (999).
		if ack := e.putObs(e.stat, false, observation("CN-SH", 2024, "app.cases", 3000)); status.Code(ack.Err) != codes.InvalidArgument {
			t.Errorf("3000 against a factor of 3 over 999: %v, want InvalidArgument", ack.Err)
		}
		if ack := e.putObs(e.stat, false, observation("CN-SH", 2024, "app.cases", 2900)); ack.Err != nil {
			t.Errorf("2900 against a factor of 3 over 999: %v", ack.Err)
		}
		// tech.rnd's own factor, 1.5, over its largest stored value, 100.
		if ack := e.putObs(e.stat, false, observation("CN-BJ", 2024, "tech.rnd", 100)); ack.Err != nil {
			t.Fatalf("the first tech.rnd: %v", ack.Err)
		}
		if ack := e.putObs(e.stat, false, observation("CN-GD", 2024, "tech.rnd", 160)); status.Code(ack.Err) != codes.InvalidArgument {
			t.Errorf("160 against tech.rnd's factor of 1.5 over 100: %v, want InvalidArgument", ack.Err)
		}
		if ack := e.putObs(e.stat, false, observation("CN-GD", 2024, "tech.rnd", 140)); ack.Err != nil {
			t.Errorf("140 against tech.rnd's factor of 1.5 over 100: %v", ack.Err)
		}
	})
	t.Run("ErrBadBounds", func(t *testing.T) {
		m, err := e.reader.Methodology(ctx(t), 0)
		if err != nil {
			t.Fatal(err)
		}
		m.Plausibility = &pb.Plausibility{MaxGrowthFactor: 0.5, Ranges: []*pb.IndicatorRange{
			{Indicator: "scale.ai", Min: 2, Max: 1}, {Indicator: "app.cases", MaxGrowthFactor: 0.9}}}
		_, err = e.admin.PutMethodology(ctx(t), m, false)
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("%v, want InvalidArgument", err)
		}
		wantViolation(t, err, "plausibility.max_growth_factor")
		wantViolation(t, err, "plausibility.ranges[scale.ai].indicator")
		wantViolation(t, err, "plausibility.ranges[scale.ai].max")
		wantViolation(t, err, "plausibility.ranges[app.cases].max_growth_factor")
	})
}
