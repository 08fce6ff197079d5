package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// Chip references (schema version 3).
//
// Replacing a catalog chip's spec must re-derive every record that uses the
// chip. Version 2 kept one key per (chip, record) for that, which made a
// record cost 2.25 puts instead of 1 and, because those keys interleave
// every vendor's records under each chip, put them in the middle of large
// nodes: in a group of batches that was 40 % of ingest CPU (bbolt shifts a
// node's entries to insert). Version 3 keeps one count per (chip, vendor):
// a batch changes a handful of counts, and a chip replace scans only the
// records of the vendors whose count for the chip is not zero. Chip replaces
// are rare catalog corrections; shipments arrive all day.

// refCounts gathers one write's changes to chip reference counts, so that
// each count is read and written once per write.
type refCounts map[chipVendor]int64

// chipVendor is a chiprefs key before encoding; a struct key saves building
// a string per record on the ingest path.
type chipVendor struct{ chip, vendor string }

// add counts r's distinct catalog chips for vendor, sign +1 or -1.
func (rc refCounts) add(vendor string, r *estimator.Record, sign int64) {
	for i, c := range r.Components {
		if c.ChipID == "" || slices.ContainsFunc(r.Components[:i], func(d estimator.Component) bool { return d.ChipID == c.ChipID }) {
			continue
		}
		rc[chipVendor{c.ChipID, vendor}] += sign
	}
}

// apply adds the changes to the stored counts, in key order, deleting a
// count that reaches zero.
func (rc refCounts) apply(tx *bbolt.Tx) error {
	b := tx.Bucket(bucketChipRefs)
	type change struct {
		key []byte
		d   int64
	}
	changes := make([]change, 0, len(rc))
	for cv, d := range rc {
		if d != 0 {
			changes = append(changes, change{chipRefKey(cv.chip, cv.vendor), d})
		}
	}
	slices.SortFunc(changes, func(a, b change) int { return bytes.Compare(a.key, b.key) })
	for _, c := range changes {
		key, k, d := c.key, string(c.key), c.d
		var cur int64
		if v := b.Get(key); v != nil {
			if len(v) != 8 {
				return fmt.Errorf("store: chipref %q has %d bytes, want 8", k, len(v))
			}
			cur = int64(binary.BigEndian.Uint64(v))
		}
		next := cur + d
		var err error
		switch {
		case next < 0:
			return fmt.Errorf("store: chipref %q would count %d records", k, next)
		case next == 0:
			err = b.Delete(key)
		default:
			err = b.Put(key, binary.BigEndian.AppendUint64(nil, uint64(next)))
		}
		if err != nil {
			return fmt.Errorf("store: write chipref %q: %w", k, err)
		}
	}
	return nil
}

// vendorsUsing lists the vendors with records that refer to chipID.
func vendorsUsing(tx *bbolt.Tx, chipID string) ([]string, error) {
	prefix := append([]byte(chipID), 0)
	var vendors []string
	c := tx.Bucket(bucketChipRefs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		_, vendor, ok := splitChipRef(k)
		if !ok {
			return nil, fmt.Errorf("store: malformed chipref key %q", k)
		}
		vendors = append(vendors, vendor)
	}
	return vendors, nil
}

// recordsUsing returns the records of vendor that refer to chipID, as
// references with a copy of their stored values, collected before the
// caller writes so that no cursor is open across a change.
func recordsUsing(tx *bbolt.Tx, vendor, chipID string) ([]storedRecord, error) {
	vb := tx.Bucket(bucketRecords).Bucket([]byte(vendor))
	if vb == nil {
		return nil, fmt.Errorf("store: chipref %s/%s names a vendor without records", chipID, vendor)
	}
	var out []storedRecord
	err := vb.ForEach(func(k, v []byte) error {
		rec, _, err := decodeRecordValue(v)
		if err != nil {
			return fmt.Errorf("store: record %s/%s: %w", vendor, k, err)
		}
		if slices.Contains(rec.ChipIDs(), chipID) {
			out = append(out, storedRecord{vendor: vendor, id: string(k), value: bytes.Clone(v)})
		}
		return nil
	})
	return out, err
}

// storedRecord is a record's key and a copy of its value.
type storedRecord struct {
	vendor, id string
	value      []byte
}

// migrateChipRefs turns version 2's per-record chip references into version
// 3's counts, in the transaction that upgrades the schema.
func migrateChipRefs(tx *bbolt.Tx) error {
	counts := refCounts{}
	err := tx.Bucket(bucketChipRefs).ForEach(func(k, _ []byte) error {
		parts := bytes.SplitN(k, []byte{0}, 3)
		if len(parts) != 3 {
			return fmt.Errorf("store: malformed version 2 chipref key %q", k)
		}
		counts[chipVendor{string(parts[0]), string(parts[1])}]++
		return nil
	})
	if err != nil {
		return err
	}
	if err := tx.DeleteBucket(bucketChipRefs); err != nil {
		return fmt.Errorf("store: drop version 2 chiprefs: %w", err)
	}
	if _, err := tx.CreateBucket(bucketChipRefs); err != nil {
		return fmt.Errorf("store: create chiprefs: %w", err)
	}
	return counts.apply(tx)
}
