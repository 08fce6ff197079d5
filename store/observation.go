package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// ObservationResult says what PutObservations did.
type ObservationResult struct {
	Revision      uint64 // the new revision, or the current one if nothing changed
	Created       int    // observations that did not exist
	Replaced      int    // observations that existed with another value, unit or source
	Unchanged     int    // observations that existed with the same value, unit and source
	ScoresChanged int    // stored score summaries the batch changed
}

// ObservationOptions say how a batch treats what is stored.
type ObservationOptions struct {
	// Replace lets an observation overwrite a stored one with another
	// value, unit or source.
	Replace bool
	// Force, with Replace, skips the methodology's plausibility bounds.
	Force bool
}

// PutObservations is PutObservationsWith with only Replace set.
func (db *DB) PutObservations(actor string, obs []estimator.Observation, replace bool) (ObservationResult, error) {
	return db.PutObservationsWith(actor, obs, ObservationOptions{Replace: replace})
}

// PutObservationsWith stores a batch of statistics observations, keyed by
// (province, year, indicator), all or nothing, in one transaction, and
// recomputes the scores of the years whose index leaves it changed.
//
// The observations must have passed estimator.Observation.Validate. Errors
// name fields as "observations[i]....":
//   - EInvalid: a key repeated in the batch; a value the current
//     methodology's plausibility bounds refuse (unless Replace and Force),
//     named "observations[i].value";
//   - EAlreadyExists: observations stored with another value, unit or source
//     while replace is false.
//
// actor is recorded as provenance and is not compared: a resend of the same
// values by anyone changes nothing and keeps the revision. Otherwise the
// batch gets one new revision and one change-log entry.
func (db *DB) PutObservationsWith(actor string, obs []estimator.Observation, opts ObservationOptions) (ObservationResult, error) {
	var res ObservationResult
	err := db.update(func(tx *bbolt.Tx) (bool, error) {
		rev, err := readRevision(tx)
		if err != nil {
			return false, err
		}
		res = ObservationResult{Revision: rev}
		var bounds *estimator.Plausibility
		if !(opts.Replace && opts.Force) {
			sc, err := db.scoringIn(tx)
			if err != nil {
				return false, err
			}
			bounds = &sc.m.Plausibility
		}
		writes, err := planObservations(tx, actor, obs, opts.Replace, bounds, &res)
		if err != nil || len(writes) == 0 {
			return false, err
		}
		var im impact
		for _, w := range writes {
			if err := w.apply(tx); err != nil {
				return false, err
			}
			if w.index {
				im.addYear(w.year)
			}
		}
		scores, err := db.rescore(tx, im, nil)
		if err != nil {
			return false, err
		}
		res.ScoresChanged = len(scores)
		res.Revision, err = db.commitChange(tx, Change{Kind: ChangeObservations, Actor: actor, Scores: scores})
		return true, err
	})
	if err != nil {
		return ObservationResult{}, err
	}
	return res, nil
}

// obsWrite is one observation a batch will store.
type obsWrite struct {
	key, value []byte
	year       int
	created    bool // no observation had the key
	index      bool // the indicator is an index leaf
}

// apply stores the observation and counts a new index-leaf one in obsyears.
func (w obsWrite) apply(tx *bbolt.Tx) error {
	if err := tx.Bucket(bucketObs).Put(w.key, w.value); err != nil {
		return fmt.Errorf("store: write observation %x: %w", w.key, err)
	}
	if !w.created || !w.index {
		return nil
	}
	b := tx.Bucket(bucketObsYears)
	k := yearKey(w.year)
	var n uint32
	if v := b.Get(k); len(v) == 4 {
		n = binary.BigEndian.Uint32(v)
	}
	if err := b.Put(k, binary.BigEndian.AppendUint32(nil, n+1)); err != nil {
		return fmt.Errorf("store: write obsyears %d: %w", w.year, err)
	}
	return nil
}

// planObservations compares the batch with what is stored, without writing,
// and returns what to write, or the batch's one error listing every
// violation.
//
// bounds, unless nil, are checked against every value that would be
// written (not against resends of stored values).
func planObservations(tx *bbolt.Tx, actor string, obs []estimator.Observation, replace bool, bounds *estimator.Plausibility, res *ObservationResult) ([]obsWrite, error) {
	b := tx.Bucket(bucketObs)
	var largest map[string]float64
	if bounds != nil {
		var err error
		if largest, err = largestObservations(tx); err != nil {
			return nil, err
		}
	}
	seen := make(map[string]int, len(obs))
	var writes []obsWrite
	var invalid, conflict []estimator.FieldViolation
	for i := range obs {
		o := &obs[i]
		f := fmt.Sprintf("observations[%d].", i)
		if !yearFits(o.Year) {
			invalid = append(invalid, estimator.FieldViolation{Field: f + "year", Description: "year does not fit the store's encoding"})
			continue
		}
		key := obsKey(o.Year, o.Province, o.Indicator)
		if j, dup := seen[string(key)]; dup {
			invalid = append(invalid, estimator.FieldViolation{Field: f + "indicator",
				Description: fmt.Sprintf("%s of province %d in %d is also observations[%d]", o.Indicator, o.Province, o.Year, j)})
			continue
		}
		seen[string(key)] = i
		w := obsWrite{key: key, year: o.Year, index: o.InIndex(), created: true}
		if old := b.Get(key); old != nil {
			prev, err := decodeObservationValue(old)
			if err != nil {
				return nil, fmt.Errorf("store: observation %x: %w", key, err)
			}
			if prev.Value == o.Value && prev.Unit == o.Unit && prev.Source == o.Source {
				res.Unchanged++
				continue
			}
			if !replace {
				conflict = append(conflict, estimator.FieldViolation{Field: f + "value",
					Description: fmt.Sprintf("%s of province %d in %d exists as %g %s; set replace", o.Indicator, o.Province, o.Year, prev.Value, prev.Unit)})
				continue
			}
			w.created = false
		}
		if bounds != nil {
			top, has := largest[o.Indicator]
			if why := bounds.Check(o.Indicator, o.Value, top, has); why != "" {
				invalid = append(invalid, estimator.FieldViolation{Field: f + "value", Description: why})
				continue
			}
		}
		var err error
		if w.value, err = encodeObservationValue(o, actor); err != nil {
			return nil, estimator.Invalid("observation cannot be stored", []estimator.FieldViolation{{Field: f + "source", Description: err.Error()}})
		}
		writes = append(writes, w)
	}
	if err := estimator.Invalid("batch rejected: invalid or implausible observations", invalid); err != nil {
		return nil, err
	}
	if len(conflict) > 0 {
		return nil, &estimator.Error{
			Code:       estimator.EAlreadyExists,
			Message:    fmt.Sprintf("batch rejected: %d observations exist with different values; set replace to overwrite them", len(conflict)),
			Violations: conflict,
		}
	}
	for _, w := range writes {
		if w.created {
			res.Created++
		} else {
			res.Replaced++
		}
	}
	return writes, nil
}

// largestObservations is the largest stored value of every indicator, for
// the plausibility bounds. It reads every observation: batches of statistics
// are small and rare, and the bucket holds a few thousand entries (31
// provinces × 16 indicators × the years).
func largestObservations(tx *bbolt.Tx) (map[string]float64, error) {
	out := map[string]float64{}
	err := tx.Bucket(bucketObs).ForEach(func(k, v []byte) error {
		_, _, code, ok := splitYearProvince(k)
		if !ok {
			return fmt.Errorf("store: malformed observation key %x", k)
		}
		value, err := observationValueOnly(v)
		if err != nil {
			return fmt.Errorf("store: observation %x: %w", k, err)
		}
		if top, seen := out[string(code)]; !seen || value > top {
			out[string(code)] = value
		}
		return nil
	})
	return out, err
}

// obsVersion is the first byte of every observation value (layout.go).
const obsVersion = 1

// obsValue is what an observation value holds besides its key.
type obsValue struct {
	Value               float64
	Unit, Source, Actor string
}

func encodeObservationValue(o *estimator.Observation, actor string) ([]byte, error) {
	e := &encoder{buf: make([]byte, 0, 1+8+12+len(o.Unit)+len(o.Source)+len(actor))}
	e.u8(obsVersion)
	e.f64(o.Value)
	e.str(o.Unit)
	e.str(o.Source)
	e.str(actor)
	return e.buf, e.err
}

func decodeObservationValue(v []byte) (obsValue, error) {
	d := &decoder{b: v}
	if ver := d.u8(); d.err == nil && ver != obsVersion {
		return obsValue{}, fmt.Errorf("store: observation value has unknown version %d", ver)
	}
	o := obsValue{Value: d.f64(), Unit: d.str(), Source: d.str(), Actor: d.str()}
	return o, d.done()
}

// observationValueOnly reads just the value of an observation value, which
// precedes its strings.
func observationValueOnly(v []byte) (float64, error) {
	d := &decoder{b: v}
	if ver := d.u8(); d.err == nil && ver != obsVersion {
		return 0, fmt.Errorf("store: observation value has unknown version %d", ver)
	}
	value := d.f64()
	return value, d.err
}

// Observations returns every observation of one year, index leaves and the
// relationship analysis's alike, in province and indicator order, with the
// revision they are consistent with.
func (db *DB) Observations(year int) ([]estimator.Observation, uint64, error) {
	var (
		out []estimator.Observation
		rev uint64
	)
	err := db.read(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readRevision(tx); err != nil || !yearFits(year) {
			return err
		}
		prefix := yearKey(year)
		c := tx.Bucket(bucketObs).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			_, province, code, ok := splitYearProvince(k)
			if !ok {
				return fmt.Errorf("store: malformed observation key %x", k)
			}
			o, err := decodeObservationValue(v)
			if err != nil {
				return fmt.Errorf("store: observation %d/%d/%s: %w", year, province, code, err)
			}
			out = append(out, estimator.Observation{Province: province, Year: year, Indicator: string(code),
				Value: o.Value, Unit: o.Unit, Source: o.Source, Actor: o.Actor})
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, rev, nil
}

// IndexYears returns, in order, the years that have at least one observation
// of an index leaf: the years that are scored. It reads the small obsyears
// bucket, not the observations.
func (db *DB) IndexYears() ([]int, error) {
	var years []int
	err := db.read(func(tx *bbolt.Tx) error {
		var err error
		years, err = indexYears(tx)
		return err
	})
	return years, err
}

func indexYears(tx *bbolt.Tx) ([]int, error) {
	var years []int
	err := tx.Bucket(bucketObsYears).ForEach(func(k, v []byte) error {
		if len(k) != 2 || len(v) != 4 {
			return fmt.Errorf("store: malformed obsyears entry %x=%x", k, v)
		}
		if binary.BigEndian.Uint32(v) > 0 {
			years = append(years, int(binary.BigEndian.Uint16(k)))
		}
		return nil
	})
	return years, err
}
