package store

import (
	"bytes"
	"fmt"
	"maps"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// scoreSource builds estimator.ScoreInputs for one methodology inside one
// transaction. It is the only builder of inputs: the commit path, Verify and
// ScoreInputs all use it, so that scores computed on demand with the current
// methodology are exactly the stored ones. It reads every cell once, however
// many years it builds, and each year's values once.
type scoreSource struct {
	tx     *bbolt.Tx
	m      estimator.Methodology
	years  []int                       // the index years, pooled for ScopePooled
	cells  map[uint32][]estimator.Cell // by province; nil until first needed
	values map[int]estimator.YearValues
	// base, if set, is the base year's values kept between transactions
	// (basecache.go); nil reads them like any year.
	base *baseValues
}

func newScoreSource(tx *bbolt.Tx, indexYears []int, m estimator.Methodology) *scoreSource {
	return &scoreSource{tx: tx, m: m, years: indexYears, values: map[int]estimator.YearValues{}}
}

// inputs returns what scoring year depends on: its values, the base year's
// when the methodology names another year, and every index year's when its
// bounds are pooled. The maps are shared between the years of one source
// and must not be modified.
func (s *scoreSource) inputs(year int) (estimator.ScoreInputs, error) {
	v, err := s.yearValues(year)
	if err != nil {
		return estimator.ScoreInputs{}, err
	}
	in := estimator.ScoreInputs{Year: year, Values: v}
	if s.m.BaseYear != 0 && s.m.BaseYear != year {
		if s.base != nil {
			in.Base = s.base.values
		} else if in.Base, err = s.yearValues(s.m.BaseYear); err != nil {
			return estimator.ScoreInputs{}, err
		}
	}
	if s.m.Scope == estimator.ScopePooled {
		for _, y := range s.years {
			pv, err := s.yearValues(y)
			if err != nil {
				return estimator.ScoreInputs{}, err
			}
			in.Pool = append(in.Pool, pv)
		}
	}
	return in, nil
}

// scaleCodes are the leaves derived from cells.
var scaleCodes = [...]string{"scale.basic", "scale.ai", "scale.super"}

// yearValues is one year's index-leaf observations plus the scale leaves
// from the cells, with the methodology's factors.
//
// A scale leaf that is zero in every province is left out, so that it is
// missing for the year rather than zero: the store cannot tell "nothing was
// shipped anywhere" from "no vendor has reported yet", and target scaling
// has no largest value to stand in for a target. A zero next to another
// province's shipments stays a zero.
func (s *scoreSource) yearValues(year int) (estimator.YearValues, error) {
	if v, ok := s.values[year]; ok {
		return v, nil
	}
	if s.cells == nil {
		cells, err := readCells(s.tx, nil)
		if err != nil {
			return nil, err
		}
		s.cells = map[uint32][]estimator.Cell{}
		for _, c := range cells {
			s.cells[c.Province] = append(s.cells[c.Province], c)
		}
	}
	v := estimator.YearValues{}
	if err := readIndexObservations(s.tx, year, v); err != nil {
		return nil, err
	}
	v.SetScale(s.cells, year, s.m.Factors)
	for _, code := range scaleCodes {
		if !anyPositive(v[code]) {
			delete(v, code)
		}
	}
	s.values[year] = v
	return v, nil
}

func anyPositive(vec []float64) bool {
	for _, x := range vec {
		if x > 0 {
			return true
		}
	}
	return false
}

// indexLeaves is the set of index leaf codes, a read-only table: scoring a
// year tests every observation key against it, and a map lookup of the key's
// bytes neither allocates nor scans the indicator list.
var indexLeaves = func() map[string]bool {
	set := map[string]bool{}
	for _, ind := range estimator.Indicators() {
		set[ind.Code] = true
	}
	return set
}()

// readIndexObservations sets the year's observations of index leaves in v;
// gdp and digital_economy_core feed no score. It decodes only the values:
// units, sources and actors are not needed to score.
func readIndexObservations(tx *bbolt.Tx, year int, v estimator.YearValues) error {
	if !yearFits(year) {
		return nil
	}
	prefix := yearKey(year)
	c := tx.Bucket(bucketObs).Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		_, province, code, ok := splitYearProvince(k)
		if !ok {
			return fmt.Errorf("store: malformed observation key %x", k)
		}
		if !indexLeaves[string(code)] {
			continue
		}
		value, err := observationValueOnly(val)
		if err != nil {
			return fmt.Errorf("store: observation %d/%d/%s: %w", year, province, code, err)
		}
		v.Set(string(code), province, value)
	}
	return nil
}

// ScoreInputs returns, from one read transaction, what scoring year with a
// stored methodology version (0 = the current one) depends on, the
// methodology, its leaf weights and the revision, so that the server can call
// estimator.ScoreYear for any version on demand. For the current version the
// scores are exactly the ones the commit path stored. Unknown versions are
// ENotFound. A year that is not an index year gets inputs too (with no
// observations); the store keeps no scores for it.
func (db *DB) ScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, map[string]float64, uint64, error) {
	return db.readScoreInputs(year, version, false, true)
}

// NativeScoreInputs is ScoreInputs for the uncertainty analysis
// (estimator.RankUncertainty), which draws the FP32-equivalent factors: the
// scale leaves carry native precision, scale.ai FP16 and scale.super FP64
// EFlops (scale.basic is FP32 either way), for the scored year, the base
// year and every pooled year alike. It also returns the methodology and the
// revision the inputs were read at, from one read transaction.
func (db *DB) NativeScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, uint64, error) {
	in, m, _, rev, err := db.readScoreInputs(year, version, true, false)
	return in, m, rev, err
}

// readScoreInputs is ScoreInputs (native false) and NativeScoreInputs
// (native true: the inputs under FP16 and FP64 factors of 1, the
// methodology returned as stored). The leaf weights are solved only when
// withWeights is set, since the uncertainty analysis draws its own.
func (db *DB) readScoreInputs(year int, version uint64, native, withWeights bool) (estimator.ScoreInputs, estimator.Methodology, map[string]float64, uint64, error) {
	var (
		in      estimator.ScoreInputs
		m       estimator.Methodology
		weights map[string]float64
		rev     uint64
	)
	err := db.read(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readRevision(tx); err != nil {
			return err
		}
		if m, err = readMethodology(tx, version); err != nil {
			return err
		}
		if withWeights {
			if weights, err = db.weightsOf(m); err != nil {
				return err
			}
		}
		years, err := indexYears(tx)
		if err != nil {
			return err
		}
		scored := m
		if native {
			scored.Factors.FP16, scored.Factors.FP64 = 1, 1
		}
		in, err = newScoreSource(tx, years, scored).inputs(year)
		return err
	})
	if err != nil {
		return estimator.ScoreInputs{}, estimator.Methodology{}, nil, 0, err
	}
	return in, m, weights, rev, nil
}

// weightsOf returns a copy of the cached weights when m is the cached
// version, and solves m's hierarchy otherwise.
func (db *DB) weightsOf(m estimator.Methodology) (map[string]float64, error) {
	if s := db.cur.Load(); s != nil && s.m.Version == m.Version {
		return maps.Clone(s.weights), nil
	}
	s, err := newScoring(m)
	if err != nil {
		return nil, err
	}
	return s.weights, nil
}
