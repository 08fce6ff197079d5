// Package catalog is computescale's embedded reference data: the chips whose
// data-sheet figures turn shipment records into compute (chips.csv), and the
// Chinese supercomputers with a public TOP500 Rpeak (supercomputers.csv).
//
// Both files are plain CSV, with a commented header describing each column,
// so that a figure can be checked against its source without reading Go. Every
// row names its source; where public figures conflict the row says which one
// was taken and why. Rates are dense peaks (never the "with sparsity"
// figures), and a CPU's rate is per core per cycle, derived from its vector
// width and FMA units, so that its peak is cores × clock × rate (blue book
// footnote 12, METHOD.md section 1).
//
// The files are parsed once, on first use; a parse error there is a bug in the
// embedded data (the package's tests parse them), so the accessors panic on it.
// Accessors return copies: callers may modify what they get.
package catalog

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/computescale/computescale/estimator"
)

var (
	//go:embed chips.csv
	chipsCSV []byte
	//go:embed supercomputers.csv
	supercomputersCSV []byte
)

// loaded holds the parsed files; it is written once and never modified.
type loaded struct {
	chips  []estimator.ChipSpec
	byID   map[string]int
	supers []Supercomputer
}

var load = sync.OnceValue(func() *loaded {
	chips, err := parseChips(bytes.NewReader(chipsCSV))
	if err != nil {
		panic("catalog: embedded chips.csv: " + err.Error())
	}
	supers, err := parseSupercomputers(bytes.NewReader(supercomputersCSV))
	if err != nil {
		panic("catalog: embedded supercomputers.csv: " + err.Error())
	}
	l := &loaded{chips: chips, byID: make(map[string]int, len(chips)), supers: supers}
	for i, c := range chips {
		l.byID[c.ID] = i
	}
	return l
})

// Chips returns every catalog chip, in file order.
func Chips() []estimator.ChipSpec {
	src := load().chips
	out := make([]estimator.ChipSpec, len(src))
	for i, c := range src {
		out[i] = cloneChip(c)
	}
	return out
}

// Chip returns the catalog chip with the given id. Its signature matches
// estimator.ChipResolver, so it can resolve records' chip ids directly.
func Chip(id string) (estimator.ChipSpec, bool) {
	l := load()
	i, ok := l.byID[id]
	if !ok {
		return estimator.ChipSpec{}, false
	}
	return cloneChip(l.chips[i]), true
}

// Supercomputers returns every catalog supercomputer, in file order.
func Supercomputers() []Supercomputer {
	return append([]Supercomputer(nil), load().supers...)
}

func cloneChip(c estimator.ChipSpec) estimator.ChipSpec {
	c.Rates = append([]estimator.Rate(nil), c.Rates...)
	return c
}
