package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newIndexCmd() *cobra.Command {
	var cf clientFlags
	var year int
	var dimension string
	var version uint64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Print a year's compute development index ranking, with a bar per province",
		Long: `index prints the ranking of the compute development index (先进计算暨算力发展指数)
for a year, as the blue book's figures 10-15 plot it: rank, province, composite,
tier, the five dimension sub-indices (scale, industry, tech, env, app), the
share of the leaf weight observed (coverage) and a bar scaled to the largest
score. With --dimension the ranking, rank and bar follow that dimension.
A province below the methodology's coverage threshold has no composite ("—").`,
		Example: "  computescale index --year 2024\n  computescale index --year 2024 --dimension tech --methodology-version 1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dimension != "" && !slices.Contains(estimator.Dimensions(), dimension) {
				return fmt.Errorf("--dimension %q: want one of %s", dimension, strings.Join(estimator.Dimensions(), ", "))
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			scores, err := c.ListIndex(cmd.Context(), year, dimension, version)
			if err != nil {
				return err
			}
			resp := &pb.ListIndexResponse{Scores: scores}
			if len(scores) > 0 {
				resp.MethodologyVersion, resp.Revision = scores[0].GetMethodologyVersion(), scores[0].GetRevision()
			}
			return show(cmd.OutOrStdout(), asJSON, resp, func() { printIndex(cmd.OutOrStdout(), scores, dimension) })
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&year, "year", 2024, "the index year")
	cmd.Flags().StringVar(&dimension, "dimension", "", "rank by this dimension: scale, industry, tech, env or app (default: the composite)")
	cmd.Flags().Uint64Var(&version, "methodology-version", 0, "a stored methodology version (0 = the current one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (protobuf JSON mapping) instead of a table")
	return cmd
}

// barWidth is the length of the longest bar, in character cells.
const barWidth = 30

// printIndex writes the ranking table, in the order given (the server's rank
// order), and a footer naming the methodology and revision.
func printIndex(out io.Writer, scores []*pb.IndexScore, dimension string) {
	key := func(s *pb.IndexScore) (float64, int32, bool) {
		if dimension == "" {
			return s.GetComposite(), s.GetRank(), s.GetProduced()
		}
		d := dimensionOf(s, dimension)
		return d.GetScore(), d.GetRank(), d.GetPresent()
	}
	top := 0.0
	nameWidth := len("province")
	for _, s := range scores {
		if v, _, ok := key(s); ok {
			top = math.Max(top, v)
		}
		nameWidth = max(nameWidth, displayWidth(provinceLabel(s.GetProvince())))
	}
	rankBy := "composite"
	if dimension != "" {
		rankBy = dimension
	}
	fmt.Fprintf(out, "%4s  %s  %9s  %4s  %7s %8s %7s %7s %7s  %8s  %s\n", "rank", pad("province", nameWidth),
		"composite", "tier", "scale", "industry", "tech", "env", "app", "coverage", "by "+rankBy)
	for _, s := range scores {
		v, rank, ok := key(s)
		composite, tier, rankCell, bar := "—", "—", "—", ""
		if s.GetProduced() {
			composite, tier = fmt.Sprintf("%.2f", s.GetComposite()), fmt.Sprint(s.GetTier())
		}
		if ok {
			rankCell, bar = fmt.Sprint(rank), scoreBar(v, top, barWidth)
		}
		dims := make([]any, 0, 5)
		for _, d := range estimator.Dimensions() {
			dims = append(dims, scoreCell(dimensionOf(s, d)))
		}
		fmt.Fprintf(out, "%4s  %s  %9s  %4s  %7s %8s %7s %7s %7s  %8.2f  %s\n", append(append([]any{rankCell,
			pad(provinceLabel(s.GetProvince()), nameWidth), composite, tier}, dims...), s.GetCoverage(), bar)...)
	}
	if len(scores) > 0 {
		fmt.Fprintf(out, "methodology v%d, revision %d; bars scaled to the largest %s (%.2f)\n",
			scores[0].GetMethodologyVersion(), scores[0].GetRevision(), rankBy, top)
	}
}

func dimensionOf(s *pb.IndexScore, code string) *pb.DimensionScore {
	for _, d := range s.GetDimensions() {
		if d.GetDimension() == code {
			return d
		}
	}
	return nil
}

func scoreCell(d *pb.DimensionScore) string {
	if !d.GetPresent() {
		return "—"
	}
	return fmt.Sprintf("%.2f", d.GetScore())
}

func provinceLabel(p *pb.Province) string { return p.GetName() + " " + p.GetNameZh() }

// scoreBar draws v as a bar of full blocks and one partial block, width
// cells for top. Scores at or below zero (a z-score, say) draw nothing.
func scoreBar(v, top float64, width int) string {
	if !(top > 0) || !(v > 0) {
		return ""
	}
	eighths := int(math.Round(v / top * float64(width*8)))
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}

// pad left-aligns s in width terminal cells.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-displayWidth(s)))
}

// displayWidth counts terminal cells: two for East Asian wide characters
// (the provinces' Chinese names), one for the rest.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
			r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6:
			n += 2
		default:
			n++
		}
	}
	return n
}
