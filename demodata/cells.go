package demodata

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/estimator"
)

// Cells sums the records' contributions (estimator.Record.Contributions,
// resolving chip ids with catalog.Chip) into one aggregate cell per
// (province, series, period), sorted in that order: what the store keeps,
// and what estimator.Sum turns into totals. The records must have passed
// estimator.Record.Validate.
func Cells(recs []estimator.Record) ([]estimator.Cell, error) {
	type key struct {
		province uint32
		series   estimator.Series
		period   estimator.Period
	}
	sums := map[key]estimator.Amount{}
	for i := range recs {
		cs, err := recs[i].Contributions(catalog.Chip)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", recs[i].ID, err)
		}
		for _, c := range cs {
			k := key{recs[i].Province, c.Series, c.Period}
			sum, err := sums[k].Add(c.Amount)
			if err != nil {
				return nil, fmt.Errorf("record %s: %w", recs[i].ID, err)
			}
			sums[k] = sum
		}
	}
	cells := make([]estimator.Cell, 0, len(sums))
	for k, a := range sums {
		cells = append(cells, estimator.Cell{Province: k.province, Series: k.series, Period: k.period, Amount: a})
	}
	slices.SortFunc(cells, func(a, b estimator.Cell) int {
		return cmp.Or(cmp.Compare(a.Province, b.Province), cmp.Compare(a.Series, b.Series),
			cmp.Compare(a.Period.Year, b.Period.Year), cmp.Compare(a.Period.Quarter, b.Period.Quarter))
	})
	return cells, nil
}
