package store

import (
	"bytes"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// cellDeltas gathers one write's changes to cells in memory, so that each
// touched cell is read and written once however many records touch it.
type cellDeltas map[cellKey]estimator.Amount

// add adds (sign +1) or subtracts (sign -1) a record's contributions.
func (d cellDeltas) add(province uint32, cs []estimator.Contribution, sign int) error {
	for _, c := range cs {
		k := makeCellKey(province, c.Series, c.Period)
		var err error
		if sign < 0 {
			d[k], err = d[k].Sub(c.Amount)
		} else {
			d[k], err = d[k].Add(c.Amount)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys in byte order, so that writes and the change
// log come out in one deterministic order.
func (d cellDeltas) sortedKeys() []cellKey {
	keys := make([]cellKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b cellKey) int { return bytes.Compare(a[:], b[:]) })
	return keys
}

// applyDeltas adds every delta to its stored cell, deletes cells that become
// zero, and returns the changed cells with their new amounts. A delta of zero
// (a replace that moved nothing) changes no cell and is not reported.
func applyDeltas(tx *bbolt.Tx, d cellDeltas) ([]estimator.Cell, error) {
	cells, err := planCells(tx, d, nil)
	if err != nil {
		return nil, err
	}
	return writeCells(tx, cells)
}

// planCells reads the cells the deltas move and returns their new amounts,
// in key order, writing nothing: an overflow (EResourceExhausted) is found
// before any of a batch's writes, so a batch of a group can be refused alone.
// pending holds amounts planned but not yet written (a group's earlier
// batches'); it is read before the bucket, and nil means none.
func planCells(tx *bbolt.Tx, d cellDeltas, pending cellDeltas) ([]estimator.Cell, error) {
	b := tx.Bucket(bucketCells)
	var out []estimator.Cell
	for _, k := range d.sortedKeys() {
		delta := d[k]
		if delta.IsZero() {
			continue
		}
		cur, ok := pending[k]
		if !ok {
			if v := b.Get(k[:]); v != nil {
				var err error
				if cur, err = decodeAmount(v); err != nil {
					return nil, fmt.Errorf("store: cell %s: %w", k, err)
				}
			}
		}
		next, err := cur.Add(delta)
		if err != nil {
			return nil, estimator.Errorf(estimator.EResourceExhausted, "cell %s would overflow 64 bits", k)
		}
		out = append(out, k.cell(next))
	}
	return out, nil
}

// writeCells stores planned cells, deleting those that became zero, and
// returns them as the change log reports them.
func writeCells(tx *bbolt.Tx, cells []estimator.Cell) ([]estimator.Cell, error) {
	b := tx.Bucket(bucketCells)
	for _, c := range cells {
		k := makeCellKey(c.Province, c.Series, c.Period)
		key := append([]byte(nil), k[:]...)
		var err error
		if c.Amount.IsZero() {
			err = b.Delete(key)
		} else {
			err = b.Put(key, encodeAmount(c.Amount))
		}
		if err != nil {
			return nil, fmt.Errorf("store: write cell %s: %w", k, err)
		}
	}
	return cells, nil
}

// ProvinceCells returns every stored cell of one province, in series and
// period order, with the revision they are consistent with. It reads one
// prefix range of the cells bucket and never touches records.
func (db *DB) ProvinceCells(province uint32) ([]estimator.Cell, uint64, error) {
	return db.scanCells(provincePrefix(province))
}

// AllCells returns every stored cell, in province, series and period order,
// with the revision they are consistent with.
func (db *DB) AllCells() ([]estimator.Cell, uint64, error) {
	return db.scanCells(nil)
}

func (db *DB) scanCells(prefix []byte) ([]estimator.Cell, uint64, error) {
	cells, _, rev, err := db.scanCellsWithFactors(prefix)
	return cells, rev, err
}

// CellsWithFactors returns one province's cells (all cells for province 0)
// with the FP32-equivalent factors of the methodology that is current at the
// same revision, all from one read transaction, so that totals computed from
// them (and cached under that revision) never mix a new methodology's
// revision with the old one's factors.
func (db *DB) CellsWithFactors(province uint32) ([]estimator.Cell, estimator.Factors, uint64, error) {
	var prefix []byte
	if province != 0 {
		prefix = provincePrefix(province)
	}
	return db.scanCellsWithFactors(prefix)
}

func (db *DB) scanCellsWithFactors(prefix []byte) ([]estimator.Cell, estimator.Factors, uint64, error) {
	var (
		cells []estimator.Cell
		f     estimator.Factors
		rev   uint64
	)
	err := db.read(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readRevision(tx); err != nil {
			return err
		}
		s, err := db.scoringIn(tx)
		if err != nil {
			return err
		}
		f = s.m.Factors
		cells, err = readCells(tx, prefix)
		return err
	})
	if err != nil {
		return nil, f, 0, err
	}
	return cells, f, rev, nil
}

// readCells decodes the cells whose keys start with prefix (all for nil).
func readCells(tx *bbolt.Tx, prefix []byte) ([]estimator.Cell, error) {
	var cells []estimator.Cell
	c := tx.Bucket(bucketCells).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if len(k) != cellKeyLen {
			return nil, fmt.Errorf("store: cell key %x has %d bytes, want %d", k, len(k), cellKeyLen)
		}
		a, err := decodeAmount(v)
		if err != nil {
			return nil, fmt.Errorf("store: cell %x: %w", k, err)
		}
		cells = append(cells, cellKey(k).cell(a))
	}
	return cells, nil
}
