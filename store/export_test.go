package store

import (
	"github.com/computescale/computescale/estimator"
)

// NewPending prepares a batch for CommitGroup without queueing it.
func (db *DB) NewPending(vendor string, recs []estimator.Record, replace bool) *Pending {
	return &Pending{vendor: vendor, recs: recs, replace: replace, prepared: db.prepare(vendor, recs), done: make(chan struct{})}
}

// CommitGroup commits ps as one group, as the committer does with batches
// that queued while it was busy, so that tests choose the group.
func (db *DB) CommitGroup(ps ...*Pending) { db.commitGroup(ps) }

// ContentSizes returns contentSize(r) and the length of the content
// encodeFramedContent gives r.
func ContentSizes(r *estimator.Record) (predicted, actual int, err error) {
	b, err := encodeFramedContent(r, 0)
	return contentSize(r), len(b) - 5, err
}
