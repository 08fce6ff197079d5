package catalog_test

import (
	"fmt"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/estimator"
)

func ExampleChip() {
	cpu, _ := catalog.Chip("intel-xeon-platinum-8480p")
	gpu, _ := catalog.Chip("nvidia-h20")
	fmt.Printf("%s: %.3f TFLOPS FP32 (cores × clock × FLOPs per cycle)\n", cpu.Model, cpu.FLOPS(estimator.FP32)/1e12)
	fmt.Printf("%s: %.0f TFLOPS FP16 (dense data-sheet peak)\n", gpu.Model, gpu.FLOPS(estimator.FP16)/1e12)
	// Output:
	// Xeon Platinum 8480+ (Sapphire Rapids): 7.168 TFLOPS FP32 (cores × clock × FLOPs per cycle)
	// H20: 148 TFLOPS FP16 (dense data-sheet peak)
}
