package store

import (
	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// RaiseNextRevision makes the next committed write take revision rev if that
// is above the revision it would take anyway; later writes count on from
// there. It is for a store that mirrors another revisioned source (cluster
// mode materialises etcd's writes and keeps etcd's revision numbers, so the
// same change has the same revision on every node), which then has gaps: the
// Store contract allows them. The caller must be the only writer while it
// relies on this, or another write may take the raised revision instead.
func (db *DB) RaiseNextRevision(rev uint64) {
	for {
		cur := db.revFloor.Load()
		if rev <= cur || db.revFloor.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// CheckObservations runs every check PutObservationsWith would run on obs
// (encoding, repeats in the batch, conflicts with stored values unless
// Replace, the methodology's plausibility bounds unless Replace and Force)
// against what is stored now, and writes nothing. A mirroring store calls it
// on its up-to-date view before committing a batch to its source of truth,
// where the bounds cannot be evaluated.
func (db *DB) CheckObservations(actor string, obs []estimator.Observation, opts ObservationOptions) error {
	return db.read(func(tx *bbolt.Tx) error {
		var bounds *estimator.Plausibility
		if !(opts.Replace && opts.Force) {
			sc, err := db.scoringIn(tx)
			if err != nil {
				return err
			}
			bounds = &sc.m.Plausibility
		}
		var res ObservationResult
		_, err := planObservations(tx, actor, obs, opts.Replace, bounds, &res)
		return err
	})
}
