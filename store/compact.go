package store

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// OldestRevision is the first revision the change log still holds; with an
// empty log (a new store, or everything compacted) it is the next revision.
func (db *DB) OldestRevision() (uint64, error) {
	var oldest uint64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		k, _ := tx.Bucket(bucketChanges).Cursor().First()
		if k != nil {
			oldest = binary.BigEndian.Uint64(k)
			return nil
		}
		rev, err := readRevision(tx)
		oldest = rev + 1
		return err
	})
	return oldest, err
}

// compactChunk bounds one compaction transaction, so that dropping a long
// history never holds the write lock (and so ingest) for long.
const compactChunk = 10_000

// Compact drops change-log entries before revision before, in chunks of
// compactChunk per transaction. It keeps the latest entry at least: before
// may not exceed the current revision. Compaction changes no data, so it
// takes no revision.
func (db *DB) Compact(before uint64) (CompactResult, error) {
	rev, err := db.Revision()
	if err != nil {
		return CompactResult{}, err
	}
	if before > rev {
		return CompactResult{}, estimator.Invalid("cannot compact past the current revision", []estimator.FieldViolation{
			{Field: "revision", Description: fmt.Sprintf("revision %d is beyond the current revision %d", before, rev)}})
	}
	var res CompactResult
	for {
		n := 0
		err := db.bolt.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketChanges)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < before && len(keys) < compactChunk; k, _ = c.Next() {
				keys = append(keys, append([]byte(nil), k...))
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return fmt.Errorf("store: compact revision %d: %w", binary.BigEndian.Uint64(k), err)
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Dropped += n
		if n < compactChunk {
			break
		}
	}
	res.Oldest, err = db.OldestRevision()
	return res, err
}

// CompactResult reports a compaction.
type CompactResult struct {
	Oldest  uint64 // oldest retained revision
	Dropped int    // entries removed
}

// OnCommit registers fn to run after every committed write, outside the
// write lock. The watch hub uses it as a wake-up; fn must not block.
func (db *DB) OnCommit(fn func()) { db.onCommit.Store(&fn) }

// RevisionIn reads the revision inside a caller's transaction, so that a
// snapshot (Backup) can say which revision it holds.
func (db *DB) RevisionIn(tx *bbolt.Tx) (uint64, error) { return readRevision(tx) }
