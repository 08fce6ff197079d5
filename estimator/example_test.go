package estimator_test

import (
	"fmt"

	"github.com/computescale/computescale/estimator"
)

// Ten 8 × H100 servers shipped to Guangdong in 2024, counted as of 2025Q2.
func ExampleSum() {
	h100 := estimator.ChipSpec{Kind: estimator.KindGPU,
		Rates: []estimator.Rate{{Precision: estimator.FP16, PeakFLOPS: 989e12}}}
	r := estimator.Record{ID: "hgx-2024", Province: 440000, Period: estimator.Period{Year: 2024},
		Class: estimator.ClassAI, Units: 10,
		Components: []estimator.Component{{Count: 8, Inline: &h100}}}
	cs, err := r.Contributions(func(string) (estimator.ChipSpec, bool) { return estimator.ChipSpec{}, false })
	if err != nil {
		fmt.Println(err)
		return
	}
	var cells []estimator.Cell
	for _, c := range cs {
		cells = append(cells, estimator.Cell{Province: r.Province, Series: c.Series, Period: c.Period, Amount: c.Amount})
	}
	t := estimator.Sum(cells, estimator.Period{Year: 2025, Quarter: 2}, estimator.DefaultFactors())
	fmt.Printf("window %s..%s\n", t.Window.Start, t.Window.End)
	fmt.Printf("AI FP16 %.5f EFlops, FP32-equivalent %.5f EFlops\n", t.AIFP16, t.AIFP32Eq)
	// Output:
	// window 2019Q3..2025Q2
	// AI FP16 0.07912 EFlops, FP32-equivalent 0.03956 EFlops
}
