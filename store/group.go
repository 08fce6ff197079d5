package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// Group commit.
//
// A shipment batch costs an fsync and a score recompute however small it is,
// and bbolt runs one write transaction at a time: batches committed one by
// one queue behind each other's fsyncs. So shipment batches go through one
// committer goroutine that takes every batch waiting when it is free and
// commits them together in one transaction:
//
//   - each batch is still all or nothing: it is checked in full before it
//     writes anything (ingest.check), so a rejected batch leaves nothing
//     behind and its neighbours in the group commit as if it had not come;
//   - each batch that changes something still gets its own revision and its
//     own change-log entry, in the order the batches were submitted, so a
//     vendor's acks and every watcher see the same sequence as before;
//   - scores are recomputed once per group, after the last batch, and logged
//     with the group's last revision: no reader can see the revisions inside
//     a group (they commit together), so no score is ever missed;
//   - nothing waits for company: a lone batch commits at once, and batches
//     group only because they arrived while the previous group was syncing.
//
// Submission order is commit order, which is what lets the server pipeline a
// stream: it submits batch k+1 before batch k is durable and still answers
// in order.

// Group limits: a group stops growing at either, so one transaction's memory
// and latency stay bounded under a burst.
const (
	maxGroupBatches = 64
	maxGroupRecords = 100_000
)

// errClosed answers a batch submitted after Close.
var errClosed = estimator.Errorf(estimator.EUnavailable, "store is closing")

// pending is a submitted shipment batch; Wait returns its outcome once the
// group it joined has committed (and fsynced) or failed.
type pending struct {
	vendor   string
	recs     []estimator.Record
	replace  bool
	prepared *preparedBatch // what the submitter did ahead (prepare.go)

	done  chan struct{}
	res   IngestResult
	err   error
	cells []estimator.Cell // what the batch changed, for the change log
	im    impact
}

// Wait blocks until the batch is committed or rejected.
func (p *pending) Wait() (IngestResult, error) {
	<-p.done
	return p.res, p.err
}

func (p *pending) finish(err error) {
	if err != nil {
		p.res = IngestResult{}
	}
	p.err = err
	close(p.done)
}

// committer owns the queue of submitted batches and the goroutine that
// commits them.
type committer struct {
	db      *DB
	mu      sync.Mutex
	queue   []*pending
	closed  bool
	wake    chan struct{} // capacity 1: "the queue may have work"
	stopped chan struct{} // closed when the goroutine has exited

	groups, batches atomic.Uint64 // committed so far, for GroupStats
}

// GroupStats returns how many shipment groups and batches have been through
// the committer since Open; batches/groups is the mean group size, which
// says how much fsync and scoring the grouping saved.
func (db *DB) GroupStats() (groups, batches uint64) {
	return db.group.groups.Load(), db.group.batches.Load()
}

func newCommitter(db *DB) *committer {
	c := &committer{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.run()
	return c
}

func (c *committer) submit(p *pending) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		p.finish(errClosed)
		return
	}
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close stops taking batches, lets the goroutine commit what was already
// submitted, and waits for it.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.stopped
}

func (c *committer) run() {
	defer close(c.stopped)
	for range c.wake {
		for {
			group, last := c.take()
			if len(group) > 0 {
				c.db.commitGroup(group)
				c.groups.Add(1)
				c.batches.Add(uint64(len(group)))
			}
			if last {
				return
			}
			if len(group) == 0 {
				break
			}
		}
	}
}

// take removes the next group from the queue; last says the committer is
// closed and the queue is empty, so the goroutine can exit.
func (c *committer) take() (group []*pending, last bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, records := 0, 0
	for n < len(c.queue) && n < maxGroupBatches && (n == 0 || records+len(c.queue[n].recs) <= maxGroupRecords) {
		records += len(c.queue[n].recs)
		n++
	}
	group = append([]*pending(nil), c.queue[:n]...)
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	return group, c.closed && len(c.queue) == 0
}

// commitGroup runs the batches in one transaction, in order, and finishes
// every one of them: rejected batches with their error, the rest with their
// results once the commit is durable, or all of them with the transaction's
// error if it fails.
func (db *DB) commitGroup(group []*pending) {
	err := db.write(func(tx *bbolt.Tx) error {
		var logged []*pending
		var im impact
		cells := cellDeltas{} // new amounts, written after the last batch
		for _, p := range group {
			p.res, p.err, p.cells, p.im = IngestResult{}, nil, nil, impact{}
			ok, rejected, err := db.applyIngest(tx, p, cells)
			if err != nil {
				return err
			}
			if rejected != nil {
				p.err = rejected // checked before writing: nothing of it is in tx
				continue
			}
			if ok {
				logged = append(logged, p)
				im.merge(p.im)
			}
		}
		if len(logged) == 0 {
			return errNothingToCommit
		}
		final := make([]estimator.Cell, 0, len(cells))
		for _, k := range cells.sortedKeys() {
			final = append(final, k.cell(cells[k]))
		}
		if _, err := writeCells(tx, final); err != nil {
			return err
		}
		scores, err := db.rescore(tx, im, nil)
		if err != nil {
			return err
		}
		// Revisions follow submission order; a batch that changed nothing
		// reports the revision it saw, the last one logged before it.
		rev, err := readRevision(tx)
		if err != nil {
			return err
		}
		for _, p := range group {
			if p.err != nil {
				continue
			}
			if !p.changed() {
				p.res.Revision = rev
				continue
			}
			c := Change{Kind: ChangeIngest, Actor: p.vendor, Cells: p.cells}
			if p == logged[len(logged)-1] {
				c.Scores = scores
				p.res.ScoresChanged = len(scores)
			}
			if rev, err = db.commitChange(tx, c); err != nil {
				return err
			}
			p.res.Revision = rev
		}
		return nil
	})
	if errors.Is(err, errNothingToCommit) {
		err = nil
	}
	if err != nil {
		err = fmt.Errorf("store: commit %d batches: %w", len(group), err)
	}
	// write has published the changes: whoever reacts to an ack finds its
	// revision in Revision and in every subscription.
	for _, p := range group {
		if err != nil {
			p.finish(err)
		} else {
			p.finish(p.err)
		}
	}
}

func (p *pending) changed() bool { return p.res.Created+p.res.Replaced > 0 }
