package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// printTotals writes a ranking table with a national row at the bottom.
func printTotals(out io.Writer, rows []*pb.ComputeTotals, national *pb.ComputeTotals) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tprovince\tcode\tbasic FP32\tAI FP16\tAI FP32-eq\tsuper FP64\tsuper FP32-eq\ttotal FP32-eq\trecords\t")
	for i, t := range rows {
		fmt.Fprintf(tw, "%d\t%s %s\t%s\t%s\t%d\t\n", i+1, t.GetProvince().GetName(), t.GetProvince().GetNameZh(),
			t.GetProvince().GetCode(), figures(t), t.GetRecordCount())
	}
	if national != nil {
		fmt.Fprintf(tw, "\tChina 全国\t\t%s\t%d\t\n", figures(national), national.GetRecordCount())
	}
	tw.Flush()
	if f := national.GetFactors(); f != nil {
		fmt.Fprintf(out, "FP32-equivalent: FP16 × %g, FP64 × %g; AI host CPUs in basic: %t; revision %d\n",
			f.GetFp16(), f.GetFp64(), f.GetIncludeAiHostCpus(), national.GetRevision())
	}
}

func figures(t *pb.ComputeTotals) string {
	return fmt.Sprintf("%.2f\t%.2f\t%.2f\t%.3f\t%.3f\t%.2f",
		t.GetBasicFp32Eflops(), t.GetAiFp16Eflops(), t.GetAiFp32EquivalentEflops(),
		t.GetSuperFp64Eflops(), t.GetSuperFp32EquivalentEflops(), t.GetTotalFp32EquivalentEflops())
}

// newProgress returns a progress bar on a terminal and a silent one
// elsewhere (CI logs, pipes), where redraws would only add noise.
func newProgress(w io.Writer, total int, what string) *progressbar.ProgressBar {
	if f, ok := w.(interface{ Fd() uintptr }); !ok || !term.IsTerminal(int(f.Fd())) {
		return progressbar.DefaultSilent(int64(total), what)
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("records"),
		progressbar.OptionThrottle(100e6),
		progressbar.OptionClearOnFinish(),
	)
}
