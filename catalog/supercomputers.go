package catalog

import (
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/computescale/computescale/estimator"
)

// Supercomputer is one system of the catalog: a real machine with a public
// TOP500 Rpeak. It counts as supercomputing compute from Commissioned until
// Decommissioned (zero while in service), METHOD.md section 3.
type Supercomputer struct {
	ID             string
	Name           string
	Site           string
	Province       uint32 // GB/T 2260 code
	Commissioned   estimator.Period
	Decommissioned estimator.Period
	RpeakFP64      float64 // FLOP/s
	Source         string
}

// superColumns is supercomputers.csv's header. The file's comment block
// describes each column; periods are "2016Q2" or a bare year "2018", Rpeak is
// in TFLOP/s as TOP500 lists it.
var superColumns = []string{"id", "name", "site", "province", "commissioned", "decommissioned",
	"rpeak_tflops", "source"}

// maxCatalogYear bounds the periods a catalog row may carry.
const maxCatalogYear = 2100

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// parseSupercomputers reads a supercomputers.csv.
func parseSupercomputers(r io.Reader) ([]Supercomputer, error) {
	return parseRows(r, superColumns, "supercomputer", superRow, func(s Supercomputer) string { return s.ID })
}

func superRow(t *table) (Supercomputer, error) {
	s := Supercomputer{ID: t.cell("id"), Name: t.cell("name"), Site: t.cell("site"), Source: t.cell("source")}
	switch {
	case !idPattern.MatchString(s.ID):
		return s, t.errorf("id", "id %q must be 1-64 of a-z 0-9 . _ - starting with a letter or digit", s.ID)
	case s.Name == "":
		return s, t.errorf("name", "name is empty")
	case s.Source == "":
		return s, t.errorf("source", "every system must name its source")
	}
	code, err := strconv.ParseUint(t.cell("province"), 10, 32)
	if _, ok := estimator.ProvinceByCode(uint32(code)); err != nil || !ok {
		return s, t.errorf("province", "%q is not a GB/T 2260 province code", t.cell("province"))
	}
	s.Province = uint32(code)
	if s.Commissioned, err = parsePeriod(t.cell("commissioned")); err != nil {
		return s, t.errorf("commissioned", "%v", err)
	}
	if s.Commissioned.IsZero() {
		return s, t.errorf("commissioned", "commissioning period is required")
	}
	if s.Decommissioned, err = parsePeriod(t.cell("decommissioned")); err != nil {
		return s, t.errorf("decommissioned", "%v", err)
	}
	if !s.Decommissioned.IsZero() && !s.Commissioned.Before(s.Decommissioned) {
		return s, t.errorf("decommissioned", "%s is not after commissioning %s", s.Decommissioned, s.Commissioned)
	}
	tf, err := strconv.ParseFloat(t.cell("rpeak_tflops"), 64)
	if err != nil || !(tf > 0) || tf > 1e9 {
		return s, t.errorf("rpeak_tflops", "%q is not a positive TFLOP/s figure up to 1e9", t.cell("rpeak_tflops"))
	}
	s.RpeakFP64 = tf * 1e12
	return s, nil
}

var periodPattern = regexp.MustCompile(`^(\d{4})(?:Q([1-4]))?$`)

// parsePeriod reads "2016Q2" or "2018"; the empty string is the zero Period.
func parsePeriod(s string) (estimator.Period, error) {
	if s == "" {
		return estimator.Period{}, nil
	}
	m := periodPattern.FindStringSubmatch(s)
	if m == nil {
		return estimator.Period{}, fmt.Errorf("period %q is not YYYY or YYYYQn", s)
	}
	p := estimator.Period{}
	p.Year, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		p.Quarter, _ = strconv.Atoi(m[2])
	}
	if vs := p.Validate("", maxCatalogYear); len(vs) > 0 {
		return estimator.Period{}, fmt.Errorf("period %q: %s", s, vs[0].Description)
	}
	return p, nil
}
