package demodata_test

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
)

// observedCodes are the 13 codes the demo observes: the eleven observed
// index leaves, gdp and digital_economy_core.
var observedCodes = []string{
	"industry.devices", "industry.chips", "industry.software",
	"tech.patent_applications", "tech.patent_grants", "tech.rnd",
	"env.bandwidth", "env.it_spend", "env.open_data",
	"app.digital_economy", "app.cases", "gdp", "digital_economy_core",
}

// The blue book's 2024 tiers (section 三.1): 广东、北京、江苏、浙江、山东、上海
// above 40, in that order; 四川、湖南、河南、湖北、福建、天津、河北、安徽、重庆、
// 陕西 ranks 7-16.
var (
	firstTier  = []uint32{440000, 110000, 320000, 330000, 370000, 310000}
	secondTier = []uint32{510000, 430000, 410000, 420000, 350000, 120000, 130000, 340000, 500000, 610000}
)

type obsKey struct {
	province  uint32
	year      int
	indicator string
}

func observationMap(t *testing.T) map[obsKey]float64 {
	t.Helper()
	m := map[obsKey]float64{}
	for _, o := range demodata.Observations() {
		k := obsKey{o.Province, o.Year, o.Indicator}
		if _, dup := m[k]; dup {
			t.Fatalf("duplicate observation %+v", k)
		}
		m[k] = o.Value
	}
	return m
}

// inputs builds one year's ScoreYear values as the brief defines them,
// independently of demodata.Values: the year's observations of the index
// leaves plus SetScale over the shipments' cells by province.
func inputs(t *testing.T, year int, f estimator.Factors) estimator.YearValues {
	t.Helper()
	var codes []string
	for _, ind := range estimator.Indicators() {
		codes = append(codes, ind.Code)
	}
	v := estimator.NewYearValues(codes...)
	for _, o := range demodata.Observations() {
		if o.Year == year && o.InIndex() {
			v.Set(o.Indicator, o.Province, o.Value)
		}
	}
	_, cells := demo(t)
	byProvince := map[uint32][]estimator.Cell{}
	for _, c := range cells {
		byProvince[c.Province] = append(byProvince[c.Province], c)
	}
	v.SetScale(byProvince, year, f)
	return v
}

// score2024 scores 2024 with the demo methodology, sorted by rank.
func score2024(t *testing.T) []estimator.ProvinceScore {
	t.Helper()
	m := demodata.Methodology()
	weights, _, err := m.Weights()
	if err != nil {
		t.Fatalf("Methodology().Weights: %v", err)
	}
	scores, err := estimator.ScoreYear(estimator.ScoreInputs{Year: 2024, Values: inputs(t, 2024, m.Factors)}, m, weights)
	if err != nil {
		t.Fatalf("ScoreYear: %v", err)
	}
	slices.SortFunc(scores, func(a, b estimator.ProvinceScore) int { return a.Rank - b.Rank })
	return scores
}

func TestObservationsDeterministic(t *testing.T) {
	if a, b := demodata.Observations(), demodata.Observations(); !reflect.DeepEqual(a, b) {
		t.Error("two calls returned different observations")
	}
	a := demodata.Observations()
	a[0].Value = -1 // callers own their copy
	if b := demodata.Observations(); b[0].Value == -1 {
		t.Error("Observations returned shared storage")
	}
	if a, b := demodata.Methodology(), demodata.Methodology(); !reflect.DeepEqual(a, b) {
		t.Error("two calls returned different methodologies")
	}
}

func TestObservationsValid(t *testing.T) {
	obs := demodata.Observations()
	seen := map[obsKey]bool{}
	for i := range obs {
		o := &obs[i]
		k := obsKey{o.Province, o.Year, o.Indicator}
		if seen[k] {
			t.Errorf("duplicate (province, year, indicator) %+v", k)
		}
		seen[k] = true
		if vs := o.Validate(2026); len(vs) > 0 {
			t.Errorf("%+v: Validate: %v", k, vs)
		}
		if ind, _ := estimator.LookupIndicator(o.Indicator); o.Unit != ind.Unit {
			t.Errorf("%+v: unit %q, want %q", k, o.Unit, ind.Unit)
		}
		if !slices.Contains(observedCodes, o.Indicator) {
			t.Errorf("%+v: unexpected indicator", k)
		}
		if o.Year < 2020 || o.Year > 2024 {
			t.Errorf("%+v: year outside 2020-2024", k)
		}
		if !strings.HasPrefix(o.Source, "synthetic demo data (computescale demodata), shaped after ") {
			t.Errorf("%+v: source %q", k, o.Source)
		}
	}
	t.Logf("%d observations", len(obs))
}

// TestObservationsCoverage checks that gdp covers every province and year,
// that some values are genuinely missing (and none of 2024's index leaves
// is), and that every province is scored in every year.
func TestObservationsCoverage(t *testing.T) {
	m := observationMap(t)
	missing := 0
	for _, p := range estimator.Provinces() {
		for y := 2020; y <= 2024; y++ {
			if _, ok := m[obsKey{p.Code, y, "gdp"}]; !ok {
				t.Errorf("no gdp for %s in %d", p.Name, y)
			}
			for _, code := range observedCodes {
				if _, ok := m[obsKey{p.Code, y, code}]; !ok {
					missing++
					if y == 2024 {
						t.Errorf("%s %s missing in 2024", p.Name, code)
					}
				}
			}
		}
	}
	if missing == 0 {
		t.Error("no value is missing: the missing-data rule goes unexercised")
	}
	meth := demodata.Methodology()
	weights, _, err := meth.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for y := 2020; y <= 2024; y++ {
		scores, err := estimator.ScoreYear(estimator.ScoreInputs{Year: y, Values: demodata.Values(y)}, meth, weights)
		if err != nil {
			t.Fatalf("%d: %v", y, err)
		}
		for _, s := range scores {
			if !s.Produced || s.Coverage < 0.6 {
				p, _ := estimator.ProvinceByCode(s.Province)
				t.Errorf("%d %s: produced %v, coverage %.2f", y, p.Name, s.Produced, s.Coverage)
			}
		}
	}
	t.Logf("%d missing values", missing)
}

// TestBlueBookShares checks the blue book's account (section 三.3-6).
func TestBlueBookShares(t *testing.T) {
	m := observationMap(t)
	share := func(code string, province uint32) float64 {
		var sum float64
		for _, p := range estimator.Provinces() {
			sum += m[obsKey{p.Code, 2024, code}]
		}
		return m[obsKey{province, 2024, code}] / sum
	}
	if s := share("industry.devices", 440000); s < 0.50 || s > 0.60 {
		t.Errorf("Guangdong's device share %.3f, want 0.50-0.60 (56 %%)", s)
	}
	if s := share("industry.chips", 320000); s < 0.28 || s > 0.34 {
		t.Errorf("Jiangsu's IC share %.3f, want 0.28-0.34 (31 %%)", s)
	}
	top := func(code string, n int) []uint32 {
		ps := estimator.Provinces()
		slices.SortStableFunc(ps, func(a, b estimator.Province) int {
			va, vb := m[obsKey{a.Code, 2024, code}], m[obsKey{b.Code, 2024, code}]
			switch {
			case va > vb:
				return -1
			case va < vb:
				return 1
			}
			return 0
		})
		var out []uint32
		for _, p := range ps[:n] {
			out = append(out, p.Code)
		}
		return out
	}
	for _, code := range []string{"industry.software", "env.it_spend"} {
		if got := top(code, 1)[0]; got != 110000 {
			t.Errorf("first in %s: %d, want Beijing", code, got)
		}
	}
	openData := top("env.open_data", 6)
	slices.Sort(openData)
	if want := []uint32{110000, 310000, 330000, 350000, 370000, 520000}; !slices.Equal(openData, want) {
		t.Errorf("open-data top six %v, want %v (山东、浙江、上海、贵州、北京、福建)", openData, want)
	}
	var cases, withCases, zero int
	for _, p := range estimator.Provinces() {
		v, ok := m[obsKey{p.Code, 2024, "app.cases"}]
		switch {
		case !ok:
			t.Errorf("%s: 2024 cases missing; a province without cases has an observed zero", p.Name)
		case v > 0:
			withCases++
			cases += int(v)
		default:
			zero++
		}
	}
	if cases != 73 || withCases != 24 || zero != 7 {
		t.Errorf("2024: %d cases over %d provinces (%d at zero), want 73 over 24 (7 at zero)", cases, withCases, zero)
	}
	scores := score2024(t)
	for _, dim := range []string{"industry", "tech"} {
		for _, s := range scores {
			if s.DimensionRanks[dim] == 1 && s.Province != 440000 {
				t.Errorf("first in %s: %d, want Guangdong", dim, s.Province)
			}
		}
	}
}

// TestFirstTier2024 scores 2024 with the demo methodology and checks the
// blue book's tiers.
func TestFirstTier2024(t *testing.T) {
	scores := score2024(t)
	var tier1, next []uint32
	for _, s := range scores {
		p, _ := estimator.ProvinceByCode(s.Province)
		if !s.Produced {
			t.Errorf("%s: no score", p.Name)
			continue
		}
		if s.Rank <= 16 {
			t.Logf("%2d %-12s %6.2f tier %d", s.Rank, p.Name, s.Composite, s.Tier)
		}
		switch {
		case s.Tier == 1:
			tier1 = append(tier1, s.Province)
		case s.Rank <= 16:
			next = append(next, s.Province)
		}
	}
	if !slices.Equal(tier1, firstTier) {
		t.Errorf("first tier %v, want %v (广东、北京、江苏、浙江、山东、上海)", tier1, firstTier)
	}
	slices.Sort(next)
	want := slices.Sorted(slices.Values(secondTier))
	if !slices.Equal(next, want) {
		t.Errorf("ranks 7-16 %v, want the blue book's second tier %v", next, want)
	}
	if !reflect.DeepEqual(demodata.Values(2024), inputs(t, 2024, estimator.DefaultFactors())) {
		t.Error("demodata.Values(2024) differs from observations + SetScale")
	}
}

// TestMethodology checks the demo methodology: the default's settings and a
// positive target for every leaf, by the documented five-year rule.
func TestMethodology(t *testing.T) {
	m, def := demodata.Methodology(), estimator.DefaultMethodology()
	if _, _, err := m.Weights(); err != nil {
		t.Fatalf("Weights: %v", err)
	}
	if !reflect.DeepEqual(m.Hierarchy, estimator.DefaultHierarchy()) {
		t.Error("hierarchy is not DefaultHierarchy")
	}
	// BaseYear is 0: with every target explicit none has to stand in.
	if m.Norm != def.Norm || m.Scope != def.Scope || m.BaseYear != 0 || m.Aggregation != def.Aggregation ||
		m.CoverageThreshold != def.CoverageThreshold || m.Factors != def.Factors ||
		m.FirstTierAbove != def.FirstTierAbove || m.SecondTierMaxRank != def.SecondTierMaxRank {
		t.Errorf("settings differ from DefaultMethodology: %+v", m)
	}
	if m.Description == "" {
		t.Error("no description")
	}
	base, last := demodata.Values(2020), demodata.Values(2024)
	for _, ind := range estimator.Indicators() {
		spec, ok := m.Indicators[ind.Code]
		if !ok || spec.Method != estimator.NormTarget || !(spec.Target > 0) {
			t.Errorf("%s: spec %+v, want target scaling with a positive target", ind.Code, spec)
			continue
		}
		// target = largest 2020 value × (1 + g/2)^5, g the national CAGR 2020-2024.
		leader, sb, sl := 0.0, 0.0, 0.0
		for i := range base[ind.Code] {
			b, l := base[ind.Code][i], last[ind.Code][i]
			if !math.IsNaN(b) {
				leader = math.Max(leader, b)
			}
			if !math.IsNaN(b) && !math.IsNaN(l) {
				sb, sl = sb+b, sl+l
			}
		}
		g := math.Pow(sl/sb, 0.25) - 1
		if want := leader * math.Pow(1+g/2, 5); !within(spec.Target, want, 1e-9) {
			t.Errorf("%s: target %g, want %g", ind.Code, spec.Target, want)
		}
		if tg := demodata.Targets()[ind.Code]; tg != spec.Target {
			t.Errorf("%s: Targets() %g, methodology %g", ind.Code, tg, spec.Target)
		}
	}
}

// TestGrowth checks that every observed series grows nationally at a
// plausible pace over 2020-2024.
func TestGrowth(t *testing.T) {
	sums := map[string][2]float64{}
	for _, o := range demodata.Observations() {
		s := sums[o.Indicator]
		switch o.Year {
		case 2020:
			s[0] += o.Value
		case 2024:
			s[1] += o.Value
		}
		sums[o.Indicator] = s
	}
	for _, code := range observedCodes {
		s := sums[code]
		cagr := math.Pow(s[1]/s[0], 0.25) - 1
		if cagr < 0.01 || cagr > 0.25 {
			t.Errorf("%s: national growth %.1f %% a year, want 1-25 %%", code, 100*cagr)
		}
	}
}

// TestRelationship fits gdp and digital_economy_core on the 2024 composite
// (METHOD.md section 6): the blue book reports about 1188 and 129 ×10^8 CNY
// per index point.
func TestRelationship(t *testing.T) {
	scores := score2024(t)
	m := observationMap(t)
	for _, tc := range []struct {
		code  string
		slope float64
	}{{"gdp", 1188}, {"digital_economy_core", 129}} {
		var x, y []float64
		for _, s := range scores {
			v, ok := m[obsKey{s.Province, 2024, tc.code}]
			if !ok {
				v = math.NaN()
			}
			x, y = append(x, s.Composite), append(y, v)
		}
		slope, intercept, r2, n, err := estimator.FitLine(x, y)
		if err != nil {
			t.Fatalf("%s: %v", tc.code, err)
		}
		t.Logf("%s = %.1f × composite + %.0f, R² %.3f, n %d", tc.code, slope, intercept, r2, n)
		if !within(slope, tc.slope, 0.3) {
			t.Errorf("%s: slope %.1f, want %.0f ± 30 %%", tc.code, slope, tc.slope)
		}
		if r2 <= 0.5 || r2 >= 0.95 {
			t.Errorf("%s: R² %.3f, want 0.5-0.95", tc.code, r2)
		}
	}
}
