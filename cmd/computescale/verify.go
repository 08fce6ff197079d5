package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newVerifyCmd() *cobra.Command {
	var cf clientFlags
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the server's stored totals and scores against its records (admin)",
		Long: `verify asks the server to rebuild every aggregate cell and index score from
the stored records and observations, compare them exactly with what is stored,
and run bbolt's page check. It prints what was checked and every difference,
and exits non-zero if there is any. It reads the whole store, so raise
--timeout for a large one. Run it after restoring a backup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			rep, err := c.Verify(cmd.Context())
			if err != nil {
				return err
			}
			v := view{msg: rep, tab: findingsTable(rep), text: func(w io.Writer) { printVerify(w, rep) }}
			if err := v.write(cmd.OutOrStdout(), format); err != nil {
				return err
			}
			if !rep.GetOk() {
				return fmt.Errorf("verify: %d mismatches, %d page-check errors", len(rep.GetMismatches()), len(rep.GetCheckErrors()))
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	out.register(cmd.Flags())
	return cmd
}

// findingsTable is verify's CSV form: one row per difference found.
func findingsTable(rep *pb.VerifyResponse) *table {
	tab := newTable(column{name: "finding"}, column{name: "detail"})
	for _, m := range rep.GetMismatches() {
		tab.add("mismatch", m)
	}
	for _, e := range rep.GetCheckErrors() {
		tab.add("page check", e)
	}
	return tab
}

func printVerify(w io.Writer, rep *pb.VerifyResponse) {
	verdict := "ok"
	if !rep.GetOk() {
		verdict = "NOT OK"
	}
	fmt.Fprintf(w, "revision %d: %d records, %d cells checked: %s\n", rep.GetRevision(), rep.GetRecords(), rep.GetCells(), verdict)
	for _, m := range rep.GetMismatches() {
		fmt.Fprintf(w, "  mismatch: %s\n", m)
	}
	for _, e := range rep.GetCheckErrors() {
		fmt.Fprintf(w, "  page check: %s\n", e)
	}
}
