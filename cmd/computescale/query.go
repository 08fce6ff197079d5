package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newQueryCmd() *cobra.Command {
	var cf clientFlags
	var year, quarter int
	var asJSON bool
	var orderBy string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read compute totals: province NAME, national, or list",
	}
	cf.register(cmd.PersistentFlags())
	cmd.PersistentFlags().IntVar(&year, "year", 2025, "year the six-year window ends at")
	cmd.PersistentFlags().IntVar(&quarter, "quarter", 2, "quarter the window ends at (0 = year end)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON (protobuf JSON mapping) instead of a table")
	province := &cobra.Command{
		Use: "province NAME", Short: "One province's totals (code, ISO code, pinyin or Chinese name)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			t, err := c.ProvinceCompute(cmd.Context(), args[0], year, quarter)
			if err != nil {
				return err
			}
			return show(cmd.OutOrStdout(), asJSON, t, func() { printTotals(cmd.OutOrStdout(), []*pb.ComputeTotals{t}, nil) })
		},
	}
	national := &cobra.Command{
		Use: "national", Short: "National totals", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			t, err := c.NationalCompute(cmd.Context(), year, quarter)
			if err != nil {
				return err
			}
			return show(cmd.OutOrStdout(), asJSON, t, func() { printTotals(cmd.OutOrStdout(), nil, t) })
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "All provinces, ranked", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			rows, err := c.ListProvinceCompute(cmd.Context(), year, quarter, orderBy)
			if err != nil {
				return err
			}
			nat, err := c.NationalCompute(cmd.Context(), year, quarter)
			if err != nil {
				return err
			}
			resp := &pb.ListProvinceComputeResponse{Totals: rows, Revision: nat.GetRevision()}
			return show(cmd.OutOrStdout(), asJSON, resp, func() { printTotals(cmd.OutOrStdout(), rows, nat) })
		},
	}
	list.Flags().StringVar(&orderBy, "order-by", "total desc", "code, total, basic, ai or super, then asc or desc")
	cmd.AddCommand(province, national, list)
	return cmd
}

func show(out io.Writer, asJSON bool, m proto.Message, table func()) error {
	if !asJSON {
		table()
		return nil
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode JSON: %w", err)
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}
