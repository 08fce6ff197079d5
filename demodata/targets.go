package demodata

import (
	"math"

	"github.com/computescale/computescale/estimator"
)

// The blue book's figures the demo is scaled to: CAICT, 先进计算暨算力发展指数
// 蓝皮书 (2025), section 一 (world and China compute scale) and section 三
// (provinces); METHOD.md section 3 restates them.
const (
	// 基础算力规模 175 EFlops (FP32) as of June 2025.
	targetBasicFP32 = 175.0
	// 智能算力规模 782 EFlops (换算为 FP32) as of June 2025.
	targetAIFP32Eq = 782.0
	// 超算算力规模 5.2 EFlops (换算为 FP32).
	targetSuperFP32Eq = 5.2

	// 2024 年通用服务器出货量 373.1 万台，同比下滑 4%，六年累计出货量 2178 万台.
	general2024Units     = 3_731_000
	general2024Change    = -0.04
	generalSixYearsUnits = 21_780_000
	// 2024 年 AI 服务器出货量 63 万台，同比增长 93%，六年累计出货量超过 170 万台
	// ("over 1.7 M": taken as 1.72 M).
	ai2024Units     = 630_000
	ai2024Change    = 0.93
	aiSixYearsUnits = 1_720_000

	// 2025 has no blue-book shipment figure. Assumptions: general servers keep
	// 2024's change (-4 %); AI servers grow by the blue book's forecast for
	// global AI-server shipments in 2025 (增幅回落至 24.3%), applied to China.
	general2025Change = general2024Change
	ai2025Change      = 0.243
)

// asOf is the period the targets describe: "截至 2025 年 6 月".
var asOf = estimator.Period{Year: 2025, Quarter: 2}

// firstYear and lastFullYear bound the shipment years; 2025 has Q1 and Q2.
// The blue book's six-year figures are 2019-2024 (sixYearsFrom); the years
// before extend the feed back so that every window the dashboard's trend
// charts (from 2019, whose window starts in 2014) is complete. AI servers
// start in 2016 (aiFirstYear), with the P100.
const (
	firstYear    = 2014
	sixYearsFrom = 2019
	aiFirstYear  = 2016
	lastFullYear = 2024
	lastYear     = 2025
)

// nationalUnits returns China's shipments per year, 2014-2025 (2025: the
// first half), for one server class. 2024, 2023 (from 2024's year-on-year
// change) and the six-year total 2019-2024 are the blue book's; the four years
// 2019-2022 share what remains of the six-year total by assuming one constant
// growth rate from 2019 through 2023, solved from the figures; the years
// before 2019 continue that growth backwards (AI servers from aiFirstYear).
func nationalUnits(class estimator.ServerClass) map[int]int64 {
	units, change, sixYears, change2025 := int64(general2024Units), general2024Change, int64(generalSixYearsUnits), general2025Change
	if class == estimator.ClassAI {
		units, change, sixYears, change2025 = ai2024Units, ai2024Change, aiSixYearsUnits, ai2025Change
	}
	y2023 := int64(math.Round(float64(units) / (1 + change)))
	rest := sixYears - units - y2023
	r := growthRate(float64(y2023), float64(rest))
	early := apportion(rest, []float64{1, r, r * r, r * r * r})
	out := map[int]int64{2023: y2023, 2024: units, 2025: int64(math.Round(float64(units) / 2 * (1 + change2025)))}
	for i, u := range early {
		out[sixYearsFrom+i] = u
	}
	start := firstYear
	if class == estimator.ClassAI {
		start = aiFirstYear
	}
	for y := start; y < sixYearsFrom; y++ {
		out[y] = int64(math.Round(float64(out[sixYearsFrom]) / math.Pow(r, float64(sixYearsFrom-y))))
	}
	return out
}

// growthRate solves last·(r⁻⁴ + r⁻³ + r⁻² + r⁻¹) = sum for r by bisection:
// the constant yearly growth r that makes four years of shipments add up to
// sum and grow into last the year after.
func growthRate(last, sum float64) float64 {
	lo, hi := 0.1, 10.0
	for range 200 {
		r := (lo + hi) / 2
		if last*(1/r+1/(r*r)+1/(r*r*r)+1/(r*r*r*r)) > sum {
			lo = r
		} else {
			hi = r
		}
	}
	return (lo + hi) / 2
}

// apportion splits total into integer parts proportional to weights by the
// largest-remainder method, so that the parts add up to total exactly. Ties
// go to the earlier index, so the result is deterministic.
func apportion(total int64, weights []float64) []int64 {
	out := make([]int64, len(weights))
	var sum float64
	for _, w := range weights {
		sum += w
	}
	if total <= 0 || sum <= 0 {
		return out
	}
	rem := make([]float64, len(weights))
	left := total
	for i, w := range weights {
		exact := float64(total) * w / sum
		out[i] = int64(math.Floor(exact))
		rem[i] = exact - float64(out[i])
		left -= out[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		out[best]++
		rem[best] = -1
	}
	return out
}
