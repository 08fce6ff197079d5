package demodata

import (
	"cmp"
	"hash/fnv"
	"math"
	"slices"
	"sync"

	"github.com/computescale/computescale/estimator"
)

// The statistics years the demo covers: the blue book's five index years.
const (
	firstStatsYear = 2020
	lastStatsYear  = 2024
	statsYears     = lastStatsYear - firstStatsYear + 1
)

// sourcePrefix starts every demo observation's Source.
const sourcePrefix = "synthetic demo data (computescale demodata), shaped after "

// profile is one province's 2024 anchor: the value of every observed
// statistic in 2024, from which earlier years are walked back by growth
// rates (series.growth, growthOverrides, levelOverrides). Units are the
// indicators' (estimator.LookupIndicator(code).Unit) except chipsYi, which is
// in 亿块 (10^8 pieces, the unit the blue book and NBS print) and is converted
// to 10^4 pieces.
//
// Everything but gdp is synthetic. The numbers are chosen to follow the
// blue book's account (CAICT, 先进计算暨算力发展指数蓝皮书 2025, section 三.3-6):
//
//   - devices: 广东 接近 1200 万台, 占全国总量的 56%; 天津 370 万台; top five
//     广东、天津、福建、山东、湖北.
//   - chipsYi: 江苏 1400 亿块, 占全国总量的 31%; then 广东、甘肃、上海、浙江、
//     北京. The national sum (4494 亿块) is near NBS's 2024 IC output (4514
//     亿块, 国家统计局 2024 年国民经济和社会发展统计公报).
//   - software: 北京 突破三万亿元 and first; 广东、江苏、山东、上海 above 1.2
//     万亿元. The sum (about 13.9 万亿) is near MIIT's 2024 national software
//     revenue (137,276 亿元, 工业和信息化部《2024 年软件和信息技术服务业统计公报》).
//   - patentApps, patentGrants: 广东、北京、浙江 first three, together over two
//     thirds of the national total, 广东 38 %; then 上海、江苏、山东、湖南、
//     湖北、安徽、四川. The national total is above 30,000 (连续五年保持在
//     三万件以上).
//   - rnd: 广东 above 1700 亿元, 40 % of the national total; top ten 广东、
//     江苏、浙江、上海、湖北、北京、安徽、福建、山东、四川.
//   - bandwidth: 广东、浙江、江苏、河南、河北、四川 first six, all above 90
//     Tbps.
//   - itSpend: 北京 above 3500 亿元 and 广东 above 3200; top five 北京、广东、
//     上海、江苏、浙江; national total 近 2.7 万亿元 (27,000 here).
//   - openData: 山东、浙江、上海、贵州、北京、福建 first six, above 50;
//     四川、广西 (and 贵州) in the top ten (the blue book cites Fudan's 2024
//     中国开放数林指数; these values are not Fudan's).
//   - digEcon: 广东 above 1.4 万亿元; 江苏、浙江、山东、上海 above 8000 亿元,
//     in that order.
//
// gdp is real: the provinces' preliminary 2024 地区生产总值 in 10^8 CNY as
// their statistical bureaus published them in their 2024 statistical
// bulletins (各省、自治区、直辖市 2024 年国民经济和社会发展统计公报, early 2025;
// cross-checked against public transcriptions; 辽宁、贵州、海南 from the
// bulletins as recalled, not cross-checked).
type profile struct {
	code                          uint32
	devices, chipsYi, software    float64
	patentApps, patentGrants, rnd float64
	bandwidth, itSpend, openData  float64
	digEcon                       float64
	gdp                           float64
}

// profiles is in estimator.Provinces order. Columns: code, devices (10^4
// units), chipsYi (亿块), software (10^8 CNY), patentApps, patentGrants, rnd
// (10^8 CNY), bandwidth (Tbps), itSpend (10^8 CNY), openData (index),
// digEcon (10^8 CNY), gdp (10^8 CNY, real).
//
// Beyond the blue book's account, the values below its named leaders were
// tuned (not the scoring) so that the demo methodology ranks 2024 as the
// blue book does (section 三.1): first tier 广东、北京、江苏、浙江、山东、上海
// in that order, then its second tier 四川、湖南、河南、湖北、福建、天津、河北、
// 安徽、重庆、陕西 in ranks 7-16. The tuned rows:
//
//   - 湖南: open data 42, digital economy 4000, bandwidth 80, IT spend 800 and
//     more patents, so that with its six cases it ranks 8th (the blue book:
//     上升 7 位至第八名).
//   - 四川: IT spend 1150 and digital economy 5000, to stay 7th.
//   - 河南: software 1400, bandwidth 125, IT spend 1000, open data 40 and
//     digital economy 4600, toward its 9th place.
//   - 天津: IT spend 540 and open data 32: its compute scale (the shipments'
//     seventh province) and devices (370 万台) already lift it.
//   - 重庆: devices 35, software 2200, bandwidth 40, IT spend 450, open data 30
//     and digital economy 2200: its six cases alone lift its application
//     score to the second tier's top.
//   - 安徽 (IT spend 700, open data 36) and 河北 (open data 36) balance the
//     tier's lower half.
var profiles = []profile{
	{110000, 12, 260, 31500, 6300, 3900, 190, 70, 3620, 55, 7600, 49843.1},         // 北京
	{120000, 370, 70, 2500, 400, 230, 70, 30, 540, 32, 2000, 18024.32},             // 天津
	{130000, 3, 5, 600, 180, 100, 20, 98, 650, 36, 2500, 47526.9},                  // 河北
	{140000, 0.5, 2, 250, 80, 45, 8, 35, 330, 20, 1000, 25494.69},                  // 山西
	{150000, 1, 1, 150, 40, 22, 2, 28, 300, 25, 700, 26314.6},                      // 内蒙古
	{210000, 2, 15, 2300, 250, 140, 20, 40, 500, 24, 2000, 32612.7},                // 辽宁
	{220000, 0.5, 1, 700, 90, 50, 5, 20, 220, 18, 700, 14361.22},                   // 吉林
	{230000, 0.3, 1, 300, 80, 45, 4, 22, 240, 15, 650, 16476.9},                    // 黑龙江
	{310000, 10, 330, 13000, 1620, 980, 260, 60, 2450, 62, 8300, 53926.71},         // 上海
	{320000, 40, 1400, 15800, 1510, 900, 520, 122, 2350, 45, 10200, 137008},        // 江苏
	{330000, 25, 300, 11200, 4320, 2600, 380, 128, 2250, 66, 9600, 90131},          // 浙江
	{340000, 15, 180, 2200, 500, 290, 170, 65, 700, 36, 3500, 50625},               // 安徽
	{350000, 130, 50, 3600, 430, 250, 150, 62, 850, 52, 4300, 57761.02},            // 福建
	{360000, 4, 30, 700, 160, 90, 50, 42, 420, 34, 2200, 34202.5},                  // 江西
	{370000, 105, 40, 13500, 1010, 590, 140, 88, 1500, 68, 8700, 98565.8},          // 山东
	{410000, 22, 10, 1400, 290, 160, 55, 125, 1000, 40, 4600, 63589.99},            // 河南
	{420000, 80, 60, 3500, 540, 320, 200, 80, 900, 42, 4000, 60012.97},             // 湖北
	{430000, 8, 20, 2000, 650, 370, 75, 80, 800, 42, 4000, 53231},                  // 湖南
	{440000, 1195, 680, 20500, 13680, 8100, 1720, 160, 3310, 49, 14600, 141633.81}, // 广东
	{450000, 2, 5, 400, 100, 55, 10, 45, 380, 44, 1300, 28649.4},                   // 广西
	{460000, 0, 0, 800, 60, 30, 2, 12, 160, 28, 450, 7935.2},                       // 海南
	{500000, 35, 100, 2200, 320, 180, 60, 40, 450, 30, 2200, 32193.15},             // 重庆
	{510000, 55, 200, 5200, 470, 280, 130, 94, 1150, 47, 5000, 64697},              // 四川
	{520000, 5, 3, 800, 140, 80, 10, 40, 350, 58, 1300, 22667.12},                  // 贵州
	{530000, 0.5, 1, 300, 90, 50, 5, 35, 380, 22, 1100, 31534.1},                   // 云南
	{540000, 0, 0, 15, 5, 2, 0.3, 4, 40, 5, 70, 2764.94},                           // 西藏
	{610000, 5, 170, 3200, 360, 210, 60, 50, 560, 28, 2300, 35538.77},              // 陕西
	{620000, 1.5, 560, 150, 50, 28, 4, 20, 170, 22, 450, 13002.9},                  // 甘肃
	{630000, 0, 0, 30, 10, 5, 1, 8, 60, 8, 120, 3950.79},                           // 青海
	{640000, 0.5, 0, 60, 20, 10, 2, 12, 90, 30, 200, 5502.76},                      // 宁夏
	{650000, 0.5, 0, 200, 40, 20, 2, 22, 280, 10, 600, 20534.08},                   // 新疆
}

// series describes how one observed statistic is generated: its 2024 anchor,
// the national growth of each year (growth[i] is the growth into
// firstStatsYear+1+i), and how far a province's growth strays from it: a
// fixed tilt per province and a jitter per year, both deterministic (see
// noise). Values are rounded to decimals places.
type series struct {
	code     string
	shaped   string // completes sourcePrefix
	anchor   func(p *profile) float64
	growth   [statsYears - 1]float64
	tilt     float64
	jitter   float64
	decimals int
}

// observedSeries are the ten observed leaves generated by growth (app.cases
// is a table, caseCounts) and gdp. National growth rates are synthetic
// unless a comment names their source.
var observedSeries = []series{
	{"industry.devices", "the CAICT 2025 blue book's device-output account (广东 近 1200 万台, 56 %; 天津 370 万台; 广东、天津、福建、山东、湖北 first)",
		func(p *profile) float64 { return p.devices }, [4]float64{0.06, 0.03, -0.04, 0.08}, 0.04, 0.03, 1},
	// National growth from NBS's IC output (亿块): 2020 2614.7, 2021 3594.3,
	// 2022 3241.9, 2023 3514.4, 2024 4514.2 (国家统计局, 国民经济和社会发展统计公报
	// 2020-2024).
	{"industry.chips", "the CAICT 2025 blue book's IC-output account (江苏 1400 亿块, 31 %; 广东、甘肃、上海、浙江、北京 next) and NBS national IC output",
		func(p *profile) float64 { return p.chipsYi * 1e4 }, [4]float64{0.375, -0.098, 0.084, 0.284}, 0.04, 0.03, 0},
	// National growth from MIIT's software revenue (亿元): 2020 81,616, 2021
	// 94,994, 2022 108,126, 2023 123,258, 2024 137,276 (工业和信息化部, 软件和
	// 信息技术服务业统计公报 2020-2024).
	{"industry.software", "the CAICT 2025 blue book's software-revenue account (北京 above 3 万亿元 and first; 广东、江苏、山东、上海 above 1.2 万亿元) and MIIT national software revenue",
		func(p *profile) float64 { return p.software }, [4]float64{0.164, 0.138, 0.140, 0.114}, 0.03, 0.015, 1},
	{"tech.patent_applications", "the CAICT 2025 blue book's patent account (广东、北京、浙江 first, over two thirds together, 广东 38 %; national above 30,000 a year)",
		func(p *profile) float64 { return p.patentApps }, [4]float64{0.05, 0.04, 0.03, 0.04}, 0.04, 0.03, 0},
	{"tech.patent_grants", "the CAICT 2025 blue book's patent account (广东、北京、浙江 first; 浙江 grants +23.6 %)",
		func(p *profile) float64 { return p.patentGrants }, [4]float64{0.06, 0.05, 0.04, 0.05}, 0.04, 0.03, 0},
	{"tech.rnd", "the CAICT 2025 blue book's R&D account (广东 above 1700 亿元, 40 %; 北京 +40 %; 江苏、湖北、山东 slightly down)",
		func(p *profile) float64 { return p.rnd }, [4]float64{0.10, 0.09, 0.07, 0.06}, 0.03, 0.02, 2},
	{"env.bandwidth", "the CAICT 2025 blue book's bandwidth account (广东、浙江、江苏、河南、河北、四川 above 90 Tbps; 河南 growing fast)",
		func(p *profile) float64 { return p.bandwidth }, [4]float64{0.18, 0.15, 0.14, 0.12}, 0.03, 0.02, 1},
	// National growth: the blue book's 2024 IT spend is 近 2.7 万亿元, 同比增长
	// 8%, 增速较上一年增加 3 个百分点 (so 5 % in 2023); 2021-2022 are synthetic.
	{"env.it_spend", "the CAICT 2025 blue book's IT-spend account (national 近 2.7 万亿元, +8 %; 北京 above 3500 亿元, 广东 above 3200; 北京、广东、上海、江苏、浙江 first)",
		func(p *profile) float64 { return p.itSpend }, [4]float64{0.09, 0.06, 0.05, 0.08}, 0.02, 0.015, 1},
	{"env.open_data", "the CAICT 2025 blue book's open-data account (山东、浙江、上海、贵州、北京、福建 first, above 50; cites Fudan's 中国开放数林指数; not Fudan's values)",
		func(p *profile) float64 { return p.openData }, [4]float64{0.12, 0.10, 0.08, 0.07}, 0.04, 0.03, 2},
	{"app.digital_economy", "the CAICT 2025 blue book's digitalisation account (广东 above 1.4 万亿元; 江苏、浙江、山东、上海 above 8000 亿元)",
		func(p *profile) float64 { return p.digEcon }, [4]float64{0.13, 0.08, 0.09, 0.08}, 0.03, 0.02, 1},
	// 2024 is real (see profile); earlier years are walked back at about
	// China's nominal GDP growth (NBS: +12.8 % 2021, +5.3 % 2022, +4.6 % 2023,
	// +4.2 % 2024, rounded), with a small synthetic provincial tilt.
	{"gdp", "the provinces' published 2024 GDP (provincial statistical bulletins, 2025), exact for 2024; 2020-2023 walked back at about China's nominal growth (NBS)",
		func(p *profile) float64 { return p.gdp }, [4]float64{0.128, 0.053, 0.046, 0.042}, 0.015, 0.01, 2},
}

// key names one province's series.
type key struct {
	province  uint32
	indicator string
}

// levelOverrides replace a series' 2020-2023 values where the blue book
// describes a path that growth rates would not: 广东's device output fell
// sharply in 2023 and grew 44 % in 2024 (2023: 1195 / 1.44 ≈ 830); 天津's
// 2024 output (370 万台) is more than three times 2023's; 江苏's IC output has
// been above 1000 亿块 for four years (2021-2024), so 2020 is below it.
var levelOverrides = map[key][statsYears - 1]float64{
	{440000, "industry.devices"}: {950, 1020, 1050, 830},
	{120000, "industry.devices"}: {60, 75, 95, 116},
	{320000, "industry.chips"}:   {860e4, 1110e4, 1030e4, 1090e4},
}

// growthOverrides replace a series' growth in some years (year → growth into
// that year), for the blue book's named movements.
var growthOverrides = map[key]map[int]float64{
	// 广东's patent share fell (占比 38%，同比下滑 3 个百分点): slight decline.
	{440000, "tech.patent_applications"}: {2021: 0.01, 2022: -0.01, 2023: -0.02, 2024: -0.03},
	{440000, "tech.patent_grants"}:       {2021: 0.02, 2022: 0, 2023: -0.01, 2024: -0.02},
	// 浙江 passed 上海 with +18.4 % applications and +23.6 % grants.
	{330000, "tech.patent_applications"}: {2021: 0.10, 2022: 0.12, 2023: 0.14, 2024: 0.184},
	{330000, "tech.patent_grants"}:       {2021: 0.12, 2022: 0.14, 2023: 0.16, 2024: 0.236},
	// 北京 rose four places with 近 40 % more R&D; 江苏、湖北、山东 slipped.
	{110000, "tech.rnd"}: {2024: 0.40},
	{320000, "tech.rnd"}: {2024: -0.03},
	{420000, "tech.rnd"}: {2024: -0.02},
	{370000, "tech.rnd"}: {2024: -0.02},
	// 河南's bandwidth 近几年快速增长.
	{410000, "env.bandwidth"}: {2021: 0.30, 2022: 0.28, 2023: 0.26, 2024: 0.25},
}

// missing lists genuinely missing values (NaN, never zero): 西藏 and 青海
// reported no computer-manufacturing R&D in the early years, and the first
// open-data index years did not rate provinces without an open-data portal.
var missing = map[key][]int{
	{540000, "tech.rnd"}:      {2020, 2021},
	{630000, "tech.rnd"}:      {2020},
	{540000, "env.open_data"}: {2020, 2021},
	{630000, "env.open_data"}: {2020, 2021},
	{650000, "env.open_data"}: {2020},
	{230000, "env.open_data"}: {2020},
}

// caseCounts are showcase application cases per province, 2020-2024. 2024 is
// the blue book's: 73 cases over 24 provinces (所覆盖省份达到 24 个，同比增加 6
// 个), 山东、浙江、北京、湖南、广东、江苏、重庆 above five each, 湖南 with 6. 2023
// (the collection's first year) covers 18 provinces. 2020-2022 stand for
// earlier case selections and are invented. A province without a case has an
// observed zero.
var caseCounts = map[uint32][statsYears]int{
	370000: {4, 5, 6, 7, 8}, // 山东
	330000: {4, 5, 6, 7, 8}, // 浙江
	110000: {5, 6, 6, 7, 7}, // 北京
	440000: {5, 6, 6, 7, 7}, // 广东
	320000: {4, 5, 5, 6, 7}, // 江苏
	430000: {1, 1, 1, 1, 6}, // 湖南
	500000: {2, 2, 3, 4, 6}, // 重庆
	310000: {4, 4, 4, 4, 4}, // 上海
	510000: {2, 2, 3, 3, 2}, // 四川
	420000: {2, 2, 2, 2, 2}, // 湖北
	410000: {0, 1, 1, 2, 2}, // 河南
	340000: {1, 1, 2, 2, 2}, // 安徽
	350000: {1, 1, 1, 1, 1}, // 福建
	120000: {0, 0, 1, 1, 1}, // 天津
	130000: {0, 0, 0, 1, 1}, // 河北
	610000: {0, 0, 0, 1, 1}, // 陕西
	520000: {1, 1, 1, 1, 1}, // 贵州
	640000: {0, 0, 0, 1, 1}, // 宁夏
	210000: {0, 0, 0, 0, 1}, // 辽宁
	360000: {0, 0, 0, 0, 1}, // 江西
	450000: {0, 0, 0, 0, 1}, // 广西
	150000: {0, 0, 0, 0, 1}, // 内蒙古
	530000: {0, 0, 0, 0, 1}, // 云南
	140000: {0, 0, 0, 0, 1}, // 山西
}

const casesShaped = "the CAICT 2025 blue book's account of MIIT's 先进计算赋能新质生产力典型应用案例 (2024: 73 cases over 24 provinces; 山东、浙江、北京、湖南、广东、江苏、重庆 above five); 2020-2022 invented"

// The relation observation digital_economy_core (数字经济核心产业增加值) is
// each province's app.digital_economy (数字经济核心产业规模) times a factor
// between decFactorLow and decFactorHigh fixed per province: a different
// statistic of the same industries. With it, the least-squares slope on the
// 2024 composite comes out near the blue book's 129 亿元 per index point
// (METHOD.md section 6); it is not fitted to it.
const (
	decFactorLow  = 0.80
	decFactorHigh = 0.92
	decShaped     = "the CAICT 2025 blue book's digital-economy account and its regression (about 129 亿元 of digital-economy core output per index point, 2024); a per-province share of the demo's app.digital_economy"
)

var observations = sync.OnceValue(buildObservations)

// Observations returns the demo's statistics: every province's value of the
// eleven observed index leaves (industry.devices … app.cases) and of gdp and
// digital_economy_core, for 2020 through 2024, each with its indicator's
// unit and a Source that starts "synthetic demo data (computescale demodata),
// shaped after". It is deterministic: every call returns the same
// observations in the same order (year, province, indicator in
// estimator.LookupIndicator's order). A few values are missing (no
// observation): 西藏 and 青海's early R&D and four provinces' early open-data
// index. Zero cases is an observed zero.
//
// GDP for 2024 is the provinces' published figures; everything else is
// synthetic, shaped after the blue book's account (see package doc).
func Observations() []estimator.Observation {
	return slices.Clone(observations())
}

func buildObservations() []estimator.Observation {
	type cell struct {
		year int
		key
	}
	values := map[cell]float64{}
	for _, s := range observedSeries {
		for i := range profiles {
			p := &profiles[i]
			k := key{p.code, s.code}
			path := walkBack(s, p, k)
			for y, v := range path {
				values[cell{firstStatsYear + y, k}] = round(v, s.decimals)
			}
		}
	}
	for i := range profiles {
		p := &profiles[i]
		f := decFactorLow + (decFactorHigh-decFactorLow)*(noise(p.code, "digital_economy_core")+1)/2
		for y := firstStatsYear; y <= lastStatsYear; y++ {
			de := values[cell{y, key{p.code, "app.digital_economy"}}]
			values[cell{y, key{p.code, "digital_economy_core"}}] = round(de*f, 1)
			values[cell{y, key{p.code, "app.cases"}}] = float64(caseCounts[p.code][y-firstStatsYear])
		}
	}
	shaped := map[string]string{"app.cases": casesShaped, "digital_economy_core": decShaped}
	for _, s := range observedSeries {
		shaped[s.code] = s.shaped
	}
	var out []estimator.Observation
	for c, v := range values {
		if slices.Contains(missing[c.key], c.year) {
			continue
		}
		ind, _ := estimator.LookupIndicator(c.indicator)
		out = append(out, estimator.Observation{
			Province: c.province, Year: c.year, Indicator: c.indicator, Value: v,
			Unit: ind.Unit, Source: sourcePrefix + shaped[c.indicator],
		})
	}
	order := indicatorOrder()
	slices.SortFunc(out, func(a, b estimator.Observation) int {
		return cmp.Or(cmp.Compare(a.Year, b.Year), cmp.Compare(a.Province, b.Province),
			cmp.Compare(order[a.Indicator], order[b.Indicator]))
	})
	return out
}

// walkBack returns a series' values for 2020-2024: the 2024 anchor, then
// each earlier year divided by the growth into the next one (the national
// rate plus the province's tilt and the year's jitter, or an override), or
// the overridden levels.
func walkBack(s series, p *profile, k key) [statsYears]float64 {
	var path [statsYears]float64
	path[statsYears-1] = s.anchor(p)
	if levels, ok := levelOverrides[k]; ok {
		copy(path[:statsYears-1], levels[:])
		return path
	}
	tilt := s.tilt * noise(p.code, s.code)
	for i := statsYears - 2; i >= 0; i-- {
		year := firstStatsYear + i + 1
		g := s.growth[i] + tilt + s.jitter*noise(p.code, s.code, year)
		if o, ok := growthOverrides[k][year]; ok {
			g = o
		}
		path[i] = path[i+1] / (1 + g)
	}
	return path
}

// indicatorOrder ranks the 16 observation codes as estimator lists them.
func indicatorOrder() map[string]int {
	order := map[string]int{}
	for i, ind := range estimator.Indicators() {
		order[ind.Code] = i
	}
	order["gdp"] = len(order)
	order["digital_economy_core"] = len(order)
	return order
}

// noise is a deterministic pseudo-random number in [-1, 1) for a province, a
// series and optionally a year: FNV-1a of their spelling. It stands in for
// the scatter of real statistics without any randomness.
func noise(province uint32, code string, year ...int) float64 {
	h := fnv.New64a()
	b := []byte(code)
	b = append(b, byte(province), byte(province>>8), byte(province>>16))
	for _, y := range year {
		b = append(b, byte(y), byte(y>>8))
	}
	h.Write(b)
	x := h.Sum64() // splitmix64's finaliser, so that near inputs scatter
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53)*2 - 1
}

func round(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}
