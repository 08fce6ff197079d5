package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/feed"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newIngestCmd() *cobra.Command {
	var cf clientFlags
	var batch int
	var replace, force bool
	var kindFlag string
	cmd := &cobra.Command{
		Use:   "ingest FILE",
		Short: "Send a shipment or observation feed (CSV or JSON Lines) to the server",
		Long: `ingest reads a feed file (format from the extension: .csv or .jsonl) and
streams it in batches, each acknowledged once durable: shipment records to
IngestShipments, or statistics observations (province, year, indicator,
value, unit, source) to PutObservations. The kind comes from --kind, or else
from the file: a CSV header with an indicator column, or a JSON line with an
"indicator" key, is observations; record_id / "recordId" is shipments
(columns in the feed package's documentation, go doc ./feed). A rejected
batch is reported with the file's line numbers and the rest go on; the
command then exits non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := feed.FormatOf(args[0])
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			kind, err := feedKind(f, format, kindFlag)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			var items feedItems
			if kind == feed.Observations {
				items, err = readObservationFeed(f, format)
			} else {
				items, err = readShipmentFeed(f, format)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			bar := newProgress(cmd.ErrOrStderr(), items.n, "ingest "+kind.String())
			opts := client.IngestOptions{BatchSize: batch, Replace: replace, Force: force, OnAck: func(b client.BatchResult) { bar.Add(b.Len) }}
			sum, err := items.send(cmd, c, opts)
			bar.Finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d %s in %d batches: %d created, %d replaced, %d unchanged, %d batches rejected; ",
				items.n, items.field, sum.Batches, sum.Created, sum.Replaced, sum.Unchanged, len(sum.Rejected))
			if kind == feed.Observations {
				fmt.Fprintf(out, "%d index scores changed; ", sum.ScoresChanged)
			}
			fmt.Fprintf(out, "revision %d\n", sum.Revision)
			for _, b := range sum.Rejected {
				reportRejected(cmd.ErrOrStderr(), items.lines, items.field, b)
			}
			if len(sum.Rejected) > 0 {
				return fmt.Errorf("%d of %d batches rejected (nothing of a rejected batch is stored); the rest are stored", len(sum.Rejected), sum.Batches)
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&batch, "batch", 1000, "records (or observations) a batch")
	cmd.Flags().BoolVar(&replace, "replace", false, "let changed records or observations replace stored ones")
	cmd.Flags().BoolVar(&force, "force", false, "with --replace: store observations outside the methodology's plausibility bounds")
	cmd.Flags().StringVar(&kindFlag, "kind", "", "shipments or observations (default: from the CSV header or the first JSON line)")
	return cmd
}

// feedKind returns the --kind given, or detects it from the head of f and
// rewinds f for the reader.
func feedKind(f io.ReadSeeker, format feed.Format, flag string) (feed.Kind, error) {
	if flag != "" {
		return feed.ParseKind(flag)
	}
	kind, err := feed.DetectKind(f, format)
	if err != nil {
		return 0, fmt.Errorf("%w (pass --kind shipments or --kind observations)", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("rewind feed: %w", err)
	}
	return kind, nil
}

// feedItems is a parsed feed of either kind: how many entries, the line of
// each, the request's list field that violations name, and how to send it.
type feedItems struct {
	n     int
	lines []int
	field string // "records" or "observations"
	send  func(*cobra.Command, *client.Client, client.IngestOptions) (client.IngestSummary, error)
}

func readShipmentFeed(r io.Reader, format feed.Format) (feedItems, error) {
	ships, err := feed.ReadShipments(r, format)
	if err != nil {
		return feedItems{}, err
	}
	recs, lines := make([]*pb.ShipmentRecord, len(ships)), make([]int, len(ships))
	for i, s := range ships {
		recs[i], lines[i] = s.Record, s.Line
	}
	return feedItems{n: len(recs), lines: lines, field: "records",
		send: func(cmd *cobra.Command, c *client.Client, o client.IngestOptions) (client.IngestSummary, error) {
			return c.IngestShipments(cmd.Context(), recs, o)
		}}, nil
}

func readObservationFeed(r io.Reader, format feed.Format) (feedItems, error) {
	rows, err := feed.ReadObservations(r, format)
	if err != nil {
		return feedItems{}, err
	}
	obs, lines := make([]*pb.Observation, len(rows)), make([]int, len(rows))
	for i, o := range rows {
		obs[i], lines[i] = o.Observation, o.Line
	}
	return feedItems{n: len(obs), lines: lines, field: "observations",
		send: func(cmd *cobra.Command, c *client.Client, o client.IngestOptions) (client.IngestSummary, error) {
			return c.PutObservations(cmd.Context(), obs, o)
		}}, nil
}

// reportRejected names the lines of a rejected batch and, for each field
// violation about one entry (field "records[i].x" or "observations[i].x",
// i counted within the batch), the line of that entry.
func reportRejected(w io.Writer, lines []int, field string, b client.BatchResult) {
	st := status.Convert(b.Err)
	fmt.Fprintf(w, "lines %d-%d (batch %d): %s: %s\n", lines[b.First], lines[b.First+b.Len-1], b.Index+1, st.Code(), st.Message())
	for _, v := range fieldViolations(b.Err) {
		if i, rest, ok := entryField(v.GetField(), field); ok && i < b.Len {
			if rest != "" {
				rest += ": "
			}
			fmt.Fprintf(w, "  line %d: %s%s\n", lines[b.First+i], rest, v.GetDescription())
			continue
		}
		fmt.Fprintf(w, "  %s: %s\n", v.GetField(), v.GetDescription())
	}
}

// entryField splits "observations[3].value" into 3 and "value".
func entryField(path, field string) (int, string, bool) {
	var i int
	var rest string
	after, ok := strings.CutPrefix(path, field+"[")
	if !ok {
		return 0, "", false
	}
	if n, _ := fmt.Sscanf(after, "%d].%s", &i, &rest); n < 1 || i < 0 {
		return 0, "", false
	}
	return i, rest, true
}
