package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newIndexCmd() *cobra.Command {
	var cf clientFlags
	var year int
	var dimension string
	var version uint64
	var out outputFlag
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
			format, err := out.get()
			if err != nil {
				return err
			}
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
			return indexView(resp, scores, dimension).write(cmd.OutOrStdout(), format)
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&year, "year", 2024, "the index year")
	cmd.Flags().StringVar(&dimension, "dimension", "", "rank by this dimension: scale, industry, tech, env or app (default: the composite)")
	cmd.Flags().Uint64Var(&version, "methodology-version", 0, "a stored methodology version (0 = the current one)")
	out.register(cmd.Flags())
	return cmd
}

// barWidth is the length of the longest bar, in character cells.
const barWidth = 30

// indexView is the ranking table, in the order given (the server's rank
// order), with a footer naming the methodology and revision.
func indexView(msg proto.Message, scores []*pb.IndexScore, dimension string) view {
	key := func(s *pb.IndexScore) (float64, int32, bool) {
		if dimension == "" {
			return s.GetComposite(), s.GetRank(), s.GetProduced()
		}
		d := dimensionOf(s, dimension)
		return d.GetScore(), d.GetRank(), d.GetPresent()
	}
	top := 0.0
	for _, s := range scores {
		if v, _, ok := key(s); ok {
			top = math.Max(top, v)
		}
	}
	rankBy := "composite"
	if dimension != "" {
		rankBy = dimension
	}
	cols := []column{{name: "rank", right: true}, {name: "province"}, {name: "composite", right: true}, {name: "tier", right: true}}
	for _, d := range estimator.Dimensions() {
		cols = append(cols, column{name: d, right: true})
	}
	cols = append(cols, column{name: "coverage", right: true}, column{name: "by " + rankBy, termOnly: true})
	tab := newTable(cols...)
	for _, s := range scores {
		v, rank, ok := key(s)
		composite, tier, rankCell, bar := "—", "—", "—", ""
		if s.GetProduced() {
			composite, tier = fmt.Sprintf("%.2f", s.GetComposite()), fmt.Sprint(s.GetTier())
		}
		if ok {
			rankCell, bar = fmt.Sprint(rank), scoreBar(v, top, barWidth)
		}
		cells := []string{rankCell, provinceLabel(s.GetProvince()), composite, tier}
		for _, d := range estimator.Dimensions() {
			cells = append(cells, scoreCell(dimensionOf(s, d)))
		}
		tab.add(append(cells, fmt.Sprintf("%.2f", s.GetCoverage()), bar)...)
	}
	v := view{msg: msg, tab: tab}
	if len(scores) > 0 {
		v.foot = []string{fmt.Sprintf("index year %d, methodology v%d, revision %d; bars scaled to the largest %s (%.2f)",
			scores[0].GetYear(), scores[0].GetMethodologyVersion(), scores[0].GetRevision(), rankBy, top)}
	}
	return v
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
