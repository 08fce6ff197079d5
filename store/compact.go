package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// OldestRevision is the first revision the change log still holds; with an
// empty log (a new store, or everything compacted) it is the next revision.
// It is kept in memory by Open and Compact, so reading it is cheap.
func (db *DB) OldestRevision() uint64 { return db.oldest.Load() }

func oldestIn(tx *bbolt.Tx) (uint64, error) {
	if k, _ := tx.Bucket(bucketChanges).Cursor().First(); k != nil {
		return revisionOf(k), nil
	}
	rev, err := readRevision(tx)
	return rev + 1, err
}

func revisionOf(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// compactChunk bounds one compaction transaction, so that dropping a long
// history never holds the write lock (and so ingest) for long.
const compactChunk = 10_000

// Compact drops change-log entries before revision before, in chunks of
// compactChunk per transaction. It keeps the latest entry at least: before
// may not exceed the current revision. Compaction changes no data, so it
// takes no revision.
func (db *DB) Compact(before uint64) (CompactResult, error) {
	rev := db.Revision()
	if before > rev {
		return CompactResult{}, estimator.Invalid("cannot compact past the current revision", []estimator.FieldViolation{
			{Field: "revision", Description: fmt.Sprintf("revision %d is beyond the current revision %d", before, rev)}})
	}
	var res CompactResult
	for {
		n, oldest := 0, uint64(0)
		err := db.write(func(tx *bbolt.Tx) error {
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
			if n == 0 {
				return errNothingToCommit
			}
			var err error
			oldest, err = oldestIn(tx)
			return err
		})
		if errors.Is(err, errNothingToCommit) {
			err = nil
		} else if err == nil {
			db.oldest.Store(oldest) // once committed, never ahead of the file
		}
		if err != nil {
			return res, err
		}
		res.Dropped += n
		if n < compactChunk {
			break
		}
	}
	res.Oldest = db.OldestRevision()
	return res, nil
}

// CompactResult reports a compaction.
type CompactResult struct {
	Oldest  uint64 // oldest retained revision
	Dropped int    // entries removed
}
