package store

import (
	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// Bolt is the underlying bbolt database, for tests and benchmarks that read
// raw values (the raw-bbolt baseline) or damage a file on purpose.
func (db *DB) Bolt() *bbolt.DB { return db.bolt }

// NewPending prepares a batch for CommitGroup without queueing it.
func (db *DB) NewPending(vendor string, recs []estimator.Record, replace bool) *Batch {
	return &pending{vendor: vendor, recs: recs, replace: replace, prepared: db.prepare(vendor, recs), done: make(chan struct{})}
}

// CommitGroup commits ps as one group, as the committer does with batches
// that queued while it was busy, so that tests choose the group.
func (db *DB) CommitGroup(ps ...*Batch) { db.commitGroup(ps) }

// ContentSizes returns contentSize(r) and the length of the content
// encodeFramedContent gives r.
func ContentSizes(r *estimator.Record) (predicted, actual int, err error) {
	b, err := encodeFramedContent(r, 0)
	return contentSize(r), len(b) - 5, err
}

// Batch is a submitted shipment batch, for tests that build groups.
type Batch = pending

// SetFeedWindow lowers how many recent changes the feed keeps in memory, so
// that tests reach the log behind it with a few writes.
func (db *DB) SetFeedWindow(n int) {
	db.feed.mu.Lock()
	db.feed.maxChanges = n
	db.feed.mu.Unlock()
}

// LogChanges reads the change log on disk only, never the feed.
func (db *DB) LogChanges(from uint64) ([]Change, error) { return db.logChanges(from, 0, 0) }

// LogChangesLimit is LogChanges with a limit.
func (db *DB) LogChangesLimit(from uint64, limit int) ([]Change, error) {
	return db.logChanges(from, limit, 0)
}

// EncodeChange is a change's log encoding, to compare changes whose scores
// hold NaN.
func EncodeChange(c Change) ([]byte, error) { return encodeChange(c) }
