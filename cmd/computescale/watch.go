package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newWatchCmd() *cobra.Command {
	var cf clientFlags
	var kinds, provinces []string
	var years []int
	var from uint64
	var progress bool
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow changes to compute totals, index scores and the methodology (reader)",
		Long: `watch prints every change the server commits, as it happens, one line per
event: revision, kind, province, and the key figures. With --from it first
replays the retained history from that revision. The stream resumes by itself
after a server restart or a cut-off, without a gap or a repeated event.

Events are kinds compute (an aggregate cell: province, period, series, EFlops),
index (a province's score for a year) and methodology (a new current version);
--kinds uncertainty (only when listed) adds each new rank-uncertainty analysis
the server keeps (live only: the latest per year first, then each new one).
Filters combine: --kinds compute --province Guangdong --year 2024 --year 2025.
--progress also prints "progress" lines with the current revision while idle.
-o json (or --json) prints each WatchResponse as one line of protobuf JSON
instead; -o csv one row per event: revision, kind, province, period, series,
value (EFlops, composite score or methodology version).

If --from is older than the history the server retains, watch fails and names
the oldest revision it still has: re-read the totals (query), then watch
--from that revision.`,
		Example: `  computescale watch --token $READER --kinds compute --province CN-GD
  computescale watch --from 1 --json | jq -c '.events[]?'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			req := &pb.WatchRequest{StartRevision: from, ProgressNotify: progress, Provinces: provinces}
			for _, k := range kinds {
				kind, err := parseWatchKind(k)
				if err != nil {
					return err
				}
				req.Kinds = append(req.Kinds, kind)
			}
			for _, y := range years {
				req.Years = append(req.Years, int32(y))
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			return runWatch(cmd.Context(), c, req, cmd.OutOrStdout(), cmd.ErrOrStderr(), format)
		},
	}
	cf.register(cmd.Flags())
	fs := cmd.Flags()
	fs.StringSliceVar(&kinds, "kinds", nil, "event kinds: compute, index, methodology (default all), and uncertainty (only when listed)")
	fs.StringSliceVar(&provinces, "province", nil, "only this province (code, ISO code, pinyin or Chinese name); repeatable")
	fs.IntSliceVar(&years, "year", nil, "only this year; repeatable")
	fs.Uint64Var(&from, "from", 0, "replay from this revision, then follow (0: from now on)")
	fs.BoolVar(&progress, "progress", false, "print progress lines with the current revision while idle")
	out.register(fs)
	return cmd
}

// runWatch prints until ctx ends (a clean exit) or the watch fails.
func runWatch(ctx context.Context, c *client.Client, req *pb.WatchRequest, out, errOut io.Writer, format string) error {
	var cw *csv.Writer
	if format == outCSV {
		cw = csv.NewWriter(out)
		if err := cw.Write([]string{"revision", "kind", "province", "period", "series", "value"}); err != nil {
			return err
		}
		cw.Flush()
	}
	err := c.Watch(ctx, req, func(r *pb.WatchResponse) error {
		switch format {
		case outJSON:
			b, err := protojson.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode JSON: %w", err)
			}
			_, err = fmt.Fprintln(out, string(b))
			return err
		case outCSV:
			for _, e := range r.GetEvents() {
				if err := cw.Write(watchEventRecord(e)); err != nil {
					return err
				}
			}
			cw.Flush() // each response as it comes: a pipe reader follows live
			return cw.Error()
		}
		return printWatchResponse(out, r)
	}, client.WithWatchResumeHook(func(next uint64, err error) {
		fmt.Fprintf(errOut, "watch: stream ended (%s); resuming at revision %d\n", status.Convert(err).Message(), next)
	}))
	var compacted *client.CompactedError
	switch {
	case errors.As(err, &compacted):
		return fmt.Errorf("revision %d is no longer retained: re-read the totals, then watch --from %d", req.GetStartRevision(), compacted.Oldest)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return nil // interrupted
	}
	return err
}

func parseWatchKind(s string) (pb.EventKind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "compute":
		return pb.EventKind_EVENT_KIND_COMPUTE, nil
	case "index", "index_score", "score":
		return pb.EventKind_EVENT_KIND_INDEX_SCORE, nil
	case "methodology":
		return pb.EventKind_EVENT_KIND_METHODOLOGY, nil
	case "uncertainty":
		return pb.EventKind_EVENT_KIND_UNCERTAINTY, nil
	}
	return 0, fmt.Errorf("--kinds: unknown kind %q (want compute, index, methodology or uncertainty)", s)
}

// printResponse writes one line per event, or one for a progress
// notification.
func printWatchResponse(w io.Writer, r *pb.WatchResponse) error {
	if r.GetProgressNotify() {
		_, err := fmt.Fprintf(w, "%-6d progress\n", r.GetRevision())
		return err
	}
	for _, e := range r.GetEvents() {
		if _, err := fmt.Fprintln(w, watchEventLine(e)); err != nil {
			return err
		}
	}
	return nil
}

func watchEventLine(e *pb.Event) string {
	head := fmt.Sprintf("%-6d", e.GetRevision())
	switch c := e.GetChange().(type) {
	case *pb.Event_Compute:
		cc := c.Compute
		series := strings.ToLower(strings.TrimPrefix(cc.GetSeries().String(), "COMPUTE_SERIES_"))
		return fmt.Sprintf("%s compute      %s %-7s %-20s %12.6f EFlops  units %d  records %d", head, watchProvince(cc.GetProvince()),
			watchPeriod(cc.GetPeriod()), series, cc.GetEflops(), cc.GetUnits(), cc.GetRecords())
	case *pb.Event_IndexScore:
		s := c.IndexScore
		if !s.GetProduced() {
			return fmt.Sprintf("%s index        %s %-7d no score", head, watchProvince(s.GetProvince()), s.GetYear())
		}
		return fmt.Sprintf("%s index        %s %-7d composite %.2f  rank %d  tier %d  coverage %.2f", head, watchProvince(s.GetProvince()),
			s.GetYear(), s.GetComposite(), s.GetRank(), s.GetTier(), s.GetCoverage())
	case *pb.Event_MethodologyVersion:
		return fmt.Sprintf("%s methodology  version %d", head, c.MethodologyVersion)
	case *pb.Event_Uncertainty:
		run := c.Uncertainty.GetRun()
		return fmt.Sprintf("%s uncertainty  %d: %d samples, seed %d, methodology v%d (computescale uncertainty --year %d shows it)",
			head, run.GetYear(), run.GetSamples(), run.GetSeed(), run.GetMethodologyVersion(), run.GetYear())
	}
	return head + " " + e.GetKind().String()
}

// provinceLabelWidth is the widest "Name 名称" label, in terminal cells
// ("Inner Mongolia 内蒙古"), so that watch's lines align like a table.
var provinceLabelWidth = func() int {
	w := 0
	for _, p := range estimator.Provinces() {
		w = max(w, displayWidth(p.Name+" "+p.NameZH))
	}
	return w
}()

// watchEventRecord is an event as a CSV row.
func watchEventRecord(e *pb.Event) []string {
	rev := strconv.FormatUint(e.GetRevision(), 10)
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch c := e.GetChange().(type) {
	case *pb.Event_Compute:
		cc := c.Compute
		return []string{rev, "compute", cc.GetProvince().GetCode(), watchPeriod(cc.GetPeriod()),
			strings.ToLower(strings.TrimPrefix(cc.GetSeries().String(), "COMPUTE_SERIES_")), g(cc.GetEflops())}
	case *pb.Event_IndexScore:
		s := c.IndexScore
		value := ""
		if s.GetProduced() {
			value = g(s.GetComposite())
		}
		return []string{rev, "index", s.GetProvince().GetCode(), strconv.Itoa(int(s.GetYear())), "composite", value}
	case *pb.Event_MethodologyVersion:
		return []string{rev, "methodology", "", "", "version", strconv.FormatUint(c.MethodologyVersion, 10)}
	case *pb.Event_Uncertainty:
		return []string{rev, "uncertainty", "", strconv.Itoa(int(c.Uncertainty.GetRun().GetYear())), "samples", strconv.Itoa(int(c.Uncertainty.GetRun().GetSamples()))}
	}
	return []string{rev, strings.ToLower(strings.TrimPrefix(e.GetKind().String(), "EVENT_KIND_")), "", "", "", ""}
}

func watchProvince(p *pb.Province) string {
	return fmt.Sprintf("%-5s %s", p.GetIsoCode(), padRight(p.GetName()+" "+p.GetNameZh(), provinceLabelWidth))
}

func watchPeriod(p *pb.Period) string {
	if p.GetQuarter() == 0 {
		return fmt.Sprint(p.GetYear())
	}
	return fmt.Sprintf("%dQ%d", p.GetYear(), p.GetQuarter())
}
