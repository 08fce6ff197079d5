package store

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// impact is which years a write may have moved scores in, before it is
// narrowed to the index years.
type impact struct {
	all   bool         // every year: the methodology changed
	years map[int]bool // these years
	from  int          // and every year from this one on; 0 = none
}

func (im *impact) addYear(y int) {
	if im.years == nil {
		im.years = map[int]bool{}
	}
	im.years[y] = true
}

// addCells adds the years changed cells move. A shipment cell of year y
// counts in the six-year windows that end in y..y+5; a supercomputer counts
// from its commissioning (or stops counting from its decommissioning) on.
func (im *impact) addCells(cells []estimator.Cell) {
	for _, c := range cells {
		switch c.Series {
		case estimator.SeriesBasic, estimator.SeriesAI, estimator.SeriesAIHost:
			for y := c.Period.Year; y < c.Period.Year+estimator.WindowYears; y++ {
				im.addYear(y)
			}
		case estimator.SeriesSuperOn, estimator.SeriesSuperOff:
			if im.from == 0 || c.Period.Year < im.from {
				im.from = c.Period.Year
			}
		}
	}
}

// merge adds what o covers.
func (im *impact) merge(o impact) {
	im.all = im.all || o.all
	for y := range o.years {
		im.addYear(y)
	}
	if o.from != 0 && (im.from == 0 || o.from < im.from) {
		im.from = o.from
	}
}

func (im *impact) covers(y int) bool {
	return im.all || im.years[y] || im.from != 0 && y >= im.from
}

// resolve narrows the impact to the index years, or widens it to all of them
// where the methodology makes one year's scores depend on other years: the
// base year's values are every year's stand-in targets, and pooled bounds
// take every year's values.
func (im *impact) resolve(indexYears []int, m estimator.Methodology) []int {
	if im.all || m.BaseYear != 0 && im.covers(m.BaseYear) {
		return indexYears
	}
	var out []int
	for _, y := range indexYears {
		if im.covers(y) {
			out = append(out, y)
		}
	}
	if len(out) > 0 && m.Scope == estimator.ScopePooled {
		return indexYears
	}
	return out
}

// rescore recomputes, inside a write's transaction, the scores of every index
// year the write may have moved, stores the summaries that changed and
// returns them for the change log. sc is the methodology to score with; nil
// means the current one. With Options.NoIndex it does nothing.
func (db *DB) rescore(tx *bbolt.Tx, im impact, sc *scoring) ([]ScoreChange, error) {
	// First, whatever else happens: a write that moves the cached base year
	// drops it before it can commit (basecache.go).
	db.dropBase(im)
	if db.noIndex {
		return nil, nil
	}
	years, err := indexYears(tx)
	if err != nil || len(years) == 0 {
		return nil, err
	}
	if sc == nil {
		if sc, err = db.scoringIn(tx); err != nil {
			return nil, err
		}
	}
	affected := im.resolve(years, sc.m)
	if len(affected) == 0 {
		return nil, nil
	}
	src := newScoreSource(tx, years, sc.m)
	if err := db.withBase(src, im.all || im.covers(sc.m.BaseYear)); err != nil {
		return nil, err
	}
	var out []ScoreChange
	for _, y := range affected {
		changes, err := rescoreYear(src, y, sc)
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
	}
	return out, nil
}

// rescoreYear recomputes one year, compares each province's summary with the
// stored one byte for byte, and writes (or deletes) only those that differ.
func rescoreYear(src *scoreSource, year int, sc *scoring) ([]ScoreChange, error) {
	want, err := src.summaries(year, sc)
	if err != nil {
		return nil, err
	}
	b := src.tx.Bucket(bucketScores)
	stored := map[uint32][]byte{}
	prefix := yearKey(year)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, province, _, ok := splitYearProvince(k)
		if !ok {
			return nil, fmt.Errorf("store: malformed score key %x", k)
		}
		stored[province] = bytes.Clone(v)
	}
	provinces := slices.Sorted(maps.Keys(want))
	for p := range stored {
		if _, ok := want[p]; !ok {
			provinces = append(provinces, p)
		}
	}
	slices.Sort(provinces)
	var out []ScoreChange
	for _, p := range provinces {
		w, wanted := want[p]
		if wanted && bytes.Equal(w.value, stored[p]) {
			continue
		}
		key := scoreKey(year, p)
		if wanted {
			err = b.Put(key, w.value)
			out = append(out, ScoreChange{Year: year, Province: p, Summary: w.summary})
		} else {
			err = b.Delete(key)
			out = append(out, ScoreChange{Year: year, Province: p, Deleted: true})
		}
		if err != nil {
			return nil, fmt.Errorf("store: write score %d/%d: %w", year, p, err)
		}
	}
	return out, nil
}

// encodedSummary is a summary with its stored value.
type encodedSummary struct {
	summary ScoreSummary
	value   []byte
}

// summaries scores one year and returns the summaries worth storing by
// province. A year the estimator cannot score (say every province observed 0
// for a leaf whose target the year's largest value stands in for) has none:
// a vendor's shipments must never be refused for the index's sake, and
// ScoreInputs lets the server report the estimator's error on demand.
func (s *scoreSource) summaries(year int, sc *scoring) (map[uint32]encodedSummary, error) {
	in, err := s.inputs(year)
	if err != nil {
		return nil, err
	}
	out := map[uint32]encodedSummary{}
	scores, err := estimator.ScoreYear(in, sc.m, sc.weights)
	var de *estimator.Error
	if errors.As(err, &de) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	for _, ps := range scores {
		sum := SummarizeScore(ps)
		if !sum.hasScore() {
			continue
		}
		v, err := encodeScoreValue(sum)
		if err != nil {
			return nil, fmt.Errorf("store: encode score %d/%d: %w", year, ps.Province, err)
		}
		out[ps.Province] = encodedSummary{sum, v}
	}
	return out, nil
}
