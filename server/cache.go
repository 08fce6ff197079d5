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

// revStamp is a store revision together with bbolt's count of page writes
// when it was read.
type revStamp struct {
	writes int64
	rev    uint64
}

// revision is the store's current revision for the answer caches, usually
// without the bbolt read transaction that store.Revision costs (most of a
// cached query's own work). bbolt counts the pages each write transaction
// writes and adds them to its statistics when the transaction closes: after
// the new revision is visible to readers, before the write returns, and so
// before any write is acknowledged. While that count has not moved since a
// revision was read, no write has completed since, and that revision is
// still the latest a caller may expect to see.
//
// writes is the count read before anything else: a caller that goes on to
// read the store passes it, with the revision of what it read, to observe.
// The known stamp only moves forward, and every revision handed to a caller
// is observed first, so answers never go back in revision, across keys too.
// Without bbolt statistics the count stays 0 and every call reads the store.
func (s *Server) revision() (rev uint64, writes int64, err error) {
	st := s.store.Bolt().Stats()
	writes = st.TxStats.GetWrite()
	if k := s.known.Load(); writes != 0 && k != nil && k.writes == writes {
		return k.rev, writes, nil
	}
	rev, err = s.store.Revision()
	if err == nil {
		s.observe(writes, rev)
	}
	return rev, writes, err
}

// observe records that rev was read from the store after bbolt's write count
// was writes: the known stamp becomes the larger of each.
func (s *Server) observe(writes int64, rev uint64) {
	if writes == 0 {
		return
	}
	for {
		k := s.known.Load()
		n := revStamp{writes, rev}
		if k != nil {
			n = revStamp{max(k.writes, writes), max(k.rev, rev)}
			if n == *k {
				return
			}
		}
		if s.known.CompareAndSwap(k, &n) {
			return
		}
	}
}
