package catalog

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/computescale/computescale/estimator"
)

// chipColumns is chips.csv's header. The file's own comment block describes
// each column; in short:
//
//	id, vendor, model  identity; id is the catalog id records refer to
//	kind               CPU, GPU, NPU or FPGA
//	cores, clock_hz    cores per chip and base clock in Hz; required when basis
//	                   is "cycle", empty otherwise
//	basis              "cycle": the rate columns are FLOPs per cycle per core;
//	                   "peak": they are the dense peak in TFLOP/s (TOP/s for int8)
//	fp64 … int8        one rate per precision, empty where none is published
//	source             the data sheet and any derivation or choice made
var chipColumns = []string{"id", "vendor", "model", "kind", "cores", "clock_hz", "basis",
	"fp64", "fp32", "fp16", "bf16", "fp8", "int8", "source"}

// rateColumns maps the rate columns to precisions, in file order.
var rateColumns = []struct {
	name string
	p    estimator.Precision
}{
	{"fp64", estimator.FP64}, {"fp32", estimator.FP32}, {"fp16", estimator.FP16},
	{"bf16", estimator.BF16}, {"fp8", estimator.FP8}, {"int8", estimator.INT8},
}

var kinds = map[string]estimator.ChipKind{
	"CPU": estimator.KindCPU, "GPU": estimator.KindGPU, "NPU": estimator.KindNPU, "FPGA": estimator.KindFPGA,
}

// parseChips reads a chips.csv. Every row must make a catalog spec that
// passes estimator.ChipSpec.Validate, and ids must be unique.
func parseChips(r io.Reader) ([]estimator.ChipSpec, error) {
	chips, err := parseRows(r, chipColumns, "chip", chipRow, func(c estimator.ChipSpec) string { return c.ID })
	if err == nil && len(chips) == 0 {
		err = &ParseError{Line: 1, Column: 1, Err: fmt.Errorf("no chips")}
	}
	return chips, err
}

// chipRow converts the current row.
func chipRow(t *table) (estimator.ChipSpec, error) {
	c := estimator.ChipSpec{
		ID: t.cell("id"), Vendor: t.cell("vendor"), Model: t.cell("model"), Source: t.cell("source"),
	}
	kind, ok := kinds[t.cell("kind")]
	if !ok {
		return c, t.errorf("kind", "kind %q is not CPU, GPU, NPU or FPGA", t.cell("kind"))
	}
	c.Kind = kind
	basis := t.cell("basis")
	if basis != "cycle" && basis != "peak" {
		return c, t.errorf("basis", "basis %q is not cycle or peak", basis)
	}
	var err error
	if c.Cores, err = optionalUint[uint32](t, "cores", 32); err != nil {
		return c, err
	}
	if c.ClockHz, err = optionalUint[uint64](t, "clock_hz", 64); err != nil {
		return c, err
	}
	for _, rc := range rateColumns {
		s := t.cell(rc.name)
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return c, t.errorf(rc.name, "rate %q is not a number", s)
		}
		rate := estimator.Rate{Precision: rc.p}
		if basis == "cycle" {
			rate.FlopsPerCycle = v
		} else {
			rate.PeakFLOPS = v * 1e12
		}
		c.Rates = append(c.Rates, rate)
	}
	if vs := c.Validate("", true); len(vs) > 0 {
		return c, t.errorf(violationColumn(vs[0].Field, c.Rates), "%s", vs[0].Description)
	}
	return c, nil
}

// optionalUint parses an unsigned integer column that may be empty.
func optionalUint[T uint32 | uint64](t *table, name string, bits int) (T, error) {
	s := t.cell(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, t.errorf(name, "%q is not a whole number below 2^%d", s, bits)
	}
	return T(v), nil
}

// violationColumn maps a ChipSpec.Validate field path back to the CSV column
// that holds it: "rates[2].rate" is the column of the third rate given.
func violationColumn(field string, rates []estimator.Rate) string {
	if rest, ok := strings.CutPrefix(field, "rates["); ok {
		var i int
		if _, err := fmt.Sscanf(rest, "%d]", &i); err == nil && i >= 0 && i < len(rates) {
			return strings.ToLower(rates[i].Precision.String())
		}
		return "fp32"
	}
	switch field {
	case "id", "model", "kind", "cores", "clock_hz", "source":
		return field
	}
	return "id"
}
