package demodata

import (
	"fmt"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/estimator"
)

// Supercomputing compute is the catalog's real systems (public TOP500 Rpeak)
// plus synthetic systems that make up the rest of the blue book's 2.6 EFlops
// FP64: China's public Rpeaks add up to about a tenth of it, the newer
// national systems being unlisted. The synthetic remainder is split among
// provinces so that they rank as the blue book lists them (超算算力方面，广东、
// 天津、山东、江苏、北京、浙江、陕西、四川等省份保持前列); the shares themselves
// are this project's assumption.
var syntheticShares = map[uint32]float64{
	440000: 0.27,  // Guangdong
	120000: 0.23,  // Tianjin
	370000: 0.17,  // Shandong
	110000: 0.09,  // Beijing
	320000: 0.08,  // Jiangsu (TaihuLight already gives it 125 PFlops)
	330000: 0.06,  // Zhejiang
	610000: 0.035, // Shaanxi
	510000: 0.03,  // Sichuan
	430000: 0.015, // Hunan
	410000: 0.01,  // Henan
	500000: 0.01,  // Chongqing
}

// syntheticSystems places each province's synthetic share at its national
// supercomputing centres (or, for Beijing and Zhejiang, which have none, at
// a generic site), split by weight and commissioned over 2019-2024. None of
// them is a real machine: names and notes say "synthetic".
var syntheticSystems = []struct {
	id       string
	site     string
	province uint32
	year     int
	weight   float64
}{
	{"nscc-gz-2021", "National Supercomputer Center in Guangzhou", 440000, 2021, 1},
	{"nscc-sz-2023", "National Supercomputing Centre in Shenzhen", 440000, 2023, 1},
	{"nscc-tj-2020", "National Supercomputing Center in Tianjin", 120000, 2020, 1},
	{"nscc-tj-2023", "National Supercomputing Center in Tianjin", 120000, 2023, 1},
	{"nscc-jn-2021", "National Supercomputing Center in Jinan", 370000, 2021, 1},
	{"nscc-jn-2024", "National Supercomputing Center in Jinan", 370000, 2024, 1},
	{"beijing-2022", "Beijing (research and university centres)", 110000, 2022, 1},
	{"nscc-wx-2022", "National Supercomputing Center in Wuxi", 320000, 2022, 2},
	{"nscc-ks-2020", "National Supercomputing Center in Kunshan", 320000, 2020, 1},
	{"hangzhou-2023", "Hangzhou (research centres)", 330000, 2023, 1},
	{"nscc-xa-2023", "National Supercomputing Center in Xi'an", 610000, 2023, 1},
	{"nscc-cd-2020", "National Supercomputing Center in Chengdu", 510000, 2020, 1},
	{"nscc-cs-2022", "National Supercomputing Center in Changsha", 430000, 2022, 1},
	{"nscc-zz-2020", "National Supercomputing Center in Zhengzhou", 410000, 2020, 1},
	{"nscc-cq-2024", "National Supercomputing Center in Chongqing", 500000, 2024, 1},
	{"nscc-cq-2019", "National Supercomputing Center in Chongqing", 500000, 2019, 0.5},
}

// superRecords returns one SUPERCOMPUTER record per catalog system and per
// synthetic system. The synthetic total is the target less the real systems
// in service as of asOf, so the national figure is the blue book's.
func superRecords(targetFP64 float64) []estimator.Record {
	var recs []estimator.Record
	for _, s := range catalog.Supercomputers() {
		recs = append(recs, estimator.Record{
			ID: "demo-super-" + s.ID, Province: s.Province, Period: s.Commissioned, Class: estimator.ClassSuper,
			Units: 1, RpeakFP64: s.RpeakFP64, Decommissioned: s.Decommissioned,
			Note: fmt.Sprintf("%s at %s (catalog; %s)", s.Name, s.Site, s.Source),
		})
	}
	cells, err := Cells(recs)
	if err != nil {
		panic("demodata: catalog supercomputers: " + err.Error())
	}
	real := estimator.Sum(cells, asOf, estimator.DefaultFactors()).SuperFP64 * 1e18 // in service as of asOf
	synthetic := targetFP64 - real
	if synthetic <= 0 {
		panic("demodata: the catalog's systems already exceed the supercomputing target")
	}
	provinceWeight := map[uint32]float64{}
	for _, s := range syntheticSystems {
		provinceWeight[s.province] += s.weight
	}
	for _, s := range syntheticSystems {
		rpeak := synthetic * syntheticShares[s.province] * s.weight / provinceWeight[s.province]
		recs = append(recs, estimator.Record{
			ID: "demo-super-synthetic-" + s.id, Province: s.province, Period: estimator.Period{Year: s.year},
			Class: estimator.ClassSuper, Units: 1, RpeakFP64: rpeak,
			Note: fmt.Sprintf("synthetic system at %s, commissioned %d: not a real machine; sized to reach the blue book's national supercomputing figure", s.site, s.year),
		})
	}
	return recs
}
