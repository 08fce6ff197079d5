package demodata_test

import (
	"cmp"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
)

// asOf is the blue book's "截至 2025 年 6 月".
var asOf = estimator.Period{Year: 2025, Quarter: 2}

// east is the east as China's National Bureau of Statistics divides the
// country (东部: 10 provinces; 辽宁 belongs to 东北), the division the blue
// book's "东部地区贡献了全国 93% 的计算设备算力" refers to.
var east = []uint32{110000, 120000, 130000, 310000, 320000, 330000, 350000, 370000, 440000, 460000}

func demo(t *testing.T) ([]estimator.Record, []estimator.Cell) {
	t.Helper()
	recs := demodata.Shipments()
	cells, err := demodata.Cells(recs)
	if err != nil {
		t.Fatal(err)
	}
	return recs, cells
}

func TestShipmentsDeterministic(t *testing.T) {
	if a, b := demodata.Shipments(), demodata.Shipments(); !reflect.DeepEqual(a, b) {
		t.Error("two calls returned different records")
	}
}

func TestShipmentsValid(t *testing.T) {
	recs := demodata.Shipments()
	if n := len(recs); n == 0 || n >= 20000 {
		t.Fatalf("%d records, want 1..19999", n)
	}
	t.Logf("%d records", len(recs))
	ids := map[string]bool{}
	provinces := map[uint32]bool{}
	for i := range recs {
		r := &recs[i]
		if ids[r.ID] {
			t.Errorf("record id %s is not unique", r.ID)
		}
		ids[r.ID] = true
		if vs := r.Validate(2026); len(vs) > 0 {
			t.Errorf("%s: Validate: %v", r.ID, vs)
		}
		if _, err := r.Contributions(catalog.Chip); err != nil {
			t.Errorf("%s: Contributions: %v", r.ID, err)
		}
		for _, c := range r.Components {
			if c.Inline != nil {
				t.Errorf("%s: inline spec; the demo uses catalog ids only", r.ID)
			} else if _, ok := catalog.Chip(c.ChipID); !ok {
				t.Errorf("%s: chip %q is not in the catalog", r.ID, c.ChipID)
			}
		}
		if r.Class != estimator.ClassSuper {
			provinces[r.Province] = true
			// From 2014, so that every window the dashboard's trend charts
			// (from 2019's, 2014-2019) is complete.
			if r.Period.Year < 2014 || r.Period.Year > 2025 || (r.Period.Year == 2025 && (r.Period.Quarter < 1 || r.Period.Quarter > 2)) {
				t.Errorf("%s: period %v outside 2014-2025Q2", r.ID, r.Period)
			}
		}
	}
	if len(provinces) != estimator.NumProvinces {
		t.Errorf("shipments reach %d provinces, want all %d", len(provinces), estimator.NumProvinces)
	}
}

// TestNationalTotals checks the blue book's figures as of 2025Q2, within 3 %.
func TestNationalTotals(t *testing.T) {
	_, cells := demo(t)
	got := estimator.Sum(cells, asOf, estimator.DefaultFactors())
	t.Logf("as of %v: basic %.2f FP32, AI %.2f FP16 (%.2f FP32-eq), super %.3f FP64 (%.2f FP32-eq), total %.2f",
		asOf, got.BasicFP32, got.AIFP16, got.AIFP32Eq, got.SuperFP64, got.SuperFP32Eq, got.TotalFP32Eq)
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"basic FP32", got.BasicFP32, 175},
		{"AI FP16", got.AIFP16, 1564},
		{"AI FP32-eq", got.AIFP32Eq, 782},
		{"super FP64", got.SuperFP64, 2.6},
		{"super FP32-eq", got.SuperFP32Eq, 5.2},
		{"total FP32-eq", got.TotalFP32Eq, 962},
	} {
		if !within(tc.got, tc.want, 0.03) {
			t.Errorf("%s = %.3f EFlops, want %.3f ± 3 %%", tc.name, tc.got, tc.want)
		}
	}
}

// TestUnits checks shipments: 2024 within 2 % of the blue book's, and the
// six years 2019-2024 (the window as of 2024).
func TestUnits(t *testing.T) {
	recs, cells := demo(t)
	var general2024, ai2024 int64
	for _, r := range recs {
		if r.Period.Year != 2024 {
			continue
		}
		switch r.Class {
		case estimator.ClassGeneral:
			general2024 += r.Units
		case estimator.ClassAI:
			ai2024 += r.Units
		}
	}
	if !within(float64(general2024), 3.731e6, 0.02) {
		t.Errorf("2024 general servers %d, want 3.731 M ± 2 %%", general2024)
	}
	if !within(float64(ai2024), 0.63e6, 0.02) {
		t.Errorf("2024 AI servers %d, want 0.63 M ± 2 %%", ai2024)
	}
	six := estimator.Sum(cells, estimator.Period{Year: 2024}, estimator.DefaultFactors())
	if !within(six.GeneralUnits, 21.78e6, 0.02) {
		t.Errorf("general servers 2019-2024 %.0f, want 21.78 M ± 2 %%", six.GeneralUnits)
	}
	if six.AIUnits <= 1.7e6 || six.AIUnits > 1.8e6 {
		t.Errorf("AI servers 2019-2024 %.0f, want just over 1.7 M", six.AIUnits)
	}
	now := estimator.Sum(cells, asOf, estimator.DefaultFactors())
	t.Logf("2024: %d general, %d AI; 2019-2024: %.0f general, %.0f AI; window to %v: %.0f general, %.0f AI",
		general2024, ai2024, six.GeneralUnits, six.AIUnits, asOf, now.GeneralUnits, now.AIUnits)
}

// TestProvinces checks the blue book's ranking by compute scale and the
// east's share.
func TestProvinces(t *testing.T) {
	_, cells := demo(t)
	byProvince := map[uint32][]estimator.Cell{}
	for _, c := range cells {
		byProvince[c.Province] = append(byProvince[c.Province], c)
	}
	type ranked struct {
		code  uint32
		total float64
	}
	var all []ranked
	var national, eastTotal float64
	for code, cs := range byProvince {
		total := estimator.Sum(cs, asOf, estimator.DefaultFactors()).TotalFP32Eq
		all = append(all, ranked{code, total})
		national += total
		if slices.Contains(east, code) {
			eastTotal += total
		}
	}
	slices.SortFunc(all, func(a, b ranked) int { return cmp.Compare(b.total, a.total) })
	want := []uint32{110000, 440000, 330000, 320000, 310000, 370000, 120000} // 北京 广东 浙江 江苏 上海 山东 天津
	for i, code := range want {
		if all[i].code != code {
			p, _ := estimator.ProvinceByCode(all[i].code)
			w, _ := estimator.ProvinceByCode(code)
			t.Errorf("rank %d is %s (%.1f EFlops), want %s", i+1, p.Name, all[i].total, w.Name)
		}
	}
	for i, r := range all[:10] {
		p, _ := estimator.ProvinceByCode(r.code)
		t.Logf("%2d %-10s %7.2f EFlops FP32-eq", i+1, p.Name, r.total)
	}
	share := eastTotal / national
	t.Logf("east share %.2f %%", 100*share)
	if share < 0.90 || share > 0.96 {
		t.Errorf("east share %.3f, want 0.90-0.96 (blue book: 93 %%)", share)
	}
}

// TestYearOnlyWindow follows one 2019 year-only record through three windows:
// all of its units count as of 2024 (2019Q1-2024Q4), half as of 2025Q2
// (2019Q3-2025Q2), none as of 2025Q4.
func TestYearOnlyWindow(t *testing.T) {
	var rec *estimator.Record
	for _, r := range demodata.Shipments() {
		if r.Period == (estimator.Period{Year: 2019}) && r.Class == estimator.ClassGeneral {
			rec = &r
			break
		}
	}
	if rec == nil {
		t.Fatal("no 2019 year-only general-server record")
	}
	cells, err := demodata.Cells([]estimator.Record{*rec})
	if err != nil {
		t.Fatal(err)
	}
	f := estimator.DefaultFactors()
	full := estimator.Sum(cells, estimator.Period{Year: 2024}, f)
	if full.GeneralUnits != float64(rec.Units) || full.BasicFP32 <= 0 {
		t.Errorf("as of 2024: %v units, want all %d", full.GeneralUnits, rec.Units)
	}
	half := estimator.Sum(cells, asOf, f)
	if half.GeneralUnits != float64(rec.Units)/2 || !within(half.BasicFP32, full.BasicFP32/2, 1e-9) {
		t.Errorf("as of 2025Q2: %v units, want half of %d", half.GeneralUnits, rec.Units)
	}
	if none := estimator.Sum(cells, estimator.Period{Year: 2025, Quarter: 4}, f); none.GeneralUnits != 0 || none.BasicFP32 != 0 {
		t.Errorf("as of 2025Q4: %v units, want none", none.GeneralUnits)
	}
}

func TestSupercomputers(t *testing.T) {
	recs := demodata.Shipments()
	var catalogued, synthetic int
	for _, r := range recs {
		if r.Class != estimator.ClassSuper {
			continue
		}
		if r.RpeakFP64 <= 0 || len(r.Components) != 0 {
			t.Errorf("%s: a supercomputer record states Rpeak, not components", r.ID)
		}
		if strings.Contains(r.ID, "synthetic") {
			synthetic++
			if !strings.Contains(r.Note, "synthetic") {
				t.Errorf("%s: note %q does not say synthetic", r.ID, r.Note)
			}
		} else {
			catalogued++
		}
	}
	if catalogued != len(catalog.Supercomputers()) || synthetic == 0 {
		t.Errorf("%d catalog and %d synthetic systems, want %d catalog and some synthetic",
			catalogued, synthetic, len(catalog.Supercomputers()))
	}
}

func TestCellsError(t *testing.T) {
	bad := []estimator.Record{{ID: "x", Province: 110000, Period: estimator.Period{Year: 2024}, Class: estimator.ClassGeneral,
		Units: 1, Components: []estimator.Component{{Count: 2, ChipID: "no-such-chip"}}}}
	if _, err := demodata.Cells(bad); estimator.ErrorCode(err) != estimator.EInvalid {
		t.Errorf("Cells with an unknown chip: error %v, want an invalid-argument error", err)
	}
}

func within(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }
