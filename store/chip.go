package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// PutChipResult says what PutChip did.
type PutChipResult struct {
	Replaced  bool   // a spec with this id existed and differed
	Rederived int    // records whose contributions were re-derived
	Revision  uint64 // the new revision, or the current one if Unchanged
	Unchanged bool   // the stored spec was identical; nothing was written
	// ScoresChanged is how many stored score summaries re-derivation changed.
	ScoresChanged int
}

// chipDoc is the stored JSON form of a catalog spec. Kinds and precisions are
// plain numbers, so that a String or MarshalText method added to the estimator
// types later cannot change what is stored.
type chipDoc struct {
	ID      string    `json:"id"`
	Vendor  string    `json:"vendor,omitempty"`
	Model   string    `json:"model,omitempty"`
	Kind    uint8     `json:"kind"`
	Cores   uint32    `json:"cores,omitempty"`
	ClockHz uint64    `json:"clock_hz,omitempty"`
	Rates   []rateDoc `json:"rates"`
	Source  string    `json:"source,omitempty"`
}

type rateDoc struct {
	Precision     uint8   `json:"precision"`
	FlopsPerCycle float64 `json:"flops_per_cycle,omitempty"`
	PeakFLOPS     float64 `json:"peak_flops,omitempty"`
}

func encodeChip(s estimator.ChipSpec) ([]byte, error) {
	d := chipDoc{ID: s.ID, Vendor: s.Vendor, Model: s.Model, Kind: uint8(s.Kind),
		Cores: s.Cores, ClockHz: s.ClockHz, Source: s.Source}
	for _, r := range s.Rates {
		d.Rates = append(d.Rates, rateDoc{uint8(r.Precision), r.FlopsPerCycle, r.PeakFLOPS})
	}
	return json.Marshal(d)
}

func decodeChip(v []byte) (estimator.ChipSpec, error) {
	var d chipDoc
	if err := json.Unmarshal(v, &d); err != nil {
		return estimator.ChipSpec{}, fmt.Errorf("store: decode chip: %w", err)
	}
	s := estimator.ChipSpec{ID: d.ID, Vendor: d.Vendor, Model: d.Model, Kind: estimator.ChipKind(d.Kind),
		Cores: d.Cores, ClockHz: d.ClockHz, Source: d.Source}
	for _, r := range d.Rates {
		s.Rates = append(s.Rates, estimator.Rate{Precision: estimator.Precision(r.Precision),
			FlopsPerCycle: r.FlopsPerCycle, PeakFLOPS: r.PeakFLOPS})
	}
	return s, nil
}

// sameSpec compares specs field by field; Rate is comparable, so slices.Equal
// covers the rates without reflect.
func sameSpec(a, b estimator.ChipSpec) bool {
	return a.ID == b.ID && a.Vendor == b.Vendor && a.Model == b.Model && a.Kind == b.Kind &&
		a.Cores == b.Cores && a.ClockHz == b.ClockHz && a.Source == b.Source && slices.Equal(a.Rates, b.Rates)
}

// PutChip adds a catalog spec or replaces the one with the same id. Replacing
// re-derives, in the same transaction and revision, every stored record that
// refers to the chip, so that cells always agree with the current catalog,
// and recomputes the scores the moved cells count in. If
// any such record can no longer be derived (say the new spec drops the
// precision it needs), nothing is written and the error is
// EFailedPrecondition naming the first such record. An invalid spec is
// EInvalid; an identical one is Unchanged and keeps the revision.
func (db *DB) PutChip(spec estimator.ChipSpec) (PutChipResult, error) {
	if err := estimator.Invalid("invalid chip spec", spec.Validate("", true)); err != nil {
		return PutChipResult{}, err
	}
	val, err := encodeChip(spec)
	if err != nil {
		return PutChipResult{}, fmt.Errorf("store: encode chip %q: %w", spec.ID, err)
	}
	var res PutChipResult
	err = db.update(func(tx *bbolt.Tx) (bool, error) {
		res = PutChipResult{}
		var err error
		if res.Revision, err = readRevision(tx); err != nil {
			return false, err
		}
		chips := tx.Bucket(bucketChips)
		if old := chips.Get([]byte(spec.ID)); old != nil {
			prev, err := decodeChip(old)
			if err != nil {
				return false, err
			}
			if sameSpec(prev, spec) {
				res.Unchanged = true
				return false, nil
			}
			res.Replaced = true
		}
		if err := chips.Put([]byte(spec.ID), val); err != nil {
			return false, fmt.Errorf("store: write chip %q: %w", spec.ID, err)
		}
		if err := bumpCatalogEpoch(tx); err != nil {
			return false, fmt.Errorf("store: catalog epoch: %w", err)
		}
		var cells []estimator.Cell
		if res.Replaced {
			if res.Rederived, cells, err = rederive(tx, spec.ID); err != nil {
				return false, err
			}
		}
		return true, db.commitCells(tx, ChangeChip, spec.ID, cells, &res.Revision, &res.ScoresChanged)
	})
	if err != nil {
		return PutChipResult{}, err
	}
	return res, nil
}

// rederive recomputes the contributions of every record that refers to
// chipID, whose new spec is already in tx, and moves the cells by the
// difference. It returns how many records it rewrote and the changed cells.
// It reads every record of the vendors that use the chip (chipref.go).
func rederive(tx *bbolt.Tx, chipID string) (int, []estimator.Cell, error) {
	vendors, err := vendorsUsing(tx, chipID)
	if err != nil {
		return 0, nil, err
	}
	var refs []storedRecord
	for _, vendor := range vendors {
		rs, err := recordsUsing(tx, vendor, chipID)
		if err != nil {
			return 0, nil, err
		}
		refs = append(refs, rs...)
	}
	chips := newChipCache(tx)
	deltas := cellDeltas{}
	records := tx.Bucket(bucketRecords)
	for _, ref := range refs {
		vb := records.Bucket([]byte(ref.vendor))
		rec, old, err := decodeRecordValue(ref.value)
		if err != nil {
			return 0, nil, fmt.Errorf("store: record %s/%s: %w", ref.vendor, ref.id, err)
		}
		cs, err := chips.derive(&rec)
		var de *estimator.Error
		if errors.As(err, &de) && de.Code != estimator.EInternal {
			return 0, nil, estimator.Errorf(estimator.EFailedPrecondition,
				"chip %q cannot be replaced: record %s/%s would no longer derive: %v", chipID, ref.vendor, ref.id, err)
		} else if err != nil {
			return 0, nil, err
		}
		if err := deltas.add(rec.Province, old, -1); err != nil {
			return 0, nil, err
		}
		if err := deltas.add(rec.Province, cs, +1); err != nil {
			return 0, nil, err
		}
		content, _, _ := splitRecordValue(ref.value) // decodeRecordValue checked the framing
		nv, err := encodeRecordValue(content, cs)
		if err == nil {
			err = vb.Put([]byte(ref.id), nv)
		}
		if err != nil {
			return 0, nil, fmt.Errorf("store: rewrite record %s/%s: %w", ref.vendor, ref.id, err)
		}
	}
	cells, err := applyDeltas(tx, deltas)
	return len(refs), cells, err
}

// Chip returns the catalog spec with the given id, or ENotFound.
func (db *DB) Chip(id string) (estimator.ChipSpec, error) {
	var spec estimator.ChipSpec
	err := db.read(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketChips).Get([]byte(id))
		if v == nil {
			return estimator.Errorf(estimator.ENotFound, "chip %q not found", id)
		}
		var err error
		spec, err = decodeChip(v)
		return err
	})
	return spec, err
}

// ListChips returns catalog specs in id order, starting after the id after
// ("" for the start), keeping only those keep accepts (nil keeps all), and at
// most limit of them (0 or less: all). keep runs inside a read transaction
// and must not call back into db.
func (db *DB) ListChips(after string, limit int, keep func(estimator.ChipSpec) bool) ([]estimator.ChipSpec, error) {
	var out []estimator.ChipSpec
	err := db.read(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketChips).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && after != "" && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && (limit <= 0 || len(out) < limit); k, v = c.Next() {
			spec, err := decodeChip(v)
			if err != nil {
				return fmt.Errorf("store: chip %q: %w", k, err)
			}
			if keep == nil || keep(spec) {
				out = append(out, spec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chipCache resolves catalog ids for one transaction, decoding each spec at
// most once however many records of a batch refer to it.
type chipCache struct {
	bucket *bbolt.Bucket
	specs  map[string]*estimator.ChipSpec // nil value: not in the catalog
	err    error                          // first decoding failure
}

func newChipCache(tx *bbolt.Tx) *chipCache {
	return &chipCache{bucket: tx.Bucket(bucketChips), specs: map[string]*estimator.ChipSpec{}}
}

// resolve is an estimator.ChipResolver. It cannot return an error, so a
// stored spec that fails to decode is kept in c.err and reported by derive.
func (c *chipCache) resolve(id string) (estimator.ChipSpec, bool) {
	s, seen := c.specs[id]
	if !seen {
		if v := c.bucket.Get([]byte(id)); v != nil {
			spec, err := decodeChip(v)
			if err != nil && c.err == nil {
				c.err = fmt.Errorf("store: chip %q: %w", id, err)
			}
			s = &spec
		}
		c.specs[id] = s
	}
	if s == nil {
		return estimator.ChipSpec{}, false
	}
	return *s, true
}

// derive computes r's contributions against the catalog in the transaction.
func (c *chipCache) derive(r *estimator.Record) ([]estimator.Contribution, error) {
	cs, err := r.Contributions(c.resolve)
	if c.err != nil {
		return nil, c.err
	}
	return cs, err
}
