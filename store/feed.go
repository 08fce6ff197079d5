package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// The feed of committed changes.
//
// etcd's watchable store is the model: the commit path hands what it
// committed to the feed in memory, the feed keeps a bounded window of the
// most recent changes, and a subscriber behind that window reads the change
// log on disk until it is inside the window again. Publishing appends to the
// window and closes a channel, under a mutex held for a few instructions:
// the commit path never waits for a subscriber, however slow, and memory
// stays bounded because a subscriber that falls behind simply reads older
// history from disk (its own pace, its own read transaction).
//
// Changes are published in revision order: every write that logs a change
// holds writeMu from its transaction's start until the feed has it, so two
// commits can never publish out of order (bbolt releases its writer lock
// before a transaction's commit handlers run, which is why its OnCommit is
// not used).

// Window limits: the window keeps at most feedMaxChanges changes and about
// feedMaxBytes of them, whichever is reached first. A watcher one second
// behind a 1,000-batch-a-second ingest is still served from memory.
const (
	feedMaxChanges = 4096
	feedMaxBytes   = 64 << 20
)

// feed is the window and the subscribers' wake-up. Its fields are guarded
// by mu; db.rev mirrors last for readers that want no lock.
type feed struct {
	mu sync.Mutex
	// win[head:] is the window, oldest first; win[:head] were dropped and
	// are reclaimed when the slice is compacted.
	win  []Change
	head int
	// after is the revision before the window: every change with a greater
	// revision is in it (the last dropped change, or the revision at Open).
	after uint64
	bytes int    // estimated size of the window
	last  uint64 // revision of the newest published change
	// wake is closed (and replaced) by every publish and by close.
	wake   chan struct{}
	closed bool

	maxChanges, maxBytes int // the window's limits (tests lower them)
}

func newFeed(rev uint64) *feed {
	return &feed{after: rev, last: rev, wake: make(chan struct{}), maxChanges: feedMaxChanges, maxBytes: feedMaxBytes}
}

// changeSize estimates what a Change holds in memory.
func changeSize(c *Change) int {
	n := 128 + len(c.Actor) + len(c.Cells)*48
	for _, s := range c.Scores {
		n += 96 + len(s.Summary.Dimensions)*32
	}
	return n
}

// publish appends committed changes (in revision order, above f.last) and
// wakes every subscriber.
func (f *feed) publish(cs []Change) {
	if len(cs) == 0 {
		return
	}
	f.mu.Lock()
	for _, c := range cs {
		f.win = append(f.win, c)
		f.bytes += changeSize(&c)
		f.last = c.Revision
	}
	for n := len(f.win) - f.head; n > 1 && (n > f.maxChanges || f.bytes > f.maxBytes); n-- {
		old := &f.win[f.head]
		f.bytes -= changeSize(old)
		f.after = old.Revision
		*old = Change{} // let its cells and scores go
		f.head++
	}
	if f.head > 0 && f.head >= len(f.win)/2 {
		f.win = slices.Clone(f.win[f.head:])
		f.head = 0
	}
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

func (f *feed) close() {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.wake)
	}
	f.mu.Unlock()
}

// read returns up to limit changes from revision from on out of the window,
// if the window covers from; otherwise ok is false and the caller reads the
// log. last is the newest published revision, and wake the channel the next
// publish closes.
func (f *feed) read(from uint64, limit int) (out []Change, ok bool, last uint64, wake <-chan struct{}, closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	last, wake, closed = f.last, f.wake, f.closed
	if from <= f.after {
		return nil, false, last, wake, closed
	}
	win := f.win[f.head:]
	i := sort.Search(len(win), func(i int) bool { return win[i].Revision >= from })
	n := len(win) - i
	if limit > 0 {
		n = min(n, limit)
	}
	if n > 0 {
		out = slices.Clone(win[i : i+n])
	}
	return out, true, last, wake, closed
}

// CompactedError says that history a reader asked for was compacted: the
// change log starts at Oldest.
type CompactedError struct {
	From, Oldest uint64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("store: revision %d is compacted; the oldest retained revision is %d", e.From, e.Oldest)
}

// Changes returns the logged changes with revisions from from on, oldest
// first, at most limit of them (0 or less: all). From 0 reads whatever is
// retained; any other from below the oldest retained revision fails with a
// *CompactedError, since the changes between are gone. Recent changes come
// from memory. The changes returned share their Cells and Scores with the
// store and with other readers: treat them as read-only.
func (db *DB) Changes(from uint64, limit int) ([]Change, error) {
	if from > 0 {
		if oldest := db.oldest.Load(); from < oldest {
			return nil, &CompactedError{From: from, Oldest: oldest}
		}
		if out, ok, _, _, _ := db.feed.read(from, limit); ok {
			return out, nil
		}
	}
	return db.logChanges(from, limit, 0)
}

// logChanges reads the change log on disk from from on, at most limit
// changes and none above upTo (0: no bound).
func (db *DB) logChanges(from uint64, limit int, upTo uint64) ([]Change, error) {
	var out []Change
	err := db.read(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketChanges).Cursor()
		if from > 0 {
			// Checked in the read's own snapshot, so that a compaction
			// racing the read cannot pass for a short history. This
			// store's revisions have no gaps, so a first entry past from
			// means from was compacted.
			oldest, err := oldestIn(tx)
			if err != nil {
				return err
			}
			if from < oldest {
				return &CompactedError{From: from, Oldest: oldest}
			}
		}
		for k, v := c.Seek(revisionKey(from)); k != nil; k, v = c.Next() {
			if limit > 0 && len(out) == limit {
				break
			}
			if len(k) != 8 {
				return fmt.Errorf("store: change key %x is not a revision", k)
			}
			rev := revisionOf(k)
			if upTo > 0 && rev > upTo {
				break
			}
			ch, err := decodeChange(rev, v)
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

// Subscription is a stream of committed changes in revision order; see
// Store.Subscribe.
type Subscription interface {
	// Next waits until at least one change at or after the subscription's
	// position is committed, and returns the committed changes from there
	// on, oldest first, at most limit of them (0 or less: as many as are
	// at hand); the position moves past the last one returned. It fails
	// with a *CompactedError when the changes at the position were
	// compacted before they were read (the subscription is then useless),
	// with an EUnavailable error once the store closes (an implementation
	// that replaces what it reads from ends its subscriptions so too: a
	// subscriber may subscribe again from its position), and with ctx's
	// error when ctx ends first.
	Next(ctx context.Context, limit int) ([]Change, error)
}

// Subscribe returns the committed changes from revision from on (from 0 is
// from 1). A subscriber whose position is in the recent window reads from
// memory; one further behind reads the change log.
func (db *DB) Subscribe(from uint64) Subscription {
	return &subscription{db: db, next: max(from, 1)}
}

type subscription struct {
	db   *DB
	mu   sync.Mutex // one Next at a time
	next uint64
}

// errStoreClosed ends subscriptions when the store closes.
var errStoreClosed = estimator.Errorf(estimator.EUnavailable, "store is closing")

func (s *subscription) Next(ctx context.Context, limit int) ([]Change, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	db := s.db
	for {
		if oldest := db.oldest.Load(); s.next < oldest {
			return nil, &CompactedError{From: s.next, Oldest: oldest}
		}
		out, ok, last, wake, closed := db.feed.read(s.next, limit)
		if closed {
			return nil, errStoreClosed
		}
		if !ok && s.next <= last {
			// Behind the window: read the log, but nothing the feed has
			// not published, so that a subscriber never sees a revision
			// ahead of Revision().
			var err error
			if out, err = db.logChanges(s.next, limit, last); err != nil {
				return nil, err
			}
		}
		if len(out) > 0 {
			s.next = out[len(out)-1].Revision + 1
			return out, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// write runs fn in one write transaction and hands the changes it logged
// (commitChange) to the feed once it has committed, in revision order (see
// the feed's comment). fn's error rolls everything back, errNothingToCommit
// included.
func (db *DB) write(fn func(tx *bbolt.Tx) error) error {
	db.writeMu.Lock()
	defer db.writeMu.Unlock()
	db.logged = db.logged[:0]
	err := storageError(db.bolt.Update(fn))
	if err == nil && len(db.logged) > 0 {
		db.rev.Store(db.logged[len(db.logged)-1].Revision)
		db.feed.publish(db.logged)
	}
	clear(db.logged) // the feed keeps its own copies
	db.logged = db.logged[:0]
	return err
}

// logCommitted remembers a change that commitChange logged in the running
// write, normalised to what decoding its log entry gives, so that the feed
// hands out exactly what a read of the log would.
func (db *DB) logCommitted(c Change) {
	c.Time = time.Unix(0, c.Time.UnixNano()).UTC()
	if len(c.Cells) == 0 {
		c.Cells = nil
	} else {
		c.Cells = slices.Clone(c.Cells)
	}
	if len(c.Scores) == 0 {
		c.Scores = nil
	} else {
		c.Scores = slices.Clone(c.Scores)
	}
	db.logged = append(db.logged, c)
}

var _ error = (*CompactedError)(nil)

// IsCompacted reports whether err says history was compacted, and from
// which revision on it is retained.
func IsCompacted(err error) (oldest uint64, ok bool) {
	var ce *CompactedError
	if errors.As(err, &ce) {
		return ce.Oldest, true
	}
	return 0, false
}

// size is how many changes the window holds.
func (f *feed) size() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.win) - f.head
}
