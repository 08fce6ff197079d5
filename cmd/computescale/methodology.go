package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newMethodologyCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "methodology",
		Short: "Read or store the index methodology: get [--version N] or put FILE",
		Long: `A methodology is the versioned document behind the index scores: the weight
hierarchy (explicit weights or AHP matrices), the normalisation and its
targets, the aggregation, the coverage threshold, the tiers and the
FP32-equivalent factors. Its JSON form is computescale.v1.Methodology in the
protobuf JSON mapping: "get -o json" prints it and "put" reads it back
(version, createTime, indicators and leafWeights are output only and
ignored).`,
	}
	cf.register(cmd.PersistentFlags())
	cmd.AddCommand(newMethodologyGetCmd(&cf), newMethodologyPutCmd(&cf))
	return cmd
}

func newMethodologyGetCmd(cf *clientFlags) *cobra.Command {
	var version uint64
	var out outputFlag
	cmd := &cobra.Command{
		Use: "get", Short: "Print the current methodology or a stored version", Args: cobra.NoArgs,
		Long: `get prints a methodology: -o table (the default) a readable summary with the
hierarchy's weights, -o json the document that put reads, -o csv the
hierarchy as rows (node, parent, local and global weight).`,
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
			m, err := c.Methodology(cmd.Context(), version)
			if err != nil {
				return err
			}
			if format == outJSON {
				return writeJSON(cmd.OutOrStdout(), m)
			}
			// The hierarchy's local weights come from evaluating it; a stored
			// methodology always evaluates, consistent or not.
			ev, err := c.EvaluateWeights(cmd.Context(), &pb.EvaluateWeightsRequest{
				Input: &pb.EvaluateWeightsRequest_Hierarchy{Hierarchy: m.GetHierarchy()}})
			if err != nil {
				return err
			}
			v := view{msg: m, tab: hierarchyTable(m, ev.GetNodes()),
				text: func(w io.Writer) { printMethodology(w, m, ev.GetNodes()) }}
			return v.write(cmd.OutOrStdout(), format)
		},
	}
	cmd.Flags().Uint64Var(&version, "version", 0, "a stored version (0 = the current one)")
	out.register(cmd.Flags())
	return cmd
}

func newMethodologyPutCmd(cf *clientFlags) *cobra.Command {
	var allow bool
	cmd := &cobra.Command{
		Use:   "put FILE",
		Short: "Store a methodology (protobuf JSON) as the next version and rescore every year (admin)",
		Long: `put reads a computescale.v1.Methodology in the protobuf JSON mapping (- reads
standard input), stores it as the next version, makes it current and rescores
every index year in the same commit. A hierarchy node whose AHP consistency
ratio is 0.10 or more is refused (FailedPrecondition) unless
--allow-inconsistent is given; "computescale ahp" evaluates a hierarchy first.`,
		Example: "  computescale methodology get -o json > m.json && $EDITOR m.json && computescale methodology put m.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readInput(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			m := &pb.Methodology{}
			if err := protojson.Unmarshal(b, m); err != nil {
				return fmt.Errorf("%s: not a computescale.v1.Methodology: %w", args[0], err)
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.PutMethodology(cmd.Context(), m, allow)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "stored methodology v%d at revision %d; %d index scores changed\n",
				resp.GetMethodology().GetVersion(), resp.GetRevision(), resp.GetScoresChanged())
			for _, n := range resp.GetNodes() {
				if ev := n.GetEvaluation(); ev != nil {
					verdict := "acceptable"
					if !ev.GetAcceptable() {
						verdict = "NOT acceptable, allowed by --allow-inconsistent"
					}
					fmt.Fprintf(out, "  node %s (%s): CR %.4f, %s\n", n.GetCode(), n.GetSource(), ev.GetConsistencyRatio(), verdict)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&allow, "allow-inconsistent", false, "accept AHP matrices whose consistency ratio is 0.10 or more")
	return cmd
}

// printMethodology writes a readable summary: the settings, then the
// hierarchy as a tree with each node's local and global weight and each
// leaf's target.
func printMethodology(out io.Writer, m *pb.Methodology, nodes []*pb.NodeWeights) {
	created := ""
	if m.GetCreateTime() != nil {
		created = ", created " + m.GetCreateTime().AsTime().Format(time.RFC3339)
	}
	fmt.Fprintf(out, "methodology v%d%s\n%s\n\n", m.GetVersion(), created, m.GetDescription())
	n := m.GetNormalization()
	method := strings.ToLower(strings.TrimPrefix(n.GetMethod().String(), "NORMALIZATION_METHOD_"))
	scope := strings.ToLower(strings.TrimPrefix(n.GetBoundsScope().String(), "BOUNDS_SCOPE_"))
	fmt.Fprintf(out, "normalisation  %s (bounds %s; base year %d for targets not set)\n", method, scope, n.GetBaseYear())
	fmt.Fprintf(out, "aggregation    %s; coverage threshold %.2f\n",
		strings.ToLower(strings.TrimPrefix(m.GetAggregation().String(), "AGGREGATION_")), m.GetCoverageThreshold())
	fmt.Fprintf(out, "tiers          first: composite above %g; second: ranks up to %d\n", m.GetFirstTierAbove(), m.GetSecondTierMaxRank())
	f := m.GetFactors()
	fmt.Fprintf(out, "FP32-eq        FP16 × %g, FP64 × %g; AI host CPUs in basic: %t\n\n", f.GetFp16(), f.GetFp64(), f.GetIncludeAiHostCpus())

	local, global := weightsOf(m, nodes)
	units, targets := map[string]string{}, map[string]string{}
	for _, ind := range m.GetIndicators() {
		units[ind.GetCode()] = ind.GetUnit()
	}
	for _, in := range n.GetIndicators() {
		if in.GetTarget() > 0 {
			targets[in.GetIndicator()] = fmt.Sprintf("target %s %s", figure(in.GetTarget()), units[in.GetIndicator()])
		}
	}
	fmt.Fprintf(out, "%-34s %7s %7s\n", "hierarchy", "local", "global")
	var walk func(node *pb.WeightNode, depth int)
	walk = func(node *pb.WeightNode, depth int) {
		label := strings.Repeat("  ", depth) + node.GetCode()
		if depth == 0 {
			fmt.Fprintf(out, "%-34s %7s %7.4f\n", label, "", 1.0)
		} else {
			line := fmt.Sprintf("%-34s %7.4f %7.4f  %s", label, local[node.GetCode()], global[node.GetCode()], targets[node.GetCode()])
			fmt.Fprintln(out, strings.TrimRight(line, " "))
		}
		for _, c := range node.GetChildren() {
			walk(c, depth+1)
		}
	}
	walk(m.GetHierarchy(), 0)
	for _, nw := range nodes {
		if ev := nw.GetEvaluation(); ev != nil {
			fmt.Fprintf(out, "node %s (%s): λmax %.4f, CR %.4f, acceptable %t\n", nw.GetCode(), nw.GetSource(),
				ev.GetLambdaMax(), ev.GetConsistencyRatio(), ev.GetAcceptable())
		}
	}
}

// hierarchyTable is the CSV form of a methodology: its hierarchy's nodes in
// depth-first order with their parent and weights.
func hierarchyTable(m *pb.Methodology, nodes []*pb.NodeWeights) *table {
	local, global := weightsOf(m, nodes)
	tab := newTable(column{name: "node"}, column{name: "parent"}, column{name: "local_weight"}, column{name: "global_weight"})
	var walk func(node *pb.WeightNode, parent string)
	walk = func(node *pb.WeightNode, parent string) {
		l, g := "1", "1"
		if parent != "" {
			l, g = strconv.FormatFloat(local[node.GetCode()], 'g', -1, 64), strconv.FormatFloat(global[node.GetCode()], 'g', -1, 64)
		}
		tab.add(node.GetCode(), parent, l, g)
		for _, c := range node.GetChildren() {
			walk(c, node.GetCode())
		}
	}
	walk(m.GetHierarchy(), "")
	return tab
}

// weightsOf maps every node and leaf to its local and global weight.
func weightsOf(m *pb.Methodology, nodes []*pb.NodeWeights) (local, global map[string]float64) {
	local, global = map[string]float64{}, map[string]float64{}
	for _, nw := range nodes {
		global[nw.GetCode()] = nw.GetGlobalWeight()
		for i, c := range nw.GetChildren() {
			if i < len(nw.GetLocalWeights()) {
				local[c] = nw.GetLocalWeights()[i]
			}
		}
	}
	for _, lw := range m.GetLeafWeights() {
		global[lw.GetIndicator()] = lw.GetWeight()
	}
	return local, global
}

// figure prints four significant digits, without an exponent for the large
// targets of counts and money.
func figure(v float64) string {
	if v >= 1e4 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}
