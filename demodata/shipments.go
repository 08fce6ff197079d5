package demodata

import (
	"fmt"
	"slices"
	"strings"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/estimator"
)

// Shipments returns the demo feed: general- and AI-server shipment records
// for the 31 provinces, 2014 through 2025Q2, and one SUPERCOMPUTER record per
// system. It is deterministic (no randomness, integer apportionment with
// fixed tie-breaking): every call returns the same records, in the same order
// (by period, then id). Record ids are stable and unique:
//
//	demo-2019-110000-general-xeon6148x2     year-only record (2014-2022)
//	demo-2024q3-440000-ai-h20x8             quarterly record (2023-2025)
//	demo-super-sunway-taihulight            catalog supercomputer
//	demo-super-synthetic-nscc-tj-2020       synthetic supercomputer
//
// Components name catalog chips only (Component.ChipID), so the records
// resolve with catalog.Chip.
func Shipments() []estimator.Record {
	f := estimator.DefaultFactors()
	recs := superRecords(targetSuperFP32Eq / f.FP64 * 1e18)
	recs = append(recs, serverRecords(estimator.ClassGeneral, targetBasicFP32)...)
	recs = append(recs, serverRecords(estimator.ClassAI, targetAIFP32Eq/f.FP16)...)
	slices.SortStableFunc(recs, func(a, b estimator.Record) int {
		if a.Period.Before(b.Period) {
			return -1
		}
		if b.Period.Before(a.Period) {
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return recs
}

// serverRecords builds one class's records: national units per year
// (nationalUnits) are split among provinces (provinceShares), then among the
// year's configurations at the solved blend, then evenly among the year's
// record periods, each split by largest remainder so that every total is
// exact. target is the class's national EFlops as of asOf.
func serverRecords(class estimator.ServerClass, target float64) []estimator.Record {
	units := nationalUnits(class)
	theta := blend(class, units, target)
	shares := provinceShares(class)
	provinces := estimator.Provinces()
	var recs []estimator.Record
	for year := firstYear; year <= lastYear; year++ {
		mix := mixes[class][year]
		mixWeights := weights(mix, theta)
		ps := periods(year)
		for i, provUnits := range apportion(units[year], shares) {
			for j, cfgUnits := range apportion(provUnits, mixWeights) {
				cfg := configByName(mix[j].config)
				for k, n := range apportion(cfgUnits, evenly(len(ps))) {
					if n > 0 {
						recs = append(recs, serverRecord(provinces[i].Code, ps[k], cfg, n))
					}
				}
			}
		}
	}
	return recs
}

func serverRecord(province uint32, p estimator.Period, cfg config, units int64) estimator.Record {
	class := "general"
	if cfg.class == estimator.ClassAI {
		class = "ai"
	}
	return estimator.Record{
		ID:         fmt.Sprintf("demo-%s-%d-%s-%s", strings.ToLower(p.String()), province, class, cfg.name),
		Province:   province,
		Period:     p,
		Class:      cfg.class,
		Units:      units,
		Components: slices.Clone(cfg.parts),
		Note:       "synthetic demo shipment (scaled to the CAICT 2025 blue book): " + describe(cfg),
	}
}

// describe spells out a configuration, e.g. "2× Xeon Platinum 8480+ (Sapphire
// Rapids) + 8× H20".
func describe(cfg config) string {
	parts := make([]string, len(cfg.parts))
	for i, c := range cfg.parts {
		spec, _ := catalog.Chip(c.ChipID)
		parts[i] = fmt.Sprintf("%d× %s", c.Count, spec.Model)
	}
	return strings.Join(parts, " + ")
}

// periods lists a year's record periods: the whole year for 2014-2022,
// quarters for 2023-2024, and 2025's first two quarters.
func periods(year int) []estimator.Period {
	switch {
	case year <= 2022:
		return []estimator.Period{{Year: year}}
	case year == lastYear:
		return []estimator.Period{{Year: year, Quarter: 1}, {Year: year, Quarter: 2}}
	}
	return []estimator.Period{{Year: year, Quarter: 1}, {Year: year, Quarter: 2}, {Year: year, Quarter: 3}, {Year: year, Quarter: 4}}
}

func evenly(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}
