package server_test

import (
	"strconv"
	"testing"

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
