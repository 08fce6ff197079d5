package store

import (
	"errors"

	"go.etcd.io/bbolt"
)

// errRollback makes RecomputeYear's transaction roll back.
var errRollback = errors.New("rollback")

// RecomputeYear runs the commit path's recompute of one year with the
// current methodology (input building from a fresh read of every cell,
// ScoreYear, byte comparison with the stored summaries) in a write
// transaction that it rolls back, so nothing changes. It is for benchmarks
// and diagnostics: it takes the write lock like any write. It returns how
// many summaries differ from the stored ones (0 on a consistent store).
func (db *DB) RecomputeYear(year int) (int, error) {
	var n int
	err := db.bolt.Update(func(tx *bbolt.Tx) error {
		sc, err := db.scoringIn(tx)
		if err != nil {
			return err
		}
		years, err := indexYears(tx)
		if err != nil {
			return err
		}
		src := newScoreSource(tx, years, sc.m)
		if err := db.withBase(src, false); err != nil { // it writes nothing
			return err
		}
		changes, err := rescoreYear(src, year, sc)
		if err != nil {
			return err
		}
		n = len(changes)
		return errRollback
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	return n, err
}
