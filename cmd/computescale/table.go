package main

import (
	"fmt"
	"io"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
)

// totalsView is the compute table of query and demo: a row per province
// (ranked, "#", when there are several), the national row at the bottom,
// the window the totals cover above the table and the FP32-equivalent
// factors below it.
func totalsView(msg proto.Message, rows []*pb.ComputeTotals, national *pb.ComputeTotals) view {
	ranked := len(rows) > 1
	var cols []column
	if ranked {
		cols = append(cols, column{name: "#", right: true})
	}
	cols = append(cols, column{name: "province"}, column{name: "code"})
	for _, n := range []string{"basic FP32", "AI FP16", "AI FP32-eq", "super FP64", "super FP32-eq", "total FP32-eq", "records"} {
		cols = append(cols, column{name: n, right: true})
	}
	tab := newTable(cols...)
	row := func(rank, name, code string, t *pb.ComputeTotals) {
		cells := []string{name, code}
		if ranked {
			cells = append([]string{rank}, cells...)
		}
		tab.add(append(cells, figures(t)...)...)
	}
	for i, t := range rows {
		row(fmt.Sprint(i+1), t.GetProvince().GetName()+" "+t.GetProvince().GetNameZh(), t.GetProvince().GetCode(), t)
	}
	if national != nil {
		row("", "China 全国", "", national)
	}
	v := view{msg: msg, tab: tab}
	ref := national
	if ref == nil && len(rows) > 0 {
		ref = rows[0]
	}
	if ref != nil {
		v.head = []string{"six-year window " + windowOf(ref) + ", EFlops"}
	}
	if f := ref.GetFactors(); f != nil {
		v.foot = []string{fmt.Sprintf("FP32-equivalent: FP16 × %g, FP64 × %g; AI host CPUs in basic: %t; revision %d",
			f.GetFp16(), f.GetFp64(), f.GetIncludeAiHostCpus(), ref.GetRevision())}
	}
	return v
}

// windowOf names the quarters a total covers, e.g. "2019Q1–2024Q4".
func windowOf(t *pb.ComputeTotals) string {
	end := protoconv.PeriodFromProto(t.GetPeriod())
	if end.Quarter == 0 {
		end.Quarter = 4 // a year alone is its end
	}
	return fmt.Sprintf("%s–%s", protoconv.PeriodFromProto(t.GetWindowStart()), end)
}

func figures(t *pb.ComputeTotals) []string {
	return []string{fmt.Sprintf("%.2f", t.GetBasicFp32Eflops()), fmt.Sprintf("%.2f", t.GetAiFp16Eflops()),
		fmt.Sprintf("%.2f", t.GetAiFp32EquivalentEflops()), fmt.Sprintf("%.3f", t.GetSuperFp64Eflops()),
		fmt.Sprintf("%.3f", t.GetSuperFp32EquivalentEflops()), fmt.Sprintf("%.2f", t.GetTotalFp32EquivalentEflops()),
		fmt.Sprint(t.GetRecordCount())}
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
