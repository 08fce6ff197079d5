package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// assumptionNames are the --vary names, in the API's order.
var assumptionNames = map[string]pb.UncertainAssumption{
	"weights":       pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_WEIGHTS,
	"normalization": pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_NORMALIZATION,
	"aggregation":   pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_AGGREGATION,
	"factors":       pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_FACTORS,
	"missing_data":  pb.UncertainAssumption_UNCERTAIN_ASSUMPTION_MISSING_DATA,
}

// assumptionName is the --vary name of a choice.
func assumptionName(a pb.UncertainAssumption) string {
	for n, v := range assumptionNames {
		if v == a {
			return n
		}
	}
	return a.String()
}

func newUncertaintyCmd() *cobra.Command {
	var cf clientFlags
	var year, samples int
	var seed, version uint64
	var vary []string
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "uncertainty",
		Short: "Print how sure each province's index rank is (Monte Carlo over the methodology's choices)",
		Long: `uncertainty prints, for every province, how far its composite rank moves
when the methodology's uncertain choices move (COINr's uncertainty analysis):
the AHP judgements and weights, the normalisation, arithmetic or geometric
aggregation, the FP16/FP64 → FP32 factors and the missing-data rule. Columns:
the median rank, the nominal rank (the methodology's own), the 5-95 %
interval of the rank, the share of runs in the first tier, the mean absolute
rank shift, and the choice with the largest total Sobol index (the share of
the rank's variance it explains with its interactions). The bar spans ranks
1 to 31: ━ the 5-95 % interval, ┃ the median, ● the nominal rank.

With the defaults (1,000 samples, seed 0, every choice varied) the server
answers from the analysis it keeps current; anything else is computed for the
call, which can take seconds (raise --timeout for large --samples). The same
request at the same revision prints the same numbers. -o json gives every
Sobol index.`,
		Example: "  computescale uncertainty --year 2024\n  computescale uncertainty --year 2024 --samples 4000 --seed 7 --vary weights,normalization -o csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			req := &pb.ListRankUncertaintyRequest{Samples: int32(samples), Seed: seed, MethodologyVersion: version}
			if cmd.Flags().Changed("vary") {
				req.Assumptions = &pb.UncertaintyAssumptions{}
				for _, n := range vary {
					a, ok := assumptionNames[strings.TrimSpace(n)]
					if !ok && strings.TrimSpace(n) != "" {
						return fmt.Errorf("--vary %q: want some of weights, normalization, aggregation, factors, missing_data", n)
					}
					if ok {
						req.Assumptions.Vary = append(req.Assumptions.Vary, a)
					}
				}
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			ps, run, err := c.ListRankUncertainty(cmd.Context(), year, req)
			if err != nil {
				return err
			}
			return uncertaintyView(&pb.ListRankUncertaintyResponse{Provinces: ps, Run: run}).write(cmd.OutOrStdout(), format)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&year, "year", 2024, "the index year")
	cmd.Flags().IntVar(&samples, "samples", 0, "base sample size N (runs: N × (choices varied + 2)); 0 = the server's default, 1000")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "seed of the pseudo-random stream")
	cmd.Flags().Uint64Var(&version, "methodology-version", 0, "a stored methodology version (0 = the current one)")
	cmd.Flags().StringSliceVar(&vary, "vary", nil, "choices to vary, comma-separated: weights, normalization, aggregation, factors, missing_data (default: all; empty: none)")
	out.register(cmd.Flags())
	return cmd
}

// uncertaintyView is the table by median rank with a rank-interval bar and
// a footer saying what the analysis was computed from.
func uncertaintyView(resp *pb.ListRankUncertaintyResponse) view {
	n := len(resp.GetProvinces())
	tab := newTable(column{name: "median", right: true}, column{name: "province"}, column{name: "nominal", right: true},
		column{name: "5-95%", right: true}, column{name: "P(tier 1)", right: true}, column{name: "shift", right: true},
		column{name: "most sensitive to"}, column{name: fmt.Sprintf("rank 1…%d", n), termOnly: true})
	for _, p := range resp.GetProvinces() {
		nominal := "—"
		if p.GetNominalRank() > 0 {
			nominal = fmt.Sprint(p.GetNominalRank())
		}
		tab.add(fmt.Sprintf("%g", p.GetMedianRank()), provinceLabel(p.GetProvince()), nominal,
			fmt.Sprintf("%g–%g", p.GetP05Rank(), p.GetP95Rank()), fmt.Sprintf("%.2f", p.GetPFirstTier()),
			fmt.Sprintf("%.2f", p.GetMeanAbsRankShift()), mostSensitive(p), rankBar(p, n))
	}
	run := resp.GetRun()
	var varied []string
	for _, a := range run.GetAssumptions().GetVary() {
		varied = append(varied, assumptionName(a))
	}
	how := "computed for this call"
	if run.GetKept() {
		how = "kept current by the server"
	}
	return view{msg: resp, tab: tab, foot: []string{fmt.Sprintf(
		"index year %d, methodology v%d, revision %d; %d samples, seed %d, %d runs varying %s; %s",
		run.GetYear(), run.GetMethodologyVersion(), run.GetRevision(), run.GetSamples(), run.GetSeed(), run.GetRuns(),
		orNone(strings.Join(varied, ", ")), how)}}
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// mostSensitive names the choice with the largest total Sobol index, "—"
// when the rank never moved.
func mostSensitive(p *pb.RankUncertainty) string {
	best, name := 0.0, "—"
	for _, s := range p.GetSensitivity() {
		if s.GetTotal() > best {
			best, name = s.GetTotal(), fmt.Sprintf("%s %.2f", assumptionName(s.GetAssumption()), s.GetTotal())
		}
	}
	return name
}

// rankBar draws ranks 1..n as cells: · outside the 5-95 % interval, ━
// inside it, ┃ the median, ● the nominal rank (over the others).
func rankBar(p *pb.RankUncertainty, n int) string {
	cells := make([]string, n)
	for i := range cells {
		r := float64(i + 1)
		switch {
		case int(p.GetNominalRank()) == i+1:
			cells[i] = "●"
		case r == math.Round(p.GetMedianRank()):
			cells[i] = "┃"
		case r >= p.GetP05Rank() && r <= p.GetP95Rank():
			cells[i] = "━"
		default:
			cells[i] = "·"
		}
	}
	return strings.Join(cells, "")
}
