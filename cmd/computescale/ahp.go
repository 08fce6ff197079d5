package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

func newAHPCmd() *cobra.Command {
	var cf clientFlags
	var out outputFlag
	var hints int
	cmd := &cobra.Command{
		Use:   "ahp FILE",
		Short: "Evaluate an AHP pairwise comparison matrix or a weight hierarchy",
		Long: `ahp sends a pairwise comparison matrix, or a hierarchy of them, to the
server's EvaluateWeights (nothing is stored) and prints the priority vector,
λmax, CI = (λmax − n)/(n − 1), CR = CI/RI(n) with Saaty's random index table,
the verdict (acceptable when CR < 0.10; the command exits 1 otherwise) and the judgements that contribute
most to the inconsistency, with the value that would agree with the weights.

FILE is JSON (- reads standard input), in one of three forms:

  1. A plain matrix, rows of Saaty-scale judgements; a cell may be a number
     or a fraction string, and "method" may be "eigenvector" (the default)
     or "geometric_mean":
       {"matrix": [[1, "1/2", 4], [2, 1, 7], ["1/4", "1/7", 1]]}

  2. A computescale.v1.WeightNode in the protobuf JSON mapping (the form of
     a methodology's "hierarchy"): a node with "code", "children" and at most
     one of "weights", "matrix" ({"rows": [{"values": [...]}]}) or "experts":
       {"code": "index", "matrix": {"rows": [...]},
        "children": [{"code": "scale"}, {"code": "industry"}, ...]}

  3. A computescale.v1.EvaluateWeightsRequest in the protobuf JSON mapping:
       {"matrix": {"rows": [{"values": [1, 0.5]}, {"values": [2, 1]}]},
        "method": "AHP_METHOD_GEOMETRIC_MEAN"}   or   {"hierarchy": {...}}`,
		Example: `  echo '{"matrix": [[1,"1/2",4,3,3],[2,1,7,5,5],["1/4","1/7",1,"1/2","1/3"],["1/3","1/5",2,1,1],["1/3","1/5",3,1,1]]}' | computescale ahp -`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			b, err := readInput(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			req, err := parseAHPFile(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.EvaluateWeights(cmd.Context(), req)
			if err != nil {
				return err
			}
			v := view{msg: resp, tab: weightsTable(req, resp), text: func(w io.Writer) { printEvaluation(w, req, resp, hints) }}
			if err := v.write(cmd.OutOrStdout(), format); err != nil {
				return err
			}
			return notAcceptable(resp)
		},
	}
	cf.register(cmd.Flags())
	out.register(cmd.Flags())
	cmd.Flags().IntVar(&hints, "hints", 3, "inconsistency hints to print per matrix")
	return cmd
}

// notAcceptable is the command's error when a matrix's consistency ratio is
// 0.10 or more, so that a script sees the verdict in the exit status.
func notAcceptable(resp *pb.EvaluateWeightsResponse) error {
	var bad []string
	if ev := resp.GetEvaluation(); ev != nil && !ev.GetAcceptable() {
		bad = append(bad, fmt.Sprintf("the matrix (CR %.4f)", ev.GetConsistencyRatio()))
	}
	for _, n := range resp.GetNodes() {
		if ev := n.GetEvaluation(); ev != nil && !ev.GetAcceptable() {
			bad = append(bad, fmt.Sprintf("node %s (CR %.4f)", n.GetCode(), ev.GetConsistencyRatio()))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("not acceptable (CR ≥ %.2f): %s", estimator.AcceptableCR, strings.Join(bad, ", "))
}

// weightsTable is the CSV form: one row per weight, with its node's
// consistency (for a plain matrix the node is "matrix" and the items are
// numbered from 1).
func weightsTable(req *pb.EvaluateWeightsRequest, resp *pb.EvaluateWeightsResponse) *table {
	tab := newTable(column{name: "node"}, column{name: "item"}, column{name: "weight"}, column{name: "cr"}, column{name: "acceptable"})
	consistency := func(ev *pb.AhpEvaluation) (string, string) {
		if ev == nil {
			return "", ""
		}
		return strconv.FormatFloat(ev.GetConsistencyRatio(), 'g', -1, 64), strconv.FormatBool(ev.GetAcceptable())
	}
	if req.GetMatrix() != nil {
		cr, ok := consistency(resp.GetEvaluation())
		for i, w := range resp.GetEvaluation().GetWeights() {
			tab.add("matrix", strconv.Itoa(i+1), strconv.FormatFloat(w, 'g', -1, 64), cr, ok)
		}
		return tab
	}
	for _, n := range resp.GetNodes() {
		cr, ok := consistency(n.GetEvaluation())
		for i, c := range n.GetChildren() {
			if i < len(n.GetLocalWeights()) {
				tab.add(n.GetCode(), c, strconv.FormatFloat(n.GetLocalWeights()[i], 'g', -1, 64), cr, ok)
			}
		}
	}
	return tab
}

func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// parseAHPFile reads any of the three forms that ahp --help documents.
func parseAHPFile(b []byte) (*pb.EvaluateWeightsRequest, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if m, ok := keys["matrix"]; ok && bytes.HasPrefix(bytes.TrimSpace(m), []byte("[")) {
		return plainMatrix(keys)
	}
	_, code := keys["code"]
	_, children := keys["children"]
	if code || children {
		node := &pb.WeightNode{}
		if err := protojson.Unmarshal(b, node); err != nil {
			return nil, fmt.Errorf("as a WeightNode: %w", err)
		}
		return &pb.EvaluateWeightsRequest{Input: &pb.EvaluateWeightsRequest_Hierarchy{Hierarchy: node}}, nil
	}
	req := &pb.EvaluateWeightsRequest{}
	if err := protojson.Unmarshal(b, req); err != nil {
		return nil, fmt.Errorf("as an EvaluateWeightsRequest: %w", err)
	}
	return req, nil
}

func plainMatrix(keys map[string]json.RawMessage) (*pb.EvaluateWeightsRequest, error) {
	var rows [][]json.RawMessage
	if err := json.Unmarshal(keys["matrix"], &rows); err != nil {
		return nil, fmt.Errorf("matrix: want rows of numbers: %w", err)
	}
	m := &pb.PairwiseMatrix{}
	for i, row := range rows {
		r := &pb.MatrixRow{}
		for j, cell := range row {
			v, err := judgement(cell)
			if err != nil {
				return nil, fmt.Errorf("matrix[%d][%d]: %w", i, j, err)
			}
			r.Values = append(r.Values, v)
		}
		m.Rows = append(m.Rows, r)
	}
	req := &pb.EvaluateWeightsRequest{Input: &pb.EvaluateWeightsRequest_Matrix{Matrix: m}}
	if raw, ok := keys["method"]; ok {
		var method string
		if err := json.Unmarshal(raw, &method); err != nil {
			return nil, fmt.Errorf("method: %w", err)
		}
		switch strings.ToLower(strings.TrimPrefix(strings.ToUpper(method), "AHP_METHOD_")) {
		case "eigenvector", "":
			req.Method = pb.AhpMethod_AHP_METHOD_EIGENVECTOR
		case "geometric_mean":
			req.Method = pb.AhpMethod_AHP_METHOD_GEOMETRIC_MEAN
		default:
			return nil, fmt.Errorf("method %q: want eigenvector or geometric_mean", method)
		}
	}
	for k := range keys {
		if k != "matrix" && k != "method" {
			return nil, fmt.Errorf("unknown key %q beside a plain matrix (want matrix, method)", k)
		}
	}
	return req, nil
}

// judgement reads a cell: a JSON number, or a string holding a number or a
// fraction such as "1/7".
func judgement(cell json.RawMessage) (float64, error) {
	var v float64
	if err := json.Unmarshal(cell, &v); err == nil {
		return v, nil
	}
	var s string
	if err := json.Unmarshal(cell, &s); err != nil {
		return 0, fmt.Errorf("%s is neither a number nor a string", cell)
	}
	num, den, isFrac := strings.Cut(strings.TrimSpace(s), "/")
	a, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number or a fraction", s)
	}
	if !isFrac {
		return a, nil
	}
	b, err := strconv.ParseFloat(strings.TrimSpace(den), 64)
	if err != nil || b == 0 {
		return 0, fmt.Errorf("%q is not a fraction", s)
	}
	return a / b, nil
}

// printEvaluation writes a single matrix's evaluation, or every node of a
// hierarchy and the leaves' global weights.
func printEvaluation(out io.Writer, req *pb.EvaluateWeightsRequest, resp *pb.EvaluateWeightsResponse, hints int) {
	if req.GetMatrix() != nil {
		method := "eigenvector"
		if req.GetMethod() == pb.AhpMethod_AHP_METHOD_GEOMETRIC_MEAN {
			method = "geometric mean"
		}
		fmt.Fprintf(out, "pairwise comparison matrix, n = %d, %s method\n", len(req.GetMatrix().GetRows()), method)
		labels := make([]string, len(resp.GetEvaluation().GetWeights()))
		for i := range labels {
			labels[i] = strconv.Itoa(i + 1)
		}
		printAHP(out, "", labels, resp.GetEvaluation(), hints)
		printRITable(out)
		return
	}
	for _, n := range resp.GetNodes() {
		fmt.Fprintf(out, "node %s (%s), global weight %.4f\n", n.GetCode(), n.GetSource(), n.GetGlobalWeight())
		if n.GetEvaluation() != nil {
			printAHP(out, "  ", n.GetChildren(), n.GetEvaluation(), hints)
		} else {
			printWeights(out, "  ", n.GetChildren(), n.GetLocalWeights())
		}
	}
	fmt.Fprintln(out, "leaf global weights:")
	leaves := slices.Clone(resp.GetLeafWeights())
	slices.SortStableFunc(leaves, func(a, b *pb.LeafWeight) int { return -cmp.Compare(a.GetWeight(), b.GetWeight()) })
	codes, weights := make([]string, len(leaves)), make([]float64, len(leaves))
	for i, l := range leaves {
		codes[i], weights[i] = l.GetIndicator(), l.GetWeight()
	}
	printWeights(out, "  ", codes, weights)
	if slices.ContainsFunc(resp.GetNodes(), func(n *pb.NodeWeights) bool { return n.GetEvaluation() != nil }) {
		printRITable(out)
	}
}

func printWeights(out io.Writer, indent string, labels []string, weights []float64) {
	width := 6
	for _, l := range labels {
		width = max(width, len(l))
	}
	top := slices.Max(append([]float64{0}, weights...))
	for i, w := range weights {
		label := ""
		if i < len(labels) {
			label = labels[i]
		}
		fmt.Fprintf(out, "%s%-*s  %.4f  %s\n", indent, width, label, w, scoreBar(w, top, 20))
	}
}

func printAHP(out io.Writer, indent string, labels []string, ev *pb.AhpEvaluation, hints int) {
	printWeights(out, indent, labels, ev.GetWeights())
	n := len(ev.GetWeights())
	fmt.Fprintf(out, "%sλmax %.4f   CI %.4f   RI(%d) %.2f   CR %.4f\n", indent, ev.GetLambdaMax(),
		ev.GetConsistencyIndex(), n, ev.GetRandomIndex(), ev.GetConsistencyRatio())
	switch {
	case n <= 2:
		fmt.Fprintf(out, "%sverdict: acceptable (a %d×%d matrix is always consistent)\n", indent, n, n)
	case ev.GetAcceptable():
		fmt.Fprintf(out, "%sverdict: acceptable (CR %.4f < %.2f)\n", indent, ev.GetConsistencyRatio(), estimator.AcceptableCR)
	default:
		fmt.Fprintf(out, "%sverdict: NOT acceptable (CR %.4f ≥ %.2f): revise the judgements below, or put the methodology with --allow-inconsistent\n",
			indent, ev.GetConsistencyRatio(), estimator.AcceptableCR)
	}
	if n <= 2 || hints <= 0 {
		return
	}
	fmt.Fprintf(out, "%smost inconsistent judgements (ε = a_ij·w_j/w_i, 1 when consistent):\n", indent)
	for _, h := range ev.GetHints()[:min(hints, len(ev.GetHints()))] {
		i, j := int(h.GetRow()), int(h.GetColumn())
		li, lj := strconv.Itoa(i+1), strconv.Itoa(j+1)
		if i < len(labels) && j < len(labels) {
			li, lj = labels[i], labels[j]
		}
		fmt.Fprintf(out, "%s  a(%s, %s) = %s; consistent with the weights: %s (ε %.3f)\n", indent, li, lj,
			fraction(h.GetJudgement()), fraction(h.GetConsistentValue()), h.GetEpsilon())
	}
}

// fraction prints a judgement below 1 as 1/k when it is (nearly) one.
func fraction(v float64) string {
	if v > 0 && v < 1 {
		if k := math.Round(1 / v); math.Abs(1/v-k) < 1e-3*k {
			return fmt.Sprintf("1/%g", k)
		}
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

func printRITable(out io.Writer) {
	var cells []string
	for n := 1; n <= estimator.MaxAHPSize; n++ {
		ri, _ := estimator.RandomIndex(n)
		cells = append(cells, fmt.Sprintf("%d:%.2f", n, ri))
	}
	fmt.Fprintf(out, "RI table (%s), n:RI: %s\n", estimator.SaatyRITable, strings.Join(cells, " "))
}
