// Command computescale-bench measures computescale against baselines taken
// in the same run, on 127.0.0.1, and prints one markdown table: ingest
// throughput against raw bbolt (P1), query throughput and latency against a
// bare grpc-go server (P2), watch latency, memory and isolation (P3),
// behaviour at scale (P4), cluster mode (P5), and the rank-uncertainty
// analysis with the ack latency its worker adds (P6). Figures are printed,
// never asserted; BENCHMARKS.md
// keeps the latest table.
//
//	go run ./cmd/computescale-bench            # full run (several minutes, 10 M records)
//	go run ./cmd/computescale-bench -short     # seconds; what CI runs so it never rots
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

type config struct {
	short   bool
	only    string
	dir     string
	scale   int // P4 records
	ingestN int // P1 records per scenario
	rounds  int // P1 runs of each shape, ours and the baseline alternating
	// P1 shapes to run; the defaults are the issue's.
	ingestBatches, ingestVendors []int
	// P3 watch counts; nil: the defaults (1, 100, 1,000; 1, 100 with -short).
	streamWatches []int
	queryTime     time.Duration
}

func main() {
	if len(os.Args) == 3 && (os.Args[1] == childFlag || os.Args[1] == childEtcdFlag) {
		run := runChild
		if os.Args[1] == childEtcdFlag {
			run = runEtcdChild
		}
		if err := run(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "computescale-bench child:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.BoolVar(&c.short, "short", false, "a quick run with small sizes (CI)")
	flag.StringVar(&c.only, "only", "", "comma-separated scenarios to run: ingest,query,stream,scale,cluster,uncertainty (default all)")
	flag.StringVar(&c.dir, "dir", "", "folder for the databases (default: a temporary folder, removed after)")
	flag.IntVar(&c.scale, "scale-records", 10_000_000, "records in the P4 database")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	ingestN := flag.Int("ingest-records", 0, "records per P1 scenario (default 200,000; 6,000 with -short)")
	flag.IntVar(&c.rounds, "rounds", 3, "P1 runs of each shape (medians are compared; 1 with -short)")
	batches := flag.String("ingest-batches", "100,1000,10000", "P1 batch sizes")
	vendors := flag.String("ingest-vendors", "1,4", "P1 concurrent vendors")
	watches := flag.String("stream-watches", "", "P3 watch counts (default 1,100,1000; 1,100 with -short)")
	flag.Parse()
	var err error
	if c.ingestBatches, err = intList(*batches); err == nil {
		c.ingestVendors, err = intList(*vendors)
	}
	if err == nil && *watches != "" {
		c.streamWatches, err = intList(*watches)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "computescale-bench:", err)
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "computescale-bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	c.ingestN, c.queryTime = 200_000, 5*time.Second
	if c.short {
		c.scale, c.ingestN, c.queryTime, c.rounds = 20_000, 6_000, 500*time.Millisecond, 1
	}
	c.rounds = max(c.rounds, 1)
	if *ingestN > 0 {
		c.ingestN = *ingestN
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "computescale-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// scenario is one measured line of the table.
type row struct {
	group, name       string
	value, baseline   string
	ratio, target, ok string
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.dir == "" {
		d, err := os.MkdirTemp("", "computescale-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		c.dir = d
	}
	want := func(name string) bool { return c.only == "" || strings.Contains(","+c.only+",", ","+name+",") }
	var rows []row
	steps := []struct {
		name string
		fn   func(context.Context, config) ([]row, error)
	}{{"ingest", benchIngest}, {"query", benchQuery}, {"stream", benchStream}, {"scale", benchScale}, {"cluster", benchCluster},
		{"uncertainty", benchUncertainty}}
	for _, s := range steps {
		if !want(s.name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "running %s...\n", s.name)
		r, err := s.fn(ctx, c)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		rows = append(rows, r...)
	}
	printTable(out, c, rows)
	return nil
}

func printTable(out io.Writer, c config, rows []row) {
	host, _ := os.Hostname()
	mode := "full"
	if c.short {
		mode = "short (-short: small sizes, figures indicative only)"
	}
	fmt.Fprintf(out, "Machine: %s, %d CPUs (%s/%s), %s, %s; mode %s; %s\n\n", cpuModel(), runtime.NumCPU(),
		runtime.GOOS, runtime.GOARCH, runtime.Version(), host, mode, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintln(out, "| scenario | measure | computescale | baseline (same run) | ratio | target | met |")
	fmt.Fprintln(out, "| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s | %s | %s |\n", r.group, r.name, r.value, r.baseline, r.ratio, r.target, r.ok)
	}
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// intList parses "1,4" into its numbers.
func intList(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a list of positive numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// quietLogger is what the benchmarked servers log to: JSON formatting is
// paid, as in production, but nothing floods the terminal.
func quietLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
