package store

import (
	"fmt"
	"strconv"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// RetractResult says what Retract did.
type RetractResult struct {
	Revision  uint64   // the new revision, or the current one if nothing was retracted
	Retracted int      // records removed
	Missing   []string // ids that the vendor has no record for (allowMissing only)
	// ScoresChanged is how many stored score summaries the retraction changed.
	ScoresChanged int
}

// Retract removes some of a vendor's records and subtracts exactly the
// contributions each one added, all or nothing. Records are keyed by vendor,
// so one vendor can never retract another's. Ids the vendor has no record for
// are an ENotFound error naming them, unless allowMissing, when they are
// listed in Missing. A repeated id is retracted once.
func (db *DB) Retract(vendor string, ids []string, allowMissing bool) (RetractResult, error) {
	if err := checkVendor(vendor); err != nil {
		return RetractResult{}, err
	}
	var res RetractResult
	err := db.update(func(tx *bbolt.Tx) (bool, error) {
		res = RetractResult{}
		var err error
		if res.Revision, err = readRevision(tx); err != nil {
			return false, err
		}
		found, deltas, refs, err := collectRetractions(tx, vendor, ids, &res)
		if err != nil {
			return false, err
		}
		if len(res.Missing) > 0 && !allowMissing {
			return false, notFound(vendor, ids, res.Missing)
		}
		if len(found) == 0 {
			return false, nil
		}
		vb := tx.Bucket(bucketRecords).Bucket([]byte(vendor))
		for _, id := range found {
			if err := vb.Delete([]byte(id)); err != nil {
				return false, fmt.Errorf("store: delete record %s/%s: %w", vendor, id, err)
			}
		}
		if err := refs.apply(tx); err != nil {
			return false, err
		}
		cells, err := applyDeltas(tx, deltas)
		if err != nil {
			return false, err
		}
		res.Retracted = len(found)
		return true, db.commitCells(tx, ChangeRetract, vendor, cells, &res.Revision, &res.ScoresChanged)
	})
	if err != nil {
		return RetractResult{}, err
	}
	return res, nil
}

// collectRetractions looks every id up and sums what the found records
// contributed to cells and chip references (to be subtracted). It writes
// nothing: the caller does, once every id has been looked up.
func collectRetractions(tx *bbolt.Tx, vendor string, ids []string, res *RetractResult) ([]string, cellDeltas, refCounts, error) {
	vb := tx.Bucket(bucketRecords).Bucket([]byte(vendor))
	refs := refCounts{}
	deltas := cellDeltas{}
	seen := make(map[string]bool, len(ids))
	var found []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var v []byte
		if vb != nil && id != "" {
			v = vb.Get([]byte(id))
		}
		if v == nil {
			res.Missing = append(res.Missing, id)
			continue
		}
		rec, cs, err := decodeRecordValue(v)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("store: record %s/%s: %w", vendor, id, err)
		}
		if err := deltas.add(rec.Province, cs, -1); err != nil {
			return nil, nil, nil, err
		}
		refs.add(vendor, &rec, -1)
		found = append(found, id)
	}
	return found, deltas, refs, nil
}

// notFound names the missing ids: the first few in the message, all of them
// as violations.
func notFound(vendor string, ids, missing []string) error {
	const shown = 5
	index := make(map[string]int, len(ids))
	for i := len(ids) - 1; i >= 0; i-- {
		index[ids[i]] = i
	}
	quoted := make([]string, 0, shown)
	vs := make([]estimator.FieldViolation, len(missing))
	for i, id := range missing {
		if i < shown {
			quoted = append(quoted, strconv.Quote(id))
		}
		vs[i] = estimator.FieldViolation{Field: fmt.Sprintf("ids[%d]", index[id]), Description: fmt.Sprintf("no record %q", id)}
	}
	more := ""
	if len(missing) > shown {
		more = fmt.Sprintf(" and %d more", len(missing)-shown)
	}
	return &estimator.Error{
		Code: estimator.ENotFound,
		Message: fmt.Sprintf("%d of %d records not found for vendor %q: %s%s; nothing was retracted",
			len(missing), len(ids), vendor, strings.Join(quoted, ", "), more),
		Violations: vs,
	}
}

// Record returns a vendor's stored record, or ENotFound. It is for tools and
// tests: queries read cells.
func (db *DB) Record(vendor, id string) (estimator.Record, error) {
	if err := checkVendor(vendor); err != nil {
		return estimator.Record{}, err
	}
	var rec estimator.Record
	err := db.read(func(tx *bbolt.Tx) error {
		var v []byte
		if vb := tx.Bucket(bucketRecords).Bucket([]byte(vendor)); vb != nil && id != "" {
			v = vb.Get([]byte(id))
		}
		if v == nil {
			return estimator.Errorf(estimator.ENotFound, "vendor %q has no record %q", vendor, id)
		}
		var err error
		rec, _, err = decodeRecordValue(v)
		return err
	})
	return rec, err
}
