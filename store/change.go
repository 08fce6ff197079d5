package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// ChangeKind says what kind of write produced a revision.
type ChangeKind uint8

// The change kinds. Values are stored in the change log; never renumber.
const (
	ChangeIngest  ChangeKind = 1 // a vendor's batch of shipment records
	ChangeRetract ChangeKind = 2 // a vendor's retraction of records
	ChangeChip    ChangeKind = 3 // a catalog chip added or replaced
)

// String returns the kind's lower-case name.
func (k ChangeKind) String() string {
	switch k {
	case ChangeIngest:
		return "ingest"
	case ChangeRetract:
		return "retract"
	case ChangeChip:
		return "chip"
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change is one committed write, as the change log keeps it: enough for a
// watcher to update its copy of the cells without reading them again.
type Change struct {
	Revision uint64
	Time     time.Time
	Kind     ChangeKind
	Actor    string // the vendor for ingest and retract, the chip id for chip
	// Cells lists every cell the write changed with its new amount, in key
	// order; a zero Amount means the cell is now empty and was deleted.
	Cells []estimator.Cell
}

// changeVersion is the first byte of every change value (layout.go).
const changeVersion = 1

func encodeChange(c Change) ([]byte, error) {
	e := &encoder{buf: make([]byte, 0, 1+8+1+4+len(c.Actor)+4+len(c.Cells)*(cellKeyLen+amountLen))}
	e.u8(changeVersion)
	e.i64(c.Time.UnixNano())
	e.u8(uint8(c.Kind))
	e.str(c.Actor)
	e.u32(uint32(len(c.Cells)))
	for _, cell := range c.Cells {
		k := makeCellKey(cell.Province, cell.Series, cell.Period)
		e.buf = append(e.buf, k[:]...)
		e.buf = append(e.buf, encodeAmount(cell.Amount)...)
	}
	return e.buf, e.err
}

func decodeChange(rev uint64, v []byte) (Change, error) {
	d := &decoder{b: v}
	if ver := d.u8(); d.err == nil && ver != changeVersion {
		return Change{}, fmt.Errorf("store: change %d has unknown version %d", rev, ver)
	}
	c := Change{Revision: rev, Time: time.Unix(0, d.i64()).UTC(), Kind: ChangeKind(d.u8()), Actor: d.str()}
	n := d.u32()
	if d.err == nil && uint64(len(d.b)) != uint64(n)*(cellKeyLen+amountLen) {
		return Change{}, fmt.Errorf("store: change %d lists %d cells in %d bytes", rev, n, len(d.b))
	}
	if n > 0 {
		c.Cells = make([]estimator.Cell, n)
	}
	for i := range c.Cells {
		k := cellKey(d.take(cellKeyLen))
		a, err := decodeAmount(d.take(amountLen))
		if err != nil {
			return Change{}, fmt.Errorf("store: change %d: %w", rev, err)
		}
		c.Cells[i] = k.cell(a)
	}
	if err := d.done(); err != nil {
		return Change{}, fmt.Errorf("store: change %d: %w", rev, err)
	}
	return c, nil
}

// Changes returns the logged changes with revisions from from on, oldest
// first, at most limit of them (0 or less: all).
func (db *DB) Changes(from uint64, limit int) ([]Change, error) {
	var out []Change
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketChanges).Cursor()
		for k, v := c.Seek(revisionKey(from)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) == limit {
				break
			}
			if len(k) != 8 {
				return fmt.Errorf("store: change key %x is not a revision", k)
			}
			ch, err := decodeChange(binary.BigEndian.Uint64(k), v)
			if err != nil {
				return err
			}
			out = append(out, ch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// commitChange ends a write transaction's work: it takes the next revision and
// logs the change under it, so that every committed write has exactly one
// revision and one change-log entry.
func (db *DB) commitChange(tx *bbolt.Tx, kind ChangeKind, actor string, cells []estimator.Cell) (uint64, error) {
	rev, err := readRevision(tx)
	if err != nil {
		return 0, err
	}
	rev++
	if err := tx.Bucket(bucketMeta).Put(keyRevision, revisionKey(rev)); err != nil {
		return 0, fmt.Errorf("store: write revision: %w", err)
	}
	v, err := encodeChange(Change{Time: db.now(), Kind: kind, Actor: actor, Cells: cells})
	if err != nil {
		return 0, fmt.Errorf("store: encode change %d: %w", rev, err)
	}
	if err := tx.Bucket(bucketChanges).Put(revisionKey(rev), v); err != nil {
		return 0, fmt.Errorf("store: write change %d: %w", rev, err)
	}
	return rev, nil
}
