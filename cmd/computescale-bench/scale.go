package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/schollz/progressbar/v3"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// benchScale (P4) builds a database of c.scale shipment records (generated
// deterministically, loaded through the store's ingest in 10,000-record
// transactions rather than over gRPC, to keep the run short) plus the demo
// statistics, and compares it with a 1,000-record database: file size
// against the records' bytes, cold open time, query latency, and the full
// recompute of one year's index.
func benchScale(ctx context.Context, c config) ([]row, error) {
	big, rawBytes, err := buildScaleDB(ctx, dbPath(c.dir, "scale"), c.scale)
	if err != nil {
		return nil, err
	}
	small, _, err := buildScaleDB(ctx, dbPath(c.dir, "scale-small"), 1000)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(big)
	if err != nil {
		return nil, err
	}
	open := openTime(big)
	bigQ, bigRecompute, err := scaleQueries(ctx, big)
	if err != nil {
		return nil, err
	}
	smallQ, _, err := scaleQueries(ctx, small)
	if err != nil {
		return nil, err
	}
	n := fmt.Sprintf("%d records", c.scale)
	return []row{
		{group: "P4 scale", name: "file size, " + n, value: fmt.Sprintf("%.0f MB", float64(fi.Size())/1e6),
			baseline: fmt.Sprintf("%.0f MB of records (protobuf)", float64(rawBytes)/1e6),
			ratio:    fmt.Sprintf("%.2f×", float64(fi.Size())/float64(rawBytes)), target: "—", ok: "—"},
		{group: "P4 scale", name: "cold open (store.Open), " + n, value: ms(open), baseline: "—", ratio: "—",
			target: "< 1 s", ok: yes(open < time.Second)},
		{group: "P4 scale", name: "GetProvinceCompute p50 over loopback, " + n, value: ms(bigQ),
			baseline: ms(smallQ) + " (1,000 records)", ratio: fmt.Sprintf("%+.0f %%", 100*(float64(bigQ)/float64(smallQ)-1)),
			target: "within 10 %", ok: yes(absf(float64(bigQ)/float64(smallQ)-1) <= 0.10)},
		{group: "P4 scale", name: "full index recompute of one year (31 × 14), " + n, value: ms(bigRecompute),
			baseline: "—", ratio: "—", target: "< 1 ms", ok: yes(bigRecompute < time.Millisecond)},
	}, nil
}

// scaleRecord is record i of the P4 set: the same shape as the P1 records.
func scaleRecord(i int, provinces []estimator.Province) estimator.Record {
	p := provinces[i%len(provinces)]
	r := estimator.Record{
		ID: fmt.Sprintf("s-%d", i), Province: p.Code, Period: estimator.Period{Year: 2019 + i%6, Quarter: i % 5},
		Class: estimator.ClassGeneral, Units: int64(1 + i%40),
		Components: []estimator.Component{{Count: 2, ChipID: "intel-xeon-platinum-8480p"}},
	}
	if i%4 == 3 {
		r.Class, r.Units = estimator.ClassAI, int64(1+i%8)
		r.Components = append(r.Components, estimator.Component{Count: 8, ChipID: "nvidia-h100-sxm5"})
	}
	return r
}

func buildScaleDB(ctx context.Context, path string, n int) (string, int64, error) {
	db, err := store.Open(path, store.Options{NoIndex: true})
	if err != nil {
		return "", 0, err
	}
	defer db.Close()
	for _, id := range []string{"intel-xeon-platinum-8480p", "nvidia-h100-sxm5"} {
		spec, _ := catalogChip(id)
		if _, err := db.PutChip(spec); err != nil {
			return "", 0, err
		}
	}
	const batch = 10_000
	bar := progressbar.NewOptions(n, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("P4 load"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	defer bar.Finish()
	provinces := estimator.Provinces()
	var raw int64
	recs := make([]estimator.Record, 0, batch)
	for i := 0; i < n; i += batch {
		if ctx.Err() != nil {
			return "", 0, ctx.Err()
		}
		recs = recs[:0]
		for j := i; j < min(i+batch, n); j++ {
			rec := scaleRecord(j, provinces)
			raw += int64(proto.Size(protoconv.RecordToProto(rec)))
			recs = append(recs, rec)
		}
		if _, err := db.IngestShipments("scale-vendor", recs, false); err != nil {
			return "", 0, err
		}
		bar.Add(len(recs))
	}
	// Statistics for 2020-2024, so that an index year has all 14 leaves.
	if _, err := db.PutObservations("bench", demodata.Observations(), false); err != nil {
		return "", 0, err
	}
	return path, raw, nil
}

// openTime is the median of five opens of a closed file.
func openTime(path string) time.Duration {
	var ts []time.Duration
	for range 5 {
		t := time.Now()
		db, err := store.Open(path, store.Options{})
		if err != nil {
			return -1
		}
		ts = append(ts, time.Since(t))
		db.Close()
	}
	slices.Sort(ts)
	return ts[len(ts)/2]
}

// scaleQueries serves the file and returns the median GetProvinceCompute
// latency over loopback and the median time of one year's full index
// recompute (the inputs read and ScoreYear run, as the commit path does).
func scaleQueries(ctx context.Context, path string) (query, recompute time.Duration, err error) {
	r, err := newRig(path, 0, server.Config{})
	if err != nil {
		return 0, 0, err
	}
	defer r.close()
	var qs []time.Duration
	for i := range 2000 {
		t := time.Now()
		if _, err := r.reader.ProvinceCompute(ctx, estimator.Provinces()[i%31].ISO, 2024, 0); err != nil {
			return 0, 0, err
		}
		qs = append(qs, time.Since(t))
	}
	slices.Sort(qs)
	var rs []time.Duration
	for range 50 {
		t := time.Now()
		in, m, w, _, err := r.db.ScoreInputs(2024, 0)
		if err != nil {
			return 0, 0, err
		}
		if _, err := estimator.ScoreYear(in, m, w); err != nil {
			return 0, 0, err
		}
		rs = append(rs, time.Since(t))
	}
	slices.Sort(rs)
	return qs[len(qs)/2], rs[len(rs)/2], nil
}
