package store

import (
	"errors"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// errRollback makes RecomputeYear's transaction roll back.
var errRollback = errors.New("rollback")

// RecomputeYear runs the commit path's recompute of one year with the
// current methodology (input building from a fresh read of every cell,
// ScoreYear, byte comparison with the stored summaries) in a write
// transaction that it rolls back, for BenchmarkRecomputeYear. It returns how
// many summaries differed from the stored ones.
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
		changes, err := rescoreYear(newScoreSource(tx, years, sc.m), year, sc)
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

// NewPending prepares a batch for CommitGroup without queueing it.
func (db *DB) NewPending(vendor string, recs []estimator.Record, replace bool) *Pending {
	return &Pending{vendor: vendor, recs: recs, replace: replace, prepared: db.prepare(vendor, recs), done: make(chan struct{})}
}

// CommitGroup commits ps as one group, as the committer does with batches
// that queued while it was busy, so that tests choose the group.
func (db *DB) CommitGroup(ps ...*Pending) { db.commitGroup(ps) }

// ContentSizes returns contentSize(r) and the length encodeContent gives r.
func ContentSizes(r *estimator.Record) (predicted, actual int, err error) {
	b, err := encodeContent(r)
	return contentSize(r), len(b), err
}
