package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
)

// benchUncertainty (P6) measures the rank-uncertainty analysis on the demo
// data: one analysis of 2024 (1,000 samples, every choice varied: 7,000
// runs × 31 provinces) against the same number of plain ScoreYear calls in
// the same run (what scoring the year once per run costs), with one worker
// (the background worker's setting) and with every core; then the ack
// latency of observation writes that move 2024's scores with the background
// worker on against the same server with it off.
func benchUncertainty(ctx context.Context, c config) ([]row, error) {
	path := dbPath(c.dir, "uncertainty")
	defer os.Remove(path)
	r, err := newRig(path, 1, server.Config{})
	if err != nil {
		return nil, err
	}
	if err := loadDemo(ctx, r); err != nil {
		r.close()
		return nil, err
	}
	in, m, _, err := r.db.NativeScoreInputs(2024, 0)
	if err != nil {
		r.close()
		return nil, err
	}
	scoreIn, _, weights, _, err := r.db.ScoreInputs(2024, 0)
	r.close()
	if err != nil {
		return nil, err
	}
	repeat := 5
	if c.short {
		repeat = 1
	}
	cfg := estimator.UncertaintyConfig{Samples: 1000, Assumptions: estimator.DefaultAssumptions()}
	var rows []row
	var u estimator.Uncertainty
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		cfg.Workers = workers
		var times []time.Duration
		var allocs uint64
		for range repeat {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			if u, err = estimator.RankUncertainty(ctx, in, m, cfg); err != nil {
				return nil, err
			}
			times = append(times, time.Since(start))
			runtime.ReadMemStats(&after)
			allocs = after.Mallocs - before.Mallocs
		}
		base, err := plainScoring(scoreIn, m, weights, u.Runs, repeat)
		if err != nil {
			return nil, err
		}
		t := medianDuration(times)
		rows = append(rows, row{group: "P6 uncertainty",
			name:  fmt.Sprintf("1,000 samples × 31 provinces × 2024, every choice varied (%d runs), %d worker(s); %d allocs", u.Runs, workers, allocs),
			value: ms(t), baseline: ms(base) + " for as many ScoreYear calls", ratio: fmt.Sprintf("%.2f×", float64(t)/float64(base)),
			target: "< 1 s", ok: yes(t < time.Second)})
	}
	acks, err := ackLatency(ctx, c)
	if err != nil {
		return nil, err
	}
	return append(rows, acks...), nil
}

// plainScoring times runs calls of estimator.ScoreYear on the FP32-scaled
// inputs (median of repeat timings).
func plainScoring(in estimator.ScoreInputs, m estimator.Methodology, weights map[string]float64, runs, repeat int) (time.Duration, error) {
	var times []time.Duration
	for range repeat {
		start := time.Now()
		for range runs {
			if _, err := estimator.ScoreYear(in, m, weights); err != nil {
				return 0, err
			}
		}
		times = append(times, time.Since(start))
	}
	return medianDuration(times), nil
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// ackLatency writes one observation at a time that moves 2024's scores
// (Guangdong's device output, nudged up and down), paced so that the
// background worker recomputes between writes, and compares the acks'
// latency with the worker on and off. Rounds alternate off and on so that
// both see the same machine.
func ackLatency(ctx context.Context, c config) ([]row, error) {
	writes, rounds, pace := 200, 2, 50*time.Millisecond
	if c.short {
		writes, rounds = 40, 1
	}
	var base float64
	for _, o := range demodata.Observations() {
		if o.Province == 440000 && o.Year == 2024 && o.Indicator == "industry.devices" {
			base = o.Value
		}
	}
	if base == 0 {
		return nil, fmt.Errorf("the demo data has no 2024 device output for Guangdong")
	}
	lat := map[bool][]time.Duration{}
	analyses := 0
	for round := range rounds {
		for _, keep := range []bool{false, true} {
			path := dbPath(c.dir, fmt.Sprintf("acks-%v-%d", keep, round))
			r, err := newRig(path, 1, server.Config{KeepUncertainty: keep})
			if err != nil {
				return nil, err
			}
			err = loadDemo(ctx, r)
			for i := 0; err == nil && i < writes; i++ {
				v := base * (1 + 0.001*float64(i%2+1))
				obs := &pb.Observation{Province: "440000", Year: 2024, Indicator: "industry.devices", Value: v, Unit: "10^4 units", Source: "bench"}
				start := time.Now()
				var sum client.IngestSummary
				sum, err = r.admin.PutObservations(ctx, []*pb.Observation{obs}, client.IngestOptions{Replace: true, Force: true})
				lat[keep] = append(lat[keep], time.Since(start))
				if err == nil && len(sum.Rejected) > 0 {
					err = sum.Rejected[0].Err
				}
				time.Sleep(pace)
			}
			if keep && err == nil {
				analyses += r.srv.KeptUncertaintyAnalyses()
			}
			r.close()
			os.Remove(path)
			if err != nil {
				return nil, err
			}
		}
	}
	pctOf := func(keep bool, p float64) time.Duration {
		s := slices.Clone(lat[keep])
		slices.Sort(s)
		return pct(s, p)
	}
	var rows []row
	for _, p := range []float64{0.50, 0.99} {
		on, off := pctOf(true, p), pctOf(false, p)
		d := float64(on)/float64(off) - 1
		rows = append(rows, row{group: "P6 uncertainty",
			name:  fmt.Sprintf("ack p%.0f of a score-moving observation, worker on (%d writes, %d analyses kept)", p*100, len(lat[true]), analyses),
			value: ms(on), baseline: ms(off) + " worker off", ratio: fmt.Sprintf("%+.1f %%", 100*d), target: "< +5 %", ok: yes(d < 0.05)})
	}
	return rows, nil
}
