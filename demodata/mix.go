package demodata

import (
	"fmt"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/estimator"
)

// config is one server configuration: what one unit holds. Chip ids are
// catalog ids only.
type config struct {
	name  string // part of the record id, e.g. "h20x8"
	class estimator.ServerClass
	parts []estimator.Component
}

func cpus(n uint32, id string) estimator.Component { return estimator.Component{Count: n, ChipID: id} }

// configs lists every configuration the demo ships: general servers with two
// CPUs, AI servers with two (Huawei Atlas training servers: four) host CPUs
// and two, four or eight accelerators.
var configs = []config{
	{"e5-2650v3x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-e5-2650-v3")}},
	{"e5-2680v3x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-e5-2680-v3")}},
	{"e5-2650v4x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-e5-2650-v4")}},
	{"e5-2680v4x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-e5-2680-v4")}},
	{"xeon4210x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-silver-4210")}},
	{"xeon5118x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-gold-5118")}},
	{"xeon6148x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-gold-6148")}},
	{"xeon8180x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-platinum-8180")}},
	{"xeon5218x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-gold-5218")}},
	{"xeon6248x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-gold-6248")}},
	{"xeon8280x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-platinum-8280")}},
	{"xeon6330x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-gold-6330")}},
	{"xeon8380x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-platinum-8380")}},
	{"xeon6430x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-gold-6430")}},
	{"xeon8480px2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-platinum-8480p")}},
	{"xeon8592px2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-platinum-8592p")}},
	{"xeon6980px2", estimator.ClassGeneral, []estimator.Component{cpus(2, "intel-xeon-6980p")}},
	{"epyc7742x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "amd-epyc-7742")}},
	{"epyc7763x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "amd-epyc-7763")}},
	{"epyc9654x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "amd-epyc-9654")}},
	{"epyc9755x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "amd-epyc-9755")}},
	{"kunpeng920-48x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "huawei-kunpeng-920-4826")}},
	{"kunpeng920-64x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "huawei-kunpeng-920-6426")}},
	{"hygon7285x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "hygon-c86-7285")}},
	{"hygon7390x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "hygon-c86-7390")}},
	{"ft2000x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "phytium-ft-2000plus-64")}},
	{"s2500x2", estimator.ClassGeneral, []estimator.Component{cpus(2, "phytium-s2500")}},

	{"p100x4", estimator.ClassAI, ai(2, "intel-xeon-e5-2680-v4", 4, "nvidia-p100-pcie-16gb")},
	{"p100x8", estimator.ClassAI, ai(2, "intel-xeon-e5-2680-v4", 8, "nvidia-p100-pcie-16gb")},
	{"t4x2", estimator.ClassAI, ai(2, "intel-xeon-gold-5218", 2, "nvidia-t4")},
	{"t4x4", estimator.ClassAI, ai(2, "intel-xeon-gold-5218", 4, "nvidia-t4")},
	{"v100x4", estimator.ClassAI, ai(2, "intel-xeon-gold-6148", 4, "nvidia-v100-sxm2")},
	{"v100x8", estimator.ClassAI, ai(2, "intel-xeon-gold-6148", 8, "nvidia-v100-sxm2")},
	{"a10x2", estimator.ClassAI, ai(2, "intel-xeon-gold-6330", 2, "nvidia-a10")},
	{"a30x4", estimator.ClassAI, ai(2, "intel-xeon-gold-6330", 4, "nvidia-a30")},
	{"a100x8", estimator.ClassAI, ai(2, "intel-xeon-platinum-8380", 8, "nvidia-a100-sxm4-80gb")},
	{"a800x8", estimator.ClassAI, ai(2, "intel-xeon-platinum-8380", 8, "nvidia-a800-sxm4-80gb")},
	{"h800x8", estimator.ClassAI, ai(2, "intel-xeon-platinum-8480p", 8, "nvidia-h800-sxm5")},
	{"h20x8", estimator.ClassAI, ai(2, "intel-xeon-platinum-8480p", 8, "nvidia-h20")},
	{"l20x2", estimator.ClassAI, ai(2, "intel-xeon-gold-6430", 2, "nvidia-l20")},
	{"l20x4", estimator.ClassAI, ai(2, "intel-xeon-gold-6430", 4, "nvidia-l20")},
	{"l20x8", estimator.ClassAI, ai(2, "intel-xeon-gold-6430", 8, "nvidia-l20")},
	{"ascend910x8", estimator.ClassAI, ai(4, "huawei-kunpeng-920-6426", 8, "huawei-ascend-910")},
	{"ascend910bx8", estimator.ClassAI, ai(4, "huawei-kunpeng-920-6426", 8, "huawei-ascend-910b")},
	{"ascend910cx8", estimator.ClassAI, ai(4, "huawei-kunpeng-920-6426", 8, "huawei-ascend-910c")},
	{"ascend310px4", estimator.ClassAI, ai(2, "huawei-kunpeng-920-4826", 4, "huawei-ascend-310p")},
	{"mlu370x4", estimator.ClassAI, ai(2, "hygon-c86-7285", 4, "cambricon-mlu370-x8")},
	{"mlu370x8", estimator.ClassAI, ai(2, "hygon-c86-7390", 8, "cambricon-mlu370-x8")},
	{"r200x4", estimator.ClassAI, ai(2, "intel-xeon-gold-6330", 4, "kunlunxin-r200")},
	{"s4000x8", estimator.ClassAI, ai(2, "hygon-c86-7390", 8, "moorethreads-mtt-s4000")},
	{"biv100x8", estimator.ClassAI, ai(2, "hygon-c86-7390", 8, "iluvatar-bi-v100")},
}

func ai(nHost uint32, host string, nAcc uint32, acc string) []estimator.Component {
	return []estimator.Component{cpus(nHost, host), {Count: nAcc, ChipID: acc}}
}

// share is one configuration's weight in a year's low and high mix.
type share struct {
	config    string
	low, high float64
}

// mixes bracket each year's market between two compositions: low, weighted to
// entry-level CPUs and small inference boxes, and high, weighted to flagship
// CPUs and eight-way training servers. Both follow the generations on sale
// that year (Haswell and Broadwell Xeon E5 in 2014-2017, Skylake/Cascade Lake and Rome early, Sapphire Rapids, Genoa,
// Kunpeng and Hygon later; P100 in 2016-2018, V100/T4 early, A100/A800 in 2021-2022, H800 until
// the October 2023 export rule, then H20/910B/L20). Neither mix is fitted to
// the targets: the blend between them is solved (see blend).
var mixes = map[estimator.ServerClass]map[int][]share{
	estimator.ClassGeneral: {
		2014: {{"e5-2650v3x2", .6, .3}, {"e5-2680v3x2", .4, .7}},
		2015: {{"e5-2650v3x2", .5, .25}, {"e5-2680v3x2", .5, .75}},
		2016: {{"e5-2650v3x2", .2, .05}, {"e5-2650v4x2", .5, .35}, {"e5-2680v4x2", .3, .6}},
		2017: {{"e5-2650v4x2", .45, .2}, {"e5-2680v4x2", .3, .35}, {"xeon5118x2", .15, .2}, {"xeon6148x2", .05, .2}, {"ft2000x2", .05, .05}},
		2018: {{"e5-2650v4x2", .2, .05}, {"xeon5118x2", .35, .25}, {"xeon6148x2", .25, .35}, {"xeon8180x2", 0, .1},
			{"hygon7285x2", .1, .15}, {"ft2000x2", .1, .1}},
		2019: {{"xeon4210x2", .25, .05}, {"xeon5118x2", .3, .1}, {"xeon6148x2", .2, .35}, {"xeon8180x2", 0, .15},
			{"epyc7742x2", 0, .1}, {"hygon7285x2", .1, .1}, {"kunpeng920-48x2", .1, .1}, {"ft2000x2", .05, .05}},
		2020: {{"xeon4210x2", .15, 0}, {"xeon5218x2", .3, .1}, {"xeon6248x2", .25, .35}, {"xeon8280x2", 0, .15},
			{"epyc7742x2", .05, .15}, {"hygon7285x2", .1, .1}, {"kunpeng920-64x2", .1, .1}, {"ft2000x2", .05, .05}},
		2021: {{"xeon5218x2", .3, .05}, {"xeon6248x2", .2, .2}, {"xeon6330x2", .15, .25}, {"xeon8380x2", 0, .15},
			{"epyc7763x2", .05, .15}, {"hygon7285x2", .1, .05}, {"kunpeng920-64x2", .15, .1}, {"s2500x2", .05, .05}},
		2022: {{"xeon5218x2", .15, 0}, {"xeon6330x2", .3, .25}, {"xeon8380x2", .05, .25}, {"epyc7763x2", .1, .2},
			{"hygon7390x2", .15, .1}, {"kunpeng920-64x2", .2, .15}, {"s2500x2", .05, .05}},
		2023: {{"xeon6330x2", .25, .05}, {"xeon6430x2", .2, .2}, {"xeon8480px2", .05, .25}, {"epyc9654x2", .05, .2},
			{"hygon7390x2", .2, .15}, {"kunpeng920-64x2", .2, .1}, {"s2500x2", .05, .05}},
		2024: {{"xeon6330x2", .1, 0}, {"xeon6430x2", .3, .15}, {"xeon8480px2", .1, .25}, {"xeon8592px2", 0, .15},
			{"epyc9654x2", .1, .2}, {"hygon7390x2", .2, .1}, {"kunpeng920-64x2", .15, .1}, {"s2500x2", .05, .05}},
		2025: {{"xeon6430x2", .25, .1}, {"xeon8592px2", .15, .25}, {"xeon6980px2", 0, .1}, {"epyc9654x2", .1, .2},
			{"epyc9755x2", 0, .05}, {"hygon7390x2", .25, .15}, {"kunpeng920-64x2", .2, .1}, {"s2500x2", .05, .05}},
	},
	estimator.ClassAI: {
		// No AI servers before 2016 (aiFirstYear).
		2016: {{"p100x4", .7, .4}, {"p100x8", .3, .6}},
		2017: {{"p100x4", .5, .3}, {"p100x8", .2, .3}, {"v100x4", .2, .2}, {"v100x8", .1, .2}},
		2018: {{"p100x4", .2, .1}, {"v100x4", .35, .3}, {"v100x8", .15, .3}, {"t4x4", .3, .3}},
		2019: {{"t4x2", .5, .4}, {"t4x4", .35, .35}, {"v100x4", .1, .15}, {"v100x8", .05, .1}},
		2020: {{"t4x2", .45, .3}, {"t4x4", .35, .3}, {"v100x4", .1, .15}, {"v100x8", .07, .15}, {"a100x8", .03, .1}},
		2021: {{"t4x2", .35, .2}, {"t4x4", .25, .25}, {"a10x2", .3, .25}, {"v100x8", .05, .1}, {"a100x8", .03, .15},
			{"ascend910x8", .02, .05}},
		2022: {{"t4x2", .3, .15}, {"a10x2", .4, .3}, {"a30x4", .1, .1}, {"mlu370x4", .1, .15}, {"a100x8", .05, .15},
			{"a800x8", .03, .1}, {"ascend910x8", .02, .05}},
		2023: {{"a10x2", .3, .1}, {"l20x2", .2, .1}, {"ascend310px4", .25, .1}, {"r200x4", .1, .1}, {"mlu370x8", .05, .1},
			{"a800x8", .05, .15}, {"ascend910bx8", .04, .2}, {"h800x8", .01, .15}},
		2024: {{"l20x2", .3, .05}, {"ascend310px4", .25, .05}, {"l20x4", .15, .1}, {"s4000x8", .05, .05},
			{"biv100x8", .05, .05}, {"l20x8", .04, .1}, {"h20x8", .1, .3}, {"ascend910bx8", .06, .3}},
		2025: {{"l20x2", .3, .05}, {"ascend310px4", .25, .05}, {"l20x4", .15, .1}, {"mlu370x8", .05, .05},
			{"l20x8", .05, .1}, {"h20x8", .12, .3}, {"ascend910bx8", .08, .25}, {"ascend910cx8", 0, .1}},
	},
}

// weights returns the year's mix at blend theta: (1-θ)·low + θ·high, each
// normalised, so the result adds up to 1.
func weights(year []share, theta float64) []float64 {
	var lo, hi float64
	for _, s := range year {
		lo += s.low
		hi += s.high
	}
	out := make([]float64, len(year))
	for i, s := range year {
		out[i] = (1-theta)*s.low/lo + theta*s.high/hi
	}
	return out
}

// unitMFLOPS is one unit's compute in the class's own series (general: CPU
// FP32; AI: accelerator FP16), computed by the estimator's own rule.
func unitMFLOPS(c config) float64 {
	r := estimator.Record{ID: "unit", Class: c.class, Units: 1, Components: c.parts}
	cs, err := r.Contributions(catalog.Chip)
	if err != nil {
		panic(fmt.Sprintf("demodata: config %s: %v", c.name, err)) // a bug in configs
	}
	for _, c := range cs {
		if c.Records == 1 { // the class's own series carries the record and its units
			return float64(c.MFLOPS)
		}
	}
	panic("demodata: config " + c.name + " has no main series")
}

// blend solves the one number that places the market between the low and
// the high mixes, θ in [0, 1], so that the class's national total as of asOf
// equals target (EFlops in the class's own precision). The total is linear
// in θ: Σ_year units_in_window × ((1-θ)·avg_low + θ·avg_high).
func blend(class estimator.ServerClass, units map[int]int64, target float64) float64 {
	w := estimator.WindowEnding(asOf)
	var low, high float64
	for year := firstYear; year <= lastYear; year++ { // in order, so that θ is bit-for-bit stable
		mix := mixes[class][year]
		inWindow := float64(units[year]) * windowShare(w, periods(year))
		for i, s := range mix {
			per := unitMFLOPS(configByName(s.config)) / 1e12 // EFlops per unit
			low += inWindow * weights(mix, 0)[i] * per
			high += inWindow * weights(mix, 1)[i] * per
		}
	}
	theta := (target - low) / (high - low)
	if theta < 0 || theta > 1 {
		panic(fmt.Sprintf("demodata: %s target %.1f EFlops is outside the mixes' range %.1f-%.1f", class, target, low, high))
	}
	return theta
}

// windowShare is the share of a year's units, spread evenly over its record
// periods, that lies inside w.
func windowShare(w estimator.Window, ps []estimator.Period) float64 {
	var quarters, inside int
	for _, p := range ps {
		if p.Quarter == 0 {
			quarters += 4
			inside += w.QuartersOfYear(p.Year)
			continue
		}
		quarters++
		if !p.Before(w.Start) && !w.End.Before(p) {
			inside++
		}
	}
	return float64(inside) / float64(quarters)
}

func configByName(name string) config {
	for _, c := range configs {
		if c.name == name {
			return c
		}
	}
	panic("demodata: no config " + name) // a bug in mixes
}
