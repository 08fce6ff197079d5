package demodata

import (
	"fmt"
	"maps"
	"math"
	"sync"

	"github.com/computescale/computescale/estimator"
)

// The demo's five-year target rule (METHOD.md section 5, stage 3: CAICT
// compares each year's value with a target set for five years after the base
// year). For every leaf:
//
//	target = L × (1 + s·g)^5
//
// where L is the largest provincial value in targetBaseYear, g the
// indicator's national compound annual growth from targetBaseYear to
// targetLastYear (the sum over the provinces observed in both years), and s
// = targetGrowthShare: the target assumes the base year's leader keeps
// growing at half the national pace for five years, a cautious target of the
// kind an expert would have set in 2020. A province that outgrows it scores
// above 100, as the blue book's leaders do.
//
// One rule serves all fourteen leaves. A fixed markup (say 1.25 × L) would
// not: compute scale grows several-fold over the period (and the demo's
// shipments start in 2019, so the 2020 six-year window holds only two years
// of them), so the scale leaves would swamp the other four dimensions.
const (
	targetBaseYear    = 2020
	targetLastYear    = 2024
	targetHorizon     = 5
	targetGrowthShare = 0.5
)

var targets = sync.OnceValue(computeTargets)

// Methodology returns the demo methodology: estimator.DefaultMethodology
// (equal weights at every level, target scaling, arithmetic aggregation,
// coverage 0.6, FP32-equivalent default factors, first tier above 40, second
// tier to rank 16) with an explicit five-year target for each of the 14
// leaves, computed from the demo data by the rule above. Each call returns a
// fresh value.
func Methodology() estimator.Methodology {
	m := estimator.DefaultMethodology()
	m.Description = fmt.Sprintf("demo: equal weights at every level, target scaling against five-year targets "+
		"(the largest %d provincial value grown five years at half the indicator's national %d-%d growth), "+
		"computed from computescale's synthetic demo data", targetBaseYear, targetBaseYear, targetLastYear)
	m.Indicators = map[string]estimator.NormSpec{}
	for code, t := range targets() {
		m.Indicators[code] = estimator.NormSpec{Method: estimator.NormTarget, Target: t}
	}
	// Every target is explicit, so no base year has to stand in; without one
	// a change to 2020 data rescores only 2020, not every year.
	m.BaseYear = 0
	return m
}

// Targets returns the demo methodology's five-year target of every leaf, in
// the leaf's unit (EFlops FP32-equivalent for the scale leaves).
func Targets() map[string]float64 { return maps.Clone(targets()) }

func computeTargets() map[string]float64 {
	base, last := Values(targetBaseYear), Values(targetLastYear)
	out := map[string]float64{}
	for _, ind := range estimator.Indicators() {
		b, l := base[ind.Code], last[ind.Code]
		leader, sumBase, sumLast := math.Inf(-1), 0.0, 0.0
		for i := range b {
			if !math.IsNaN(b[i]) {
				leader = math.Max(leader, b[i])
			}
			if !math.IsNaN(b[i]) && !math.IsNaN(l[i]) {
				sumBase += b[i]
				sumLast += l[i]
			}
		}
		if !(leader > 0 && sumBase > 0 && sumLast > 0) {
			panic("demodata: no base for the target of " + ind.Code) // a bug in the tables
		}
		g := math.Pow(sumLast/sumBase, 1/float64(targetLastYear-targetBaseYear)) - 1
		out[ind.Code] = leader * math.Pow(1+targetGrowthShare*g, targetHorizon)
	}
	return out
}

var cellsByProvince = sync.OnceValue(func() map[uint32][]estimator.Cell {
	cells, err := Cells(Shipments())
	if err != nil {
		panic("demodata: shipments: " + err.Error()) // the demo's records are valid
	}
	out := map[uint32][]estimator.Cell{}
	for _, c := range cells {
		out[c.Province] = append(out[c.Province], c)
	}
	return out
})

// Values returns one year's index inputs as the demo scores them: the year's
// observations of the eleven observed leaves (missing ones NaN) and the three
// scale leaves from the demo shipments (estimator.YearValues.SetScale as of
// the year's end, default factors: FP32-equivalent EFlops). Pass it to
// estimator.ScoreYear with Methodology.
func Values(year int) estimator.YearValues {
	codes := make([]string, 0, 14)
	for _, ind := range estimator.Indicators() {
		codes = append(codes, ind.Code)
	}
	v := estimator.NewYearValues(codes...)
	for _, o := range observations() {
		if o.Year == year && o.InIndex() {
			v.Set(o.Indicator, o.Province, o.Value)
		}
	}
	v.SetScale(cellsByProvince(), year, estimator.DefaultFactors())
	return v
}
