package main

import (
	"github.com/spf13/cobra"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// The period query reads when --year and --quarter are not given: the blue
// book's as-of date, which the demo data is calibrated to.
const (
	defaultYear    = 2025
	defaultQuarter = 2
)

// periodFlags are --year and --quarter of the compute reads.
type periodFlags struct{ year, quarter int }

func (p *periodFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().IntVar(&p.year, "year", 0, "year the six-year window ends at; alone, its end (Q4) (default: 2025Q2)")
	cmd.PersistentFlags().IntVar(&p.quarter, "quarter", 0, "quarter the window ends at, 1-4 (default: the year's end, or 2025Q2 without --year)")
}

// end resolves the flags: a year alone means the end of that year (quarter
// 0, which the server reads as its fourth quarter), as "as of 2024" does in
// the blue book; neither flag means 2025Q2; a quarter alone is of 2025.
func (p periodFlags) end() (year, quarter int) {
	switch {
	case p.year == 0 && p.quarter == 0:
		return defaultYear, defaultQuarter
	case p.year == 0:
		return defaultYear, p.quarter
	}
	return p.year, p.quarter
}

func newQueryCmd() *cobra.Command {
	var cf clientFlags
	var period periodFlags
	var out outputFlag
	var orderBy string
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read compute totals: province NAME, national, or list",
		Long: `query reads compute totals over a six-year window (24 quarters) ending at
--year and --quarter: --year 2024 alone is the window ending 2024Q4
(2019Q1–2024Q4); --year 2025 --quarter 2 ends at 2025Q2; without either, the
window ends at 2025Q2. Every table names the window it covers.`,
		Example: "  computescale query province 广东 --year 2024\n  computescale query list -o csv > totals.csv",
	}
	cf.register(cmd.PersistentFlags())
	period.register(cmd)
	out.register(cmd.PersistentFlags())
	province := &cobra.Command{
		Use: "province NAME", Short: "One province's totals (code, ISO code, pinyin or Chinese name)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			year, quarter := period.end()
			t, err := c.ProvinceCompute(cmd.Context(), args[0], year, quarter)
			if err != nil {
				return err
			}
			return totalsView(t, []*pb.ComputeTotals{t}, nil).write(cmd.OutOrStdout(), format)
		},
	}
	national := &cobra.Command{
		Use: "national", Short: "National totals", Args: cobra.NoArgs,
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
			year, quarter := period.end()
			t, err := c.NationalCompute(cmd.Context(), year, quarter)
			if err != nil {
				return err
			}
			return totalsView(t, nil, t).write(cmd.OutOrStdout(), format)
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "All provinces, ranked", Args: cobra.NoArgs,
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
			year, quarter := period.end()
			rows, err := c.ListProvinceCompute(cmd.Context(), year, quarter, orderBy)
			if err != nil {
				return err
			}
			nat, err := c.NationalCompute(cmd.Context(), year, quarter)
			if err != nil {
				return err
			}
			resp := &pb.ListProvinceComputeResponse{Totals: rows, Revision: nat.GetRevision()}
			return totalsView(resp, rows, nat).write(cmd.OutOrStdout(), format)
		},
	}
	list.Flags().StringVar(&orderBy, "order-by", "total desc", "code, total, basic, ai or super, then asc or desc")
	cmd.AddCommand(province, national, list)
	return cmd
}
