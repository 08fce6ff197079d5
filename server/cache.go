package server

import "sync"

// revCache holds computed answers that are valid only at the store revision
// they were computed at: a write moves the revision and so invalidates every
// entry at once, with no bookkeeping on the commit path. Hot reads of an
// unchanged store then cost one revision lookup. Values are shared between
// callers and must be treated as read-only.
type revCache[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	m   map[K]revEntry[V]
}

type revEntry[V any] struct {
	rev uint64
	v   V
}

func newRevCache[K comparable, V any](max int) *revCache[K, V] {
	return &revCache[K, V]{max: max, m: map[K]revEntry[V]{}}
}

func (c *revCache[K, V]) get(k K, rev uint64) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e.v, ok && e.rev == rev
}

// put stores v; a full cache starts over rather than tracking recency, since
// everything in it goes stale at the next write anyway.
func (c *revCache[K, V]) put(k K, rev uint64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.m = map[K]revEntry[V]{}
	}
	c.m[k] = revEntry[V]{rev: rev, v: v}
}

// revision is the store revision that cached answers are checked against:
// the revision known at the last commit (store.Revision, an atomic the
// commit path moves before a write returns, so before it is acknowledged),
// or a later one a read has already seen. A write that has returned is at or
// below it, so a cached answer never hides an acknowledged write; and since
// every revision handed to a caller is observed first, answers never go
// back in revision, across keys too, even while a commit is visible to
// readers but not yet in the store's atomic.
func (s *Server) revision() uint64 {
	return max(s.store.Revision(), s.seen.Load())
}

// observe records that a read saw the store at rev.
func (s *Server) observe(rev uint64) {
	for {
		k := s.seen.Load()
		if rev <= k || s.seen.CompareAndSwap(k, rev) {
			return
		}
	}
}
