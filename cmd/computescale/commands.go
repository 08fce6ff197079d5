package main

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

// newVersionCmd prints the build, as etcdctl version does: the module
// version (a tagged build) or "(devel)", the commit it was built from and
// the Go release, and the API it speaks.
func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Print the version of this build and the API it speaks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			version, revision, modified := "(devel)", "unknown", false
			if bi, ok := debug.ReadBuildInfo(); ok {
				if bi.Main.Version != "" {
					version = bi.Main.Version
				}
				for _, kv := range bi.Settings {
					switch kv.Key {
					case "vcs.revision":
						revision = kv.Value
					case "vcs.modified":
						modified = kv.Value == "true"
					}
				}
			}
			if modified {
				revision += " (modified)"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "computescale version: %s\n", version)
			fmt.Fprintf(out, "git revision: %s\n", revision)
			fmt.Fprintf(out, "go version: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(out, "API: %s\n", pb.File_computescale_v1_compute_proto.Package())
			return nil
		},
	}
}

func newRetractCmd() *cobra.Command {
	var cf clientFlags
	var allowMissing bool
	cmd := &cobra.Command{
		Use:   "retract ID... | retract -",
		Short: "Remove your own shipment records by id (vendor)",
		Long: `retract removes shipment records that the caller (the vendor of the token)
ingested, by record id, in one commit: their contributions leave the totals
and the index is rescored. - reads ids from standard input, one a line. An
id the vendor has not stored fails the whole call (NotFound) unless
--allow-missing, which retracts the rest and lists the missing ids.`,
		Example: "  computescale retract --token $VENDOR r-2024-0001 r-2024-0002\n  cut -d, -f1 wrong.csv | tail -n +2 | computescale retract -",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ids := args
			if len(args) == 1 && args[0] == "-" {
				var err error
				if ids, err = readIDs(cmd.InOrStdin()); err != nil {
					return err
				}
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.Retract(cmd.Context(), ids, allowMissing)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "retracted %d records at revision %d\n", resp.GetRetracted(), resp.GetRevision())
			if m := resp.GetMissingRecordIds(); len(m) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "not stored (skipped): %s\n", strings.Join(m, ", "))
			}
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().BoolVar(&allowMissing, "allow-missing", false, "retract the ids that exist and list the others instead of failing")
	return cmd
}

// readIDs reads one id a line, skipping blank lines.
func readIDs(r io.Reader) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			ids = append(ids, id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ids: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no ids on standard input")
	}
	return ids, nil
}

func newCompactCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "compact REVISION",
		Short: "Drop the watch history before REVISION (admin)",
		Long: `compact drops the change log that watch --from replays, up to but not
including REVISION, as etcdctl compact does; stored records, totals and scores
are untouched. A watcher that then asks to resume from an earlier revision is
told the oldest revision still retained.`,
		Example: "  computescale compact --token $ADMIN 12000",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rev, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("revision %q: want a positive integer", args[0])
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			resp, err := c.Compact(cmd.Context(), rev)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compacted: %d change-log entries dropped; oldest revision retained %d\n", resp.GetDropped(), resp.GetOldestRevision())
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

func newChipsCmd() *cobra.Command {
	var cf clientFlags
	var out outputFlag
	var kind, vendor string
	cmd := &cobra.Command{
		Use:   "chips",
		Short: "List the chip catalog: the ids a feed's components refer to",
		Long: `chips lists the catalog's chip specs in id order with their dense peak rates
(TFLOPS, — where the spec has none): the ids are what a shipment feed's
components name (COUNT*CHIP_ID in CSV, "chipId" in JSON Lines).`,
		Example: "  computescale chips --kind gpu\n  computescale chips --vendor nvidia -o csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := out.get()
			if err != nil {
				return err
			}
			req := &pb.ListChipSpecsRequest{Vendor: vendor, PageSize: 1000}
			if kind != "" {
				k, ok := pb.ChipKind_value["CHIP_KIND_"+strings.ToUpper(kind)]
				if !ok {
					return fmt.Errorf("--kind %q: want cpu, gpu, npu or fpga", kind)
				}
				req.Kind = pb.ChipKind(k)
			}
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			specs, err := c.ListChipSpecs(cmd.Context(), req)
			if err != nil {
				return err
			}
			return chipsView(&pb.ListChipSpecsResponse{ChipSpecs: specs}).write(cmd.OutOrStdout(), format)
		},
	}
	cf.register(cmd.Flags())
	out.register(cmd.Flags())
	cmd.Flags().StringVar(&kind, "kind", "", "only this kind: cpu, gpu, npu, fpga")
	cmd.Flags().StringVar(&vendor, "vendor", "", "only this vendor (case-insensitive)")
	return cmd
}

func chipsView(resp *pb.ListChipSpecsResponse) view {
	tab := newTable(column{name: "id"}, column{name: "kind"}, column{name: "vendor"}, column{name: "model"},
		column{name: "FP64 TFLOPS", right: true}, column{name: "FP32 TFLOPS", right: true}, column{name: "FP16 TFLOPS", right: true})
	for _, c := range resp.GetChipSpecs() {
		spec := protoconv.ChipFromProto(c)
		cells := []string{c.GetId(), strings.ToLower(strings.TrimPrefix(c.GetKind().String(), "CHIP_KIND_")), c.GetVendor(), c.GetModel()}
		for _, p := range []estimator.Precision{estimator.FP64, estimator.FP32, estimator.FP16} {
			cell := "—"
			if f := spec.FLOPS(p); f > 0 {
				cell = strconv.FormatFloat(f/1e12, 'f', 1, 64)
			}
			cells = append(cells, cell)
		}
		tab.add(cells...)
	}
	return view{msg: resp, tab: tab, foot: []string{fmt.Sprintf("%d chips", len(resp.GetChipSpecs()))}}
}
