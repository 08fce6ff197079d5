package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// VerifyReport is what Verify found. A consistent store has no Mismatches
// and no CheckErrors.
type VerifyReport struct {
	Records      int      // records read
	Cells        int      // cells stored
	Observations int      // observations read
	Scores       int      // score summaries stored
	Mismatches   []string // one line per inconsistency, naming its key
	CheckErrors  []string // bbolt's own page-level consistency check
}

// Verify rebuilds every cell twice, from the contributions the records stored
// and from re-deriving each record against the current catalog, and compares
// both exactly with the stored cells. It also checks the chip references,
// the per-year counts of observations, every stored score summary against a
// recompute of every index year with the current methodology (reported as
// "score year/province: ..."), and the change log's last revision.
//
// bbolt's page check runs first: a damaged page fails Verify with EDataLoss
// naming the page (CheckErrors holds every finding), and the logical checks,
// which would read through the damaged page, do not run. Should a page be
// damaged in a way the page check misses, bbolt panics while reading it:
// that too becomes EDataLoss, never a crash. The records, cells and scores
// are read in one read transaction, which does not block writers; the page
// check runs under the write lock.
func (db *DB) Verify() (VerifyReport, error) {
	var rep VerifyReport
	problems, err := db.checkPages()
	if err != nil {
		return rep, err
	}
	if len(problems) > 0 {
		rep.CheckErrors = problems
		return rep, damaged(problems)
	}
	err = readDamaged(func() error {
		return db.read(func(tx *bbolt.Tx) error {
			rep = VerifyReport{}
			v := &verifier{tx: tx, rep: &rep, chips: newChipCache(tx),
				stored: cellDeltas{}, derived: cellDeltas{}, refs: map[string]uint64{}}
			if err := v.records(); err != nil {
				return err
			}
			v.chipRefs()
			if err := v.cells(); err != nil {
				return err
			}
			years, err := v.observations()
			if err != nil {
				return err
			}
			if err := v.scores(years); err != nil {
				return err
			}
			v.revision()
			return nil
		})
	})
	return rep, err
}

// CheckPages runs bbolt's page-level consistency check over the whole file
// (serve --check-on-start) and fails with EDataLoss naming the damaged pages.
// It reads every page once, under the write lock: writes wait for it.
func (db *DB) CheckPages() error {
	problems, err := db.checkPages()
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return damaged(problems)
	}
	return nil
}

// checkPages returns bbolt's page-check findings. The check reads the
// freelist, which is shared and not versioned: in a read transaction it can
// report pages that a concurrent writer freed as "reachable freed". It
// therefore runs in a write transaction that is rolled back. bbolt's check
// recovers from the panics a damaged page causes and reports them.
func (db *DB) checkPages() ([]string, error) {
	var problems []string
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			problems = append(problems, err.Error())
		}
		return errNothingToCommit
	})
	if errors.Is(err, errNothingToCommit) {
		err = nil
	}
	return problems, err
}

// damaged is the EDataLoss error for a file whose page check failed. Like
// every message a caller sees, it leaves the file's path out.
func damaged(problems []string) error {
	msg := "the database file is damaged: " + problems[0]
	if len(problems) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(problems)-1)
	}
	return &estimator.Error{Code: estimator.EDataLoss, Message: msg + "; restore it from a backup"}
}

// readDamaged runs read and turns a panic inside bbolt (its reaction to a
// page it cannot interpret) into EDataLoss. bbolt's View rolls its
// transaction back as the panic passes.
func readDamaged(read func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &estimator.Error{Code: estimator.EDataLoss,
				Message: fmt.Sprintf("the database file is damaged: %v; restore it from a backup", r)}
		}
	}()
	return read()
}

// verifier holds Verify's running sums. Problems it finds become report lines,
// not errors: an error means the check itself could not run.
type verifier struct {
	tx      *bbolt.Tx
	rep     *VerifyReport
	chips   *chipCache
	stored  cellDeltas        // cells as the stored contributions add up
	derived cellDeltas        // cells as re-derived contributions add up
	refs    map[string]uint64 // chipref counts the records imply
}

func (v *verifier) mismatch(format string, args ...any) {
	v.rep.Mismatches = append(v.rep.Mismatches, fmt.Sprintf(format, args...))
}

func (v *verifier) records() error {
	return v.tx.Bucket(bucketRecords).ForEachBucket(func(vendor []byte) error {
		return v.tx.Bucket(bucketRecords).Bucket(vendor).ForEach(func(id, val []byte) error {
			v.rep.Records++
			v.record(string(vendor), string(id), val)
			return nil
		})
	})
}

func (v *verifier) record(vendor, id string, val []byte) {
	name := vendor + "/" + id
	rec, stored, err := decodeRecordValue(val)
	if err != nil {
		v.mismatch("record %s: undecodable: %v", name, err)
		return
	}
	if rec.ID != id {
		v.mismatch("record %s: stored under another id than its own %q", name, rec.ID)
	}
	for _, chipID := range rec.ChipIDs() {
		v.refs[string(chipRefKey(chipID, vendor))]++
	}
	if err := v.stored.add(rec.Province, stored, +1); err != nil {
		v.mismatch("record %s: stored contributions overflow: %v", name, err)
	}
	derived, err := v.chips.derive(&rec)
	if err != nil {
		v.mismatch("record %s: cannot re-derive: %v", name, err)
		return
	}
	if !slices.Equal(stored, derived) {
		v.mismatch("record %s: stored contributions %v differ from re-derived %v", name, stored, derived)
	}
	if err := v.derived.add(rec.Province, derived, +1); err != nil {
		v.mismatch("record %s: re-derived contributions overflow: %v", name, err)
	}
}

// chipRefs compares the chiprefs counts with the references records imply.
func (v *verifier) chipRefs() {
	_ = v.tx.Bucket(bucketChipRefs).ForEach(func(k, val []byte) error {
		chip, vendor, _ := splitChipRef(k)
		if len(val) != 8 {
			v.mismatch("chipref %s/%s: value of %d bytes, want 8", chip, vendor, len(val))
		} else if got, want := binary.BigEndian.Uint64(val), v.refs[string(k)]; got != want {
			v.mismatch("chipref %s/%s: counts %d records, the records say %d", chip, vendor, got, want)
		}
		delete(v.refs, string(k))
		return nil
	})
	for _, k := range slices.Sorted(maps.Keys(v.refs)) {
		chip, vendor, _ := splitChipRef([]byte(k))
		v.mismatch("chipref %s/%s: missing, the records say %d", chip, vendor, v.refs[k])
	}
}

// cells compares each stored cell with both rebuilt sums, over the union of
// their keys, so that a missing, extra or zero cell is reported too.
func (v *verifier) cells() error {
	all := cellDeltas{}
	err := v.tx.Bucket(bucketCells).ForEach(func(k, val []byte) error {
		v.rep.Cells++
		if len(k) != cellKeyLen {
			v.mismatch("cell key %x: %d bytes, want %d", k, len(k), cellKeyLen)
			return nil
		}
		a, err := decodeAmount(val)
		if err != nil {
			v.mismatch("cell %s: %v", cellKey(k), err)
			return nil
		}
		if a.IsZero() {
			v.mismatch("cell %s: stored as zero instead of deleted", cellKey(k))
		}
		all[cellKey(k)] = a
		return nil
	})
	if err != nil {
		return err
	}
	keys := cellDeltas{}
	for _, d := range []cellDeltas{all, v.stored, v.derived} {
		for k := range d {
			keys[k] = estimator.Amount{}
		}
	}
	for _, k := range keys.sortedKeys() {
		got, fromStored, fromDerived := all[k], v.stored[k], v.derived[k]
		if got != fromStored || got != fromDerived {
			v.mismatch("cell %s: stored %+v, from stored contributions %+v, re-derived %+v",
				k, got, fromStored, fromDerived)
		}
	}
	return nil
}

// revision checks that the last change-log entry is the meta revision.
func (v *verifier) revision() {
	rev, err := readRevision(v.tx)
	if err != nil {
		v.mismatch("meta revision: %v", err)
		return
	}
	var last uint64
	if k, _ := v.tx.Bucket(bucketChanges).Cursor().Last(); len(k) == 8 {
		last = binary.BigEndian.Uint64(k)
	}
	if last != rev {
		v.mismatch("meta revision %d, but the change log ends at %d", rev, last)
	}
}
