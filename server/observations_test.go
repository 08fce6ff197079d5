package server_test

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestPutObservationsResumesAcrossRestart is TestIngestResumesAcrossRestart
// for the observations stream, which shares the client's batch machinery:
// after a hard restart mid-stream every observation is stored exactly once.
func TestPutObservationsResumesAcrossRestart(t *testing.T) {
	e := newEnv(t)
	codes := []string{"industry.devices", "industry.chips", "industry.software", "tech.patent_applications", "tech.patent_grants",
		"tech.rnd", "env.bandwidth", "env.it_spend", "env.open_data", "app.digital_economy"}
	var obs []*pb.Observation
	for _, p := range estimator.Provinces()[:30] {
		for i, code := range codes {
			obs = append(obs, observation(strconv.FormatUint(uint64(p.Code), 10), 2024, code, float64(1+i)))
		}
	}
	restarted := false
	sum, err := e.admin.PutObservations(ctx(t), obs, client.IngestOptions{
		BatchSize: 10, Window: 4,
		OnAck: func(b client.BatchResult) {
			if b.Index == 5 && !restarted {
				restarted = true
				e.restart()
			}
		},
	})
	if err != nil {
		t.Fatalf("put observations across restart: %v", err)
	}
	if !restarted || sum.Batches != 30 || len(sum.Rejected) != 0 || sum.Created > 300 || sum.Created+sum.Unchanged < 300 {
		t.Fatalf("restarted %v, summary %+v", restarted, sum)
	}
	scores, err := e.reader.ListIndex(ctx(t), 2024, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	present := 0
	for _, s := range scores {
		for _, l := range s.GetLeaves() {
			if l.GetPresent() {
				present++
			}
		}
	}
	if present != 300 {
		t.Errorf("%d observed leaves, want 300", present)
	}
}

// TestBadObservationsRejectBatch sends, for each kind of bad input, a batch
// of a good observation followed by the bad one: the batch is rejected whole
// with the right code and a BadRequest violation naming the bad entry's
// field, the revision does not move, and the good observation is not stored.
func TestBadObservationsRejectBatch(t *testing.T) {
	e := newEnv(t)
	stored := e.putObs(e.admin, false, observation("CN-SX", 2024, "tech.rnd", 5))
	if stored.Err != nil {
		t.Fatal(stored.Err)
	}
	with := func(f func(o *pb.Observation)) *pb.Observation {
		o := observation("CN-GD", 2024, "industry.devices", 10)
		f(o)
		return o
	}
	for _, tc := range []struct {
		name  string
		bad   []*pb.Observation
		code  codes.Code
		field string
	}{
		{"ErrUnknownIndicator", []*pb.Observation{with(func(o *pb.Observation) { o.Indicator = "industry.widgets" })}, codes.InvalidArgument, "observations[1].indicator"},
		{"ErrDerivedIndicator", []*pb.Observation{with(func(o *pb.Observation) { o.Indicator, o.Unit = "scale.ai", "EFlops" })}, codes.InvalidArgument, "observations[1].indicator"},
		{"ErrWrongUnit", []*pb.Observation{with(func(o *pb.Observation) { o.Unit = "units" })}, codes.InvalidArgument, "observations[1].unit"},
		{"ErrNegative", []*pb.Observation{with(func(o *pb.Observation) { o.Value = -1 })}, codes.InvalidArgument, "observations[1].value"},
		{"ErrNaN", []*pb.Observation{with(func(o *pb.Observation) { o.Value = math.NaN() })}, codes.InvalidArgument, "observations[1].value"},
		{"ErrInf", []*pb.Observation{with(func(o *pb.Observation) { o.Value = math.Inf(1) })}, codes.InvalidArgument, "observations[1].value"},
		{"ErrUnknownProvince", []*pb.Observation{with(func(o *pb.Observation) { o.Province = "Atlantis" })}, codes.InvalidArgument, "observations[1].province"},
		{"ErrYearTooEarly", []*pb.Observation{with(func(o *pb.Observation) { o.Year = 1989 })}, codes.InvalidArgument, "observations[1].year"},
		{"ErrYearTooLate", []*pb.Observation{with(func(o *pb.Observation) { o.Year = 2027 })}, codes.InvalidArgument, "observations[1].year"}, // the clock says 2025
		{"ErrDuplicateKey", []*pb.Observation{observation("Guangdong", 2024, "tech.rnd", 1), observation("广东", 2024, "tech.rnd", 2)}, codes.InvalidArgument, "observations[2].indicator"},
		{"ErrChangedWithoutReplace", []*pb.Observation{observation("CN-SX", 2024, "tech.rnd", 6)}, codes.AlreadyExists, "observations[1].value"},
		// Over 10 times the largest stored tech.rnd (5): the default bound.
		{"ErrImplausibleValue", []*pb.Observation{observation("CN-GD", 2024, "tech.rnd", 51)}, codes.InvalidArgument, "observations[1].value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			batch := append([]*pb.Observation{observation("CN-HE", 2024, "industry.devices", 10)}, tc.bad...)
			ack := e.putObs(e.stat, false, batch...)
			if status.Code(ack.Err) != tc.code {
				t.Fatalf("%v, want %s", ack.Err, tc.code)
			}
			wantViolation(t, ack.Err, tc.field)
			if ack.Created+ack.Replaced+ack.Unchanged != 0 || ack.Revision != stored.Revision {
				t.Errorf("ack %+v, want nothing counted at revision %d", ack, stored.Revision)
			}
			if l := indexLeaf(e.score("CN-HE", 2024, 0), "industry.devices"); l.GetPresent() {
				t.Errorf("the good observation of the rejected batch was stored: %v", l)
			}
		})
	}
}

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

// TestRejectedObservationBatchNamesEveryViolation: an observation batch is
// answered with its field violations and the store's plausibility findings
// together, in record order. Field checks used to reject the batch before
// the store's bounds were asked, so an implausible value showed only once
// the statistician had fixed a wrong unit.
func TestRejectedObservationBatchNamesEveryViolation(t *testing.T) {
	e := newEnv(t)
	if ack := e.putObs(e.stat, false, observation("CN-GD", 2024, "app.cases", 80)); ack.Err != nil {
		t.Fatal(ack.Err)
	}
	badUnit := observation("CN-JS", 2024, "tech.rnd", 300)
	badUnit.Unit = "Gbps"
	fine := observation("CN-BJ", 2024, "app.cases", 60)
	ack := e.putObs(e.stat, false,
		fine,
		observation("CN-SH", 2024, "app.cases", 999999), // over 10 × the largest stored, 80
		badUnit,
		observation("CN-ZJ", 2024, "app.cases", 5000),
		observation("CN-BJ", 2024, "app.cases", 61), // repeats observations[0]
	)
	if status.Code(ack.Err) != codes.InvalidArgument {
		t.Fatalf("ack err = %v, want InvalidArgument", ack.Err)
	}
	if msg := status.Convert(ack.Err).Message(); msg != "batch rejected: invalid or implausible observations" {
		t.Errorf("message %q, want the store's wording of a rejected batch", msg)
	}
	var fields, repeat []string
	for _, d := range status.Convert(ack.Err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
				if v.GetField() == "observations[4].indicator" {
					repeat = append(repeat, v.GetDescription())
				}
			}
		}
	}
	want := []string{"observations[1].value", "observations[2].unit", "observations[3].value", "observations[4].indicator"}
	if !slices.Equal(fields, want) {
		t.Errorf("violations %v, want %v in record order", fields, want)
	}
	if len(repeat) != 1 || !strings.HasSuffix(repeat[0], "is also observations[0]") {
		t.Errorf("repeat described as %q, want it to name observations[0]", repeat)
	}
	// Nothing of the rejected batch was stored: its fine observation is new.
	if ack := e.putObs(e.stat, false, fine); ack.Err != nil || ack.Created != 1 {
		t.Errorf("resending the fine observation: created %d, err %v; want 1 created", ack.Created, ack.Err)
	}
}
