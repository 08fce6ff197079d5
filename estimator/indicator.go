package estimator

// Indicator is one observed quantity: a leaf of the index hierarchy
// (METHOD.md section 4) or one of the extra observations that feed the
// relationship analysis (section 6), which have no Dimension.
type Indicator struct {
	Code         string // e.g. "tech.patent_grants"
	Dimension    string // "scale", "industry", "tech", "env" or "app"; "" outside the index
	SubIndicator string // e.g. "innovation"; leaves sharing one share a node
	NameZH       string
	NameEN       string
	Unit         string
	Derived      bool // computed from shipments (section 3), not pushed as observations
}

// The dimensions, in the blue book's order.
var dimensions = [...]string{"scale", "industry", "tech", "env", "app"}

// indicators holds the 14 leaves in the blue book's order (Table 1), then the
// two extra observations. It is never modified.
var indicators = [...]Indicator{
	{"scale.basic", "scale", "basic", "服务器算力规模", "server compute", "EFlops", true},
	{"scale.ai", "scale", "ai", "AI服务器算力规模", "AI-server compute", "EFlops", true},
	{"scale.super", "scale", "supercomputing", "超级计算机算力规模", "supercomputer compute", "EFlops", true},
	{"industry.devices", "industry", "devices", "计算设备产量", "computing-device output", "10^4 units", false},
	{"industry.chips", "industry", "chips", "集成电路产量", "integrated-circuit output", "10^4 pieces", false},
	{"industry.software", "industry", "software", "软件业务收入", "software revenue", "10^8 CNY", false},
	{"tech.patent_applications", "tech", "innovation", "计算发明专利申请数", "computing invention patent applications", "count", false},
	{"tech.patent_grants", "tech", "innovation", "计算发明专利授权数", "computing invention patent grants", "count", false},
	{"tech.rnd", "tech", "rnd", "计算机制造业R&D经费", "computer-manufacturing R&D spend", "10^8 CNY", false},
	{"env.bandwidth", "env", "network", "互联网省际出口带宽", "inter-provincial Internet bandwidth", "Tbps", false},
	{"env.it_spend", "env", "investment", "IT支出规模", "IT spend", "10^8 CNY", false},
	{"env.open_data", "env", "data_openness", "开放数林指数", "open-data index", "index", false},
	{"app.digital_economy", "app", "digitalisation", "数字经济核心产业规模", "digital-economy core industries", "10^8 CNY", false},
	{"app.cases", "app", "industry_use", "典型应用案例", "showcase application cases", "count", false},
	{"gdp", "", "", "地区生产总值", "gross regional product", "10^8 CNY", false},
	{"digital_economy_core", "", "", "数字经济核心产业增加值", "digital-economy core industries' output", "10^8 CNY", false},
}

// numLeaves is how many of indicators are leaves of the index.
const numLeaves = 14

// Indicators returns the 14 leaves of the index in the blue book's order.
// The slice is a copy.
func Indicators() []Indicator {
	out := make([]Indicator, numLeaves)
	copy(out, indicators[:numLeaves])
	return out
}

// LookupIndicator finds any of the 16 observation codes: the 14 leaves and
// "gdp" and "digital_economy_core" (whose Dimension is "").
func LookupIndicator(code string) (Indicator, bool) {
	i, ok := indicatorIndex[code]
	if !ok {
		return Indicator{}, false
	}
	return indicators[i], true
}

// indicatorIndex finds an indicator by code in one map lookup: scoring a
// year looks every leaf up for every province.
var indicatorIndex = func() map[string]int {
	m := make(map[string]int, len(indicators))
	for i, ind := range indicators {
		m[ind.Code] = i
	}
	return m
}()

// Dimensions returns the five dimension codes in the blue book's order.
func Dimensions() []string {
	out := make([]string, len(dimensions))
	copy(out, dimensions[:])
	return out
}

// DimensionOf is the dimension of a leaf code, "" for any other code; it is
// the dimOf that Composite takes for the index of METHOD.md.
func DimensionOf(code string) string {
	if i, ok := indicatorIndex[code]; ok {
		return indicators[i].Dimension // no copy of the whole Indicator: scoring asks per leaf and province
	}
	return ""
}

// IndexRootCode is the code of the root of DefaultHierarchy.
const IndexRootCode = "index"

// DefaultHierarchy is the index's weight tree with equal weights at every
// level, the default methodology's (METHOD.md section 5): root → five
// dimensions → sub-indicators → leaves. A sub-indicator with one leaf is that
// leaf (the level would only multiply by 1); the one with two, innovation,
// is the node "tech.innovation". So each dimension weighs 1/5, a scale leaf
// 1/15, each patent leaf 1/20 and tech.rnd 1/10.
func DefaultHierarchy() WeightNode {
	root := WeightNode{Code: IndexRootCode}
	for _, d := range dimensions {
		dim := WeightNode{Code: d}
		for _, ind := range indicators[:numLeaves] {
			if ind.Dimension != d {
				continue
			}
			sub := d + "." + ind.SubIndicator
			if n := len(dim.Children); n > 0 && dim.Children[n-1].Code == sub {
				dim.Children[n-1].Children = append(dim.Children[n-1].Children, WeightNode{Code: ind.Code})
				continue
			}
			if shared(ind) {
				dim.Children = append(dim.Children, WeightNode{Code: sub, Children: []WeightNode{{Code: ind.Code}}})
			} else {
				dim.Children = append(dim.Children, WeightNode{Code: ind.Code})
			}
		}
		root.Children = append(root.Children, dim)
	}
	return root
}

// shared reports whether another leaf has ind's sub-indicator.
func shared(ind Indicator) bool {
	for _, o := range indicators[:numLeaves] {
		if o.Code != ind.Code && o.Dimension == ind.Dimension && o.SubIndicator == ind.SubIndicator {
			return true
		}
	}
	return false
}
