package store

import (
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

	ChangeObservations ChangeKind = 4 // a batch of statistics observations
	ChangeMethodology  ChangeKind = 5 // a new methodology version made current
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
	case ChangeObservations:
		return "observations"
	case ChangeMethodology:
		return "methodology"
	}
	return fmt.Sprintf("change(%d)", uint8(k))
}

// Change is one committed write, as the change log keeps it: enough for a
// watcher to update its copy of the cells and scores without reading them
// again.
type Change struct {
	Revision uint64
	Time     time.Time
	Kind     ChangeKind
	// Actor is the vendor for ingest and retract, the chip id for chip, the
	// sender for observations, and "" for methodology.
	Actor string
	// Cells lists every cell the write changed with its new amount, in key
	// order; a zero Amount means the cell is now empty and was deleted.
	Cells []estimator.Cell
	// Scores lists every stored score summary the write changed, in year and
	// province order.
	Scores []ScoreChange
	// Methodology is the version the write made current, 0 if it made none.
	Methodology uint64
}

// changeVersion is the first byte of every change value (layout.go).
const changeVersion = 2

// scoreChangeMin is the smallest encoded ScoreChange (a deletion), which
// bounds how many a value of a given length can hold.
const scoreChangeMin = 2 + 4 + 1

func encodeChange(c Change) ([]byte, error) {
	e := &encoder{buf: make([]byte, 0, 1+8+1+4+len(c.Actor)+8+4+len(c.Cells)*(cellKeyLen+amountLen)+4+len(c.Scores)*80)}
	e.u8(changeVersion)
	e.i64(c.Time.UnixNano())
	e.u8(uint8(c.Kind))
	e.str(c.Actor)
	e.u64(c.Methodology)
	e.u32(uint32(len(c.Cells)))
	for _, cell := range c.Cells {
		k := makeCellKey(cell.Province, cell.Series, cell.Period)
		e.buf = append(e.buf, k[:]...)
		e.buf = append(e.buf, encodeAmount(cell.Amount)...)
	}
	e.u32(uint32(len(c.Scores)))
	for _, sc := range c.Scores {
		if !yearFits(sc.Year) {
			e.fail("score year %d does not fit the store's encoding", sc.Year)
		}
		e.u16(uint16(sc.Year))
		e.u32(sc.Province)
		e.u8(boolByte(sc.Deleted))
		if !sc.Deleted {
			encodeSummary(e, sc.Summary)
		}
	}
	return e.buf, e.err
}

func decodeChange(rev uint64, v []byte) (Change, error) {
	d := &decoder{b: v}
	if ver := d.u8(); d.err == nil && ver != changeVersion {
		return Change{}, fmt.Errorf("store: change %d has unknown version %d", rev, ver)
	}
	c := Change{Revision: rev, Time: time.Unix(0, d.i64()).UTC(), Kind: ChangeKind(d.u8()), Actor: d.str(), Methodology: d.u64()}
	n := d.u32()
	// Check counts against the bytes left before allocating, so that a
	// corrupt count cannot ask for gigabytes.
	if d.err == nil && uint64(len(d.b)) < uint64(n)*(cellKeyLen+amountLen) {
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
	m := d.u32()
	if d.err == nil && uint64(len(d.b)) < uint64(m)*scoreChangeMin {
		return Change{}, fmt.Errorf("store: change %d lists %d scores in %d bytes", rev, m, len(d.b))
	}
	if m > 0 {
		c.Scores = make([]ScoreChange, m)
	}
	for i := range c.Scores {
		sc := ScoreChange{Year: int(d.u16()), Province: d.u32(), Deleted: d.flag()}
		if !sc.Deleted {
			sc.Summary = decodeSummary(d)
		}
		c.Scores[i] = sc
	}
	if err := d.done(); err != nil {
		return Change{}, fmt.Errorf("store: change %d: %w", rev, err)
	}
	return c, nil
}

// commitChange ends a write transaction's work: it takes the next revision and
// logs c under it, so that every committed write has exactly one revision and
// one change-log entry. It stamps c with the clock unless c.Time is set (a
// methodology's entry carries its Created); Revision is ignored.
func (db *DB) commitChange(tx *bbolt.Tx, c Change) (uint64, error) {
	rev, err := readRevision(tx)
	if err != nil {
		return 0, err
	}
	rev++
	if f := db.revFloor.Load(); f > rev {
		rev = f
	}
	if err := tx.Bucket(bucketMeta).Put(keyRevision, revisionKey(rev)); err != nil {
		return 0, fmt.Errorf("store: write revision: %w", err)
	}
	if c.Time.IsZero() {
		c.Time = db.now()
	}
	v, err := encodeChange(c)
	if err != nil {
		return 0, fmt.Errorf("store: encode change %d: %w", rev, err)
	}
	if err := tx.Bucket(bucketChanges).Put(revisionKey(rev), v); err != nil {
		return 0, fmt.Errorf("store: write change %d: %w", rev, err)
	}
	c.Revision = rev
	db.logCommitted(c)
	return rev, nil
}

// commitCells ends a write that changed cells: it recomputes the scores the
// cells move, in the same transaction, and logs both under a new revision,
// which it stores in rev with the number of changed scores in scores.
func (db *DB) commitCells(tx *bbolt.Tx, kind ChangeKind, actor string, cells []estimator.Cell, rev *uint64, scores *int) error {
	var im impact
	im.addCells(cells)
	changed, err := db.rescore(tx, im, nil)
	if err != nil {
		return err
	}
	*scores = len(changed)
	*rev, err = db.commitChange(tx, Change{Kind: kind, Actor: actor, Cells: cells, Scores: changed})
	return err
}
