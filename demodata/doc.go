// Package demodata generates computescale's bundled demo feed: a synthetic,
// deterministic set of shipment records for China's 31 provinces, 2014
// through 2025Q2, scaled so that the estimator reproduces the national
// figures of CAICT's blue book (中国信息通信研究院《先进计算暨算力发展指数蓝皮书》,
// 2025 edition, published 2026-03; METHOD.md section 3), and the statistics
// observations and methodology that score them (see Statistics below).
//
// # The data is synthetic
//
// No record is an observed shipment. The national totals, the 2024 unit
// counts and the province ranking are the blue book's; everything finer
// (which province bought which server in which quarter) is made up to be
// plausible and to add up to them. Chip figures are real: every component is
// a chip of package catalog, whose rows name their data sheets. Supercomputers
// are the catalog's real systems (public TOP500 Rpeak) plus systems marked
// "synthetic" in their id and note.
//
// # What it is scaled to
//
// As of 2025Q2 (the 24 quarters 2019Q3-2025Q2), with the default factors
// (FP16 × 0.5, FP64 × 2), estimator.Sum over all cells gives:
//
//   - basic compute 175 EFlops FP32 (blue book: 基础算力规模 175 EFlops);
//   - AI compute 1564 EFlops FP16 = 782 FP32-equivalent (智能算力 782 EFlops);
//   - supercomputing 2.6 EFlops FP64 = 5.2 FP32-equivalent (超算算力 5.2 EFlops);
//   - so 962 EFlops in all (计算设备算力总规模 962 EFlops).
//
// Units: 3,731,000 general servers and 630,000 AI servers shipped in 2024;
// 21.78 M general and 1.72 M AI servers over 2019-2024 (blue book: 2178 万台,
// 超过 170 万台); 2023 from 2024's year-on-year change (-4 %, +93 %); 2019-2022
// share the rest of the six-year total at one constant growth rate, solved;
// 2014-2018 (AI servers: 2016-2018) continue that rate backwards, so that
// every window the dashboard's trend charts, from the one ending 2019
// (2014-2019), holds six full years of shipments;
// 2025's first half is half of 2024 grown by -4 % (general, 2024's change
// carried on) and +24.3 % (AI, the blue book's 2025 forecast for global AI
// servers). Every unit total is exact: splits use largest-remainder
// apportionment.
//
// # How it is made
//
//  1. Units per year and class, as above.
//  2. Provinces: the blue book's top seven (北京, 广东, 浙江, 江苏, 上海, 山东,
//     天津, in that order) take 87 % of general servers and 95 % of AI servers,
//     as it reports; the other 24 provinces share the rest by weights that
//     follow its second tier and the 东数西算 hub provinces. Every province
//     gets shipments. With the NBS definition of the east (东部: 北京, 天津,
//     河北, 上海, 江苏, 浙江, 福建, 山东, 广东, 海南) the east holds about 94 %
//     of compute; the blue book says 93 %, but its top-seven shares alone
//     already imply more than 93 %, and the demo keeps those.
//  3. Configurations: general servers carry two CPUs, AI servers two host
//     CPUs (Huawei training servers four) and two, four or eight
//     accelerators. Each year has two mixes of the generations then on sale,
//     a low one (entry CPUs, small inference boxes) and a high one (flagship
//     CPUs, eight-way training servers); older Xeon/EPYC, V100 and T4 early,
//     Sapphire Rapids, Genoa, Kunpeng, Hygon, A100/A800, H800 (until the
//     October 2023 export rule), H20, Ascend 910B and L20 later. One blend
//     fraction per class, θ in [0, 1], places the market between the two;
//     it is solved so that the national total as of 2025Q2 equals the target
//     (the total is linear in θ). Nothing else is tuned.
//  4. Periods: 2014-2022 are year-only records (a year-only record counts one
//     quarter of its units in each quarter, METHOD.md section 3); 2023 and
//     2024 are quarterly; 2025 has Q1 and Q2.
//  5. Supercomputers: the catalog systems, each counted from its first
//     TOP500 appearance until it is decommissioned (Tianhe-2 gives way to
//     Tianhe-2A in 2018), plus synthetic systems at the national
//     supercomputing centres (Guangzhou, Shenzhen, Tianjin, Jinan, Wuxi,
//     Kunshan, Changsha, Zhengzhou, Chengdu, Xi'an, Chongqing) and at
//     generic sites in Beijing and Hangzhou. They make up the difference
//     between the catalog's Rpeak in service and 2.6 EFlops FP64, split so
//     that provinces rank as the blue book lists them (广东, 天津, 山东, 江苏,
//     北京, 浙江, 陕西, 四川).
//
// The result is about 7,400 records (6,502 of them in the window ending
// 2025Q2); Cells sums their contributions into the
// aggregate cells the store keeps, and estimator.Sum turns those into totals.
//
// # Statistics
//
// Observations adds what the index needs besides compute scale: every
// province's value of the eleven observed leaves (METHOD.md section 4) and of
// gdp and digital_economy_core, 2020-2024, 2,006 observations in all. Each
// Source says "synthetic demo data (computescale demodata), shaped after" and
// what. 2024 anchors follow the blue book's section 三: 广东 56 % of
// computing-device output and first in industry and technology; 江苏 31 % of
// IC output; 北京 first in software revenue and IT spend; the open-data
// leaders 山东、浙江、上海、贵州、北京、福建; 73 showcase cases over 24 provinces
// (the other seven an observed zero). GDP for 2024 is the provinces' published
// figures. Earlier years are walked back by national growth rates (NBS's IC
// output and MIIT's software revenue where published, otherwise synthetic)
// with a deterministic per-province scatter and the movements the blue book
// names (广东's 2023 device dip, 北京's +40 % R&D, 浙江's patent growth). Nine
// values are genuinely missing (西藏 and 青海's early R&D, four provinces'
// early open-data index) and exercise the missing-data rule.
//
// # The demo methodology
//
// Methodology is estimator.DefaultMethodology with an explicit five-year
// target for every leaf: the largest 2020 provincial value grown for five
// years at half the indicator's national 2020-2024 growth, computed from the
// demo data (for the scale leaves, from the shipments as of each year's end,
// FP32-equivalent EFlops). Values(year) builds ScoreYear's inputs. Scored
// with it, 2024 gives the blue book's first tier in its order (广东, 北京,
// 江苏, 浙江, 山东, 上海, composite above 40) and its second tier in ranks
// 7-16; across provinces, GDP goes with about 1320 ×10^8 CNY per index point
// (blue book: 1188) and digital-economy core output about 135 (blue book:
// 129), neither fitted.
//
// # Limits
//
// The demo reproduces levels, not the blue book's year-on-year growth (+15 %
// basic, +96 % AI): its mixes are not fitted to growth (AI grows about 65 %
// from 2024Q2 to 2025Q2), and its years before 2019 (Haswell and Broadwell
// Xeon E5, P100 from 2016) only continue the solved growth backwards: they
// make the windows ending 2019-2023 complete, not observed. Province splits below the top seven, the configuration mixes and the
// synthetic supercomputers are this project's assumptions.
package demodata
