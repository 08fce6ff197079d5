package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/feed"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newIngestCmd() *cobra.Command {
	var cf clientFlags
	var batch int
	var replace bool
	cmd := &cobra.Command{
		Use:   "ingest FILE",
		Short: "Send a shipment feed (CSV or JSON Lines) to the server",
		Long: `ingest reads a feed file (format from the extension: .csv or .jsonl; columns
in the README) and streams it in batches, each acknowledged once durable. A
rejected batch is reported with the file's line numbers and the rest go on;
the command then exits non-zero.`,
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
			ships, err := feed.ReadShipments(f, format)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			recs := make([]*pb.ShipmentRecord, len(ships))
			for i, s := range ships {
				recs[i] = s.Record
			}
			bar := newProgress(cmd.ErrOrStderr(), len(recs), "ingest")
			sum, err := c.IngestShipments(cmd.Context(), recs, client.IngestOptions{
				BatchSize: batch, Replace: replace,
				OnAck: func(b client.BatchResult) { bar.Add(b.Len) },
			})
			bar.Finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d records in %d batches: %d created, %d replaced, %d unchanged, %d batches rejected; revision %d\n",
				len(recs), sum.Batches, sum.Created, sum.Replaced, sum.Unchanged, len(sum.Rejected), sum.Revision)
			for _, b := range sum.Rejected {
				reportRejected(cmd, ships, b)
			}
			if len(sum.Rejected) > 0 {
				return errors.New("some batches were rejected; nothing of them was stored")
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&batch, "batch", 1000, "records a batch")
	cmd.Flags().BoolVar(&replace, "replace", false, "let changed records replace stored ones")
	return cmd
}

// reportRejected names the lines of a rejected batch and, for each field
// violation, the line of the record it is about.
func reportRejected(cmd *cobra.Command, ships []feed.Shipment, b client.BatchResult) {
	w := cmd.ErrOrStderr()
	st := status.Convert(b.Err)
	fmt.Fprintf(w, "batch %d (lines %d-%d) rejected: %s: %s\n", b.Index+1,
		ships[b.First].Line, ships[b.First+b.Len-1].Line, st.Code(), st.Message())
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			var i int
			var rest string
			if n, _ := fmt.Sscanf(v.GetField(), "records[%d].%s", &i, &rest); n >= 1 && b.First+i < len(ships) {
				fmt.Fprintf(w, "  line %d: %s: %s\n", ships[b.First+i].Line, rest, v.GetDescription())
				continue
			}
			fmt.Fprintf(w, "  %s: %s\n", v.GetField(), v.GetDescription())
		}
	}
}
