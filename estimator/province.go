package estimator

import (
	"strconv"
	"strings"
)

// Province is one of the 31 mainland provincial-level divisions in the blue
// book's scope (METHOD.md section 7).
type Province struct {
	Code   uint32 // GB/T 2260, e.g. 440000
	ISO    string // ISO 3166-2, e.g. CN-GD
	Name   string // pinyin, e.g. Guangdong
	NameZH string // e.g. 广东
}

// provinces is ordered by GB/T 2260 code; it is never modified.
var provinces = [...]Province{
	{110000, "CN-BJ", "Beijing", "北京"},
	{120000, "CN-TJ", "Tianjin", "天津"},
	{130000, "CN-HE", "Hebei", "河北"},
	{140000, "CN-SX", "Shanxi", "山西"},
	{150000, "CN-NM", "Inner Mongolia", "内蒙古"},
	{210000, "CN-LN", "Liaoning", "辽宁"},
	{220000, "CN-JL", "Jilin", "吉林"},
	{230000, "CN-HL", "Heilongjiang", "黑龙江"},
	{310000, "CN-SH", "Shanghai", "上海"},
	{320000, "CN-JS", "Jiangsu", "江苏"},
	{330000, "CN-ZJ", "Zhejiang", "浙江"},
	{340000, "CN-AH", "Anhui", "安徽"},
	{350000, "CN-FJ", "Fujian", "福建"},
	{360000, "CN-JX", "Jiangxi", "江西"},
	{370000, "CN-SD", "Shandong", "山东"},
	{410000, "CN-HA", "Henan", "河南"},
	{420000, "CN-HB", "Hubei", "湖北"},
	{430000, "CN-HN", "Hunan", "湖南"},
	{440000, "CN-GD", "Guangdong", "广东"},
	{450000, "CN-GX", "Guangxi", "广西"},
	{460000, "CN-HI", "Hainan", "海南"},
	{500000, "CN-CQ", "Chongqing", "重庆"},
	{510000, "CN-SC", "Sichuan", "四川"},
	{520000, "CN-GZ", "Guizhou", "贵州"},
	{530000, "CN-YN", "Yunnan", "云南"},
	{540000, "CN-XZ", "Xizang", "西藏"},
	{610000, "CN-SN", "Shaanxi", "陕西"},
	{620000, "CN-GS", "Gansu", "甘肃"},
	{630000, "CN-QH", "Qinghai", "青海"},
	{640000, "CN-NX", "Ningxia", "宁夏"},
	{650000, "CN-XJ", "Xinjiang", "新疆"},
}

// NumProvinces is how many provinces the index ranks.
const NumProvinces = len(provinces)

// Provinces returns the 31 provinces in code order. The slice is a copy.
func Provinces() []Province {
	out := make([]Province, len(provinces))
	copy(out, provinces[:])
	return out
}

// ProvinceByCode returns the province with a GB/T 2260 code.
func ProvinceByCode(code uint32) (Province, bool) {
	if i := provinceSlot(code); i >= 0 {
		return provinces[i], true
	}
	return Province{}, false
}

// provinceSlots maps a provincial code's first two digits (GB/T 2260 codes
// of provinces are NN0000) to its index in provinces plus one, 0 for none:
// every record validated and every score computed looks a province up.
var provinceSlots = func() (slots [100]uint8) {
	for i, p := range provinces {
		slots[p.Code/10000] = uint8(i + 1)
	}
	return slots
}()

// provinceSlot is the index of code in provinces, or -1.
func provinceSlot(code uint32) int {
	if code%10000 != 0 || code/10000 >= uint32(len(provinceSlots)) {
		return -1
	}
	return int(provinceSlots[code/10000]) - 1
}

// provinceIndex maps every accepted spelling, folded, to its province. It is
// built once and only read, so lookups on the ingest path cost one map probe.
var provinceIndex = func() map[string]Province {
	m := make(map[string]Province, 4*len(provinces))
	for _, p := range provinces {
		for _, k := range []string{strconv.FormatUint(uint64(p.Code), 10), p.ISO, p.Name, p.NameZH} {
			m[foldName(k)] = p
		}
	}
	return m
}()

// LookupProvince accepts any spelling API.md allows: the GB/T 2260 code, the
// ISO 3166-2 code, the pinyin name (case- and space-insensitive, so
// "inner mongolia" and "InnerMongolia" both work) or the Chinese name.
func LookupProvince(s string) (Province, bool) {
	p, ok := provinceIndex[foldName(strings.TrimSpace(s))]
	return p, ok
}

func foldName(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", ""))
}
