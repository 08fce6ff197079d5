package server

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// keptUncertainty keeps the default analysis (DefaultUncertaintySamples,
// seed 0, every choice varied, the current methodology) of every year that
// writes have touched or readers have asked for, current off the commit
// path: a worker follows the store's Subscribe stream (which the commit path
// feeds without waiting for anyone, so acks never wait for an analysis),
// collects the years whose scores moved, lets a burst of writes settle, and
// recomputes those years one at a time.
//
// A kept result is valid through a revision: the worker moves that mark
// past every change that does not touch the year, and marks the result
// stale at the first one that does. A reader is answered from it only when
// the mark is at or past the revision the reader may have seen, so a reader
// never gets an analysis older than a write it could know of; otherwise it
// computes on demand.
type keptUncertainty struct {
	kept    atomic.Int64 // results kept so far
	mu      sync.Mutex
	results map[int32]*keptResult
	// publish is called with every new kept result (the watch hub's
	// UNCERTAINTY events); nil publishes nothing.
	publish func(uncertaintyEntry)
}

type keptResult struct {
	e       uncertaintyEntry
	through uint64 // every change up to here is in e or does not touch the year
	stale   bool
}

func newKeptUncertainty() *keptUncertainty {
	return &keptUncertainty{results: map[int32]*keptResult{}}
}

// current returns year's kept analysis for the asked methodology version (0:
// current) if it is valid through rev.
func (k *keptUncertainty) current(year int32, version uint64, rev uint64) (uncertaintyEntry, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.results[year]
	if !ok || r.stale || r.through < rev || version != 0 && version != r.e.m.Version {
		return uncertaintyEntry{}, false
	}
	return r.e, true
}

// latest returns every kept analysis, stale or not, by year.
func (k *keptUncertainty) latest() []uncertaintyEntry {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]uncertaintyEntry, 0, len(k.results))
	for _, y := range slices.Sorted(maps.Keys(k.results)) {
		out = append(out, k.results[y].e)
	}
	return out
}

// put keeps e unless a newer result of its year is kept already.
func (k *keptUncertainty) put(e uncertaintyEntry) bool {
	e.kept = true
	k.mu.Lock()
	year := int32(e.u.Year)
	if r, ok := k.results[year]; ok && r.e.rev > e.rev {
		k.mu.Unlock()
		return false
	}
	k.results[year] = &keptResult{e: e, through: e.rev}
	k.kept.Add(1)
	publish := k.publish
	k.mu.Unlock()
	if publish != nil {
		publish(e)
	}
	return true
}

// advance records the changes up to last: the years in moved (all kept
// years if all) are stale unless their result already includes the change
// that moved them (first[year] is the earliest such change); the others
// are valid through last.
func (k *keptUncertainty) advance(last uint64, moved map[int32]uint64, all bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for y, r := range k.results {
		first, ok := moved[y]
		if all || ok && first > r.e.rev {
			r.stale = true
			continue
		}
		r.through = max(r.through, last)
	}
}

// KeptUncertaintyAnalyses is how many rank-uncertainty analyses the server
// has kept (by its worker, or computed on demand for a default request)
// since it started.
func (s *Server) KeptUncertaintyAnalyses() int { return int(s.uncertainty.kept.Load()) }

// years returns the kept years.
func (k *keptUncertainty) years() []int32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Sorted(maps.Keys(k.results))
}

// uncertaintySettle is how long the worker waits for a burst of writes to
// end before it recomputes, and uncertaintyMaxSettle how long at most, so
// that a steady stream of writes still gets analyses.
const (
	uncertaintySettle    = 200 * time.Millisecond
	uncertaintyMaxSettle = 2 * time.Second
)

// runUncertainty is the worker: until ctx ends, it follows the committed
// changes from `from` on and recomputes the years they move.
func (s *Server) runUncertainty(ctx context.Context, from uint64) {
	sub := s.store.Subscribe(from)
	pos := from - 1 // the last revision read
	pending := map[int32]bool{}
	resync := false // changes may have been lost: recompute every kept year
	for {
		moved, all, last, err := s.collectMoves(ctx, &sub)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait := retryEvery
			if estimator.ErrorCode(err) == estimator.EUnavailable {
				// As the hub does: the store is closing (Close cancels ctx
				// first) or replaced its view; follow on from the position.
				wait = resubscribeEvery
				sub = s.store.Subscribe(pos + 1)
				resync = true
			} else {
				s.log.Error("uncertainty: read committed changes", slog.Any("error", err))
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			continue
		}
		pos = max(pos, last)
		all, resync = all || resync, false
		s.uncertainty.advance(last, moved, all)
		for y := range moved {
			pending[y] = true
		}
		if all {
			for _, y := range s.uncertainty.years() {
				pending[y] = true
			}
		}
		for _, y := range slices.Sorted(maps.Keys(pending)) {
			if ctx.Err() != nil {
				return
			}
			if err := s.keepUncertainty(ctx, y); err != nil && ctx.Err() == nil {
				s.log.Warn("uncertainty: analyse", slog.Int("year", int(y)), slog.Any("error", err))
			}
			delete(pending, y)
		}
	}
}

// collectMoves waits for committed changes, then keeps reading until none
// has come for uncertaintySettle (at most uncertaintyMaxSettle), and returns
// the years whose scores moved with the first revision that moved each,
// whether a new methodology moved every year, and the last revision read.
// After a compaction it resubscribes from the oldest revision and reports
// every year moved.
func (s *Server) collectMoves(ctx context.Context, sub *store.Subscription) (map[int32]uint64, bool, uint64, error) {
	moved, all, last := map[int32]uint64{}, false, uint64(0)
	deadline := time.Time{}
	for {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			settle := time.Now().Add(uncertaintySettle)
			if deadline.Before(settle) {
				settle = deadline
			}
			rctx, cancel = context.WithDeadline(ctx, settle)
		}
		changes, err := (*sub).Next(rctx, 0)
		cancel()
		if oldest, ok := store.IsCompacted(err); ok {
			*sub = s.store.Subscribe(oldest)
			return moved, true, oldest - 1, nil
		}
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return moved, all, last, nil // settled
			}
			return nil, false, 0, err
		}
		for _, c := range changes {
			last = c.Revision
			if c.Methodology != 0 {
				all = true
			}
			for _, sc := range c.Scores {
				if _, ok := moved[int32(sc.Year)]; !ok {
					moved[int32(sc.Year)] = c.Revision
				}
			}
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(uncertaintyMaxSettle)
		}
	}
}

// keepUncertainty computes year's default analysis and keeps it, taking
// its turn with on-demand analyses.
func (s *Server) keepUncertainty(ctx context.Context, year int32) error {
	select {
	case s.analysing <- struct{}{}:
		defer func() { <-s.analysing }()
	case <-ctx.Done():
		return ctx.Err()
	}
	e, err := s.analysePaced(ctx, int(year), 0, DefaultUncertaintySamples, 0, estimator.DefaultAssumptions(), 1, s.yieldToWrites(ctx))
	if err != nil {
		return err
	}
	s.uncertainty.put(e)
	return nil
}

// yieldShare is the share of wall time the worker computes while writes
// keep arriving: after a stretch of work during which the revision moved,
// it sleeps (1/yieldShare − 1) times as long, so an analysis of about a
// second takes about ten during a steady ingest (BENCHMARKS.md P6: at a
// quarter, acks were 66 % slower at p50; at 2 %, 16 %, no analysis
// finishing). With no writes it runs at full
// speed. An analysis on this 2-core machine otherwise competes with the
// commit path and the ack sends for the cores (and adds GC work), which
// showed as slower acks.
const yieldShare = 0.1

// yieldToWrites returns the worker's pace: called every few milliseconds of
// analysis, from one goroutine (the worker analyses with one).
func (s *Server) yieldToWrites(ctx context.Context) func() {
	last, since := s.store.Revision(), time.Now()
	return func() {
		worked := time.Since(since)
		if rev := s.store.Revision(); rev != last {
			last = rev
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(float64(worked) * (1/yieldShare - 1))):
			}
		}
		since = time.Now()
	}
}
