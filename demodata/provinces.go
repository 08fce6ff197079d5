package demodata

import "github.com/computescale/computescale/estimator"

// The blue book (section 三.2, 算力规模分指数) ranks the provinces' compute scale
// Beijing first, then Guangdong, Zhejiang, Jiangsu, Shanghai, Shandong and
// Tianjin, and says that these seven hold 87 % of the general-server market
// and 95 % of the AI-server market (它们在通用服务器和 AI 服务器市场中的份额分别
// 达到 87% 和 95%). The demo applies those shares to units and compute alike.
const (
	topSevenGeneralShare = 0.87
	topSevenAIShare      = 0.95
)

// topSeven splits the top seven's share among them, in the blue book's order.
// The relative weights are this project's assumption; they only have to keep
// the order, and with these totals the gaps between neighbours are wide.
var topSeven = []struct {
	code        uint32
	general, ai float64
}{
	{110000, 25, 32}, // Beijing: 算力采购最活跃的省级行政区
	{440000, 18, 19}, // Guangdong
	{330000, 13, 14}, // Zhejiang
	{320000, 11, 11}, // Jiangsu
	{310000, 10, 9},  // Shanghai
	{370000, 6, 6},   // Shandong
	{120000, 4, 4},   // Tianjin
}

// others splits what the top seven leave among the other 24 provinces. The
// weights are this project's assumption, ordered by the blue book's account:
// its second tier of the composite index (ranks 7-16: 四川、湖南、河南、湖北、
// 福建、天津、河北、安徽、重庆、陕西) first, then the western hub provinces of
// 东数西算 it names (贵州、内蒙古、甘肃、宁夏), then the rest.
var others = []struct {
	code   uint32
	weight float64
}{
	{510000, 10}, {430000, 9}, {410000, 9}, {420000, 9}, {350000, 8}, // Sichuan, Hunan, Henan, Hubei, Fujian
	{130000, 8}, {340000, 7}, {500000, 6}, {610000, 6}, // Hebei, Anhui, Chongqing, Shaanxi
	{520000, 6}, {150000, 5}, {620000, 3}, {640000, 4}, // Guizhou, Inner Mongolia, Gansu, Ningxia
	{210000, 5}, {360000, 3}, {450000, 3}, {140000, 3}, {530000, 2}, // Liaoning, Jiangxi, Guangxi, Shanxi, Yunnan
	{220000, 2}, {230000, 2}, {650000, 2}, {460000, 1}, {630000, 1}, {540000, 1}, // Jilin, Heilongjiang, Xinjiang, Hainan, Qinghai, Xizang
}

// provinceShares returns each province's share of a class's shipments, in
// estimator.Provinces order; the shares add up to 1.
func provinceShares(class estimator.ServerClass) []float64 {
	top := topSevenGeneralShare
	if class == estimator.ClassAI {
		top = topSevenAIShare
	}
	byCode := map[uint32]float64{}
	var topSum, otherSum float64
	for _, p := range topSeven {
		topSum += pick(class, p.general, p.ai)
	}
	for _, p := range others {
		otherSum += p.weight
	}
	for _, p := range topSeven {
		byCode[p.code] = top * pick(class, p.general, p.ai) / topSum
	}
	for _, p := range others {
		byCode[p.code] = (1 - top) * p.weight / otherSum
	}
	provinces := estimator.Provinces()
	out := make([]float64, len(provinces))
	for i, p := range provinces {
		out[i] = byCode[p.Code]
	}
	return out
}

func pick(class estimator.ServerClass, general, ai float64) float64 {
	if class == estimator.ClassAI {
		return ai
	}
	return general
}
