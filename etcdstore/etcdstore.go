// Package etcdstore is the cluster-mode implementation of store.Store: etcd
// is the source of truth and every node keeps a materialised view of it in a
// local bbolt store.
//
// # Source of truth
//
// Records (keyed by vendor and record id), chip specs, statistics
// observations and methodology versions are etcd keys under a prefix (see
// keys.go). Every write is one etcd transaction that compares the mod
// revision of every key it changes with what the node read, so a write is
// all or nothing, two nodes writing the same key cannot both win, and the
// idempotency rules of the single-node store hold cluster-wide: an identical
// resend changes nothing (no transaction at all), a changed record without
// replace is AlreadyExists, and a vendor only ever reaches keys under its own
// name. A write is acknowledged after etcd committed it (a quorum has it in
// its WAL) and this node's view has applied it; its revision is the etcd
// revision, the same number on every node.
//
// # The view
//
// Each node materialises cells, scores and the change log from an etcd
// watch into its local store.DB, the way the Kubernetes apiserver's watch
// cache follows etcd (KEP-2340 consistent reads from cache, KEP-1904 watch
// resumption): the events of one etcd revision (one transaction) become one
// local write, committed under that revision (store.DB.RaiseNextRevision),
// so revisions have gaps but match across nodes. Every node applies the same
// writes in the same order to the same code, so its cells and scores are bit
// for bit those of every other node at the same revision. The local change
// log then serves Watch and Changes exactly as in single-node mode.
//
// A node that starts with an empty view, or whose view is older than etcd's
// compaction (it was down too long), rebuilds: it reads every key at one
// revision S, applies them as a few local writes numbered just below S,
// compacts its own change log to S, and follows the watch from S+1. Watch
// history before S is then gone on that node (a watcher resuming below S is
// told so, as with any compaction).
//
// # Reads
//
// Reads answer from the view. WaitRevision blocks until the view has applied
// a given revision (the revision in an ingest ack: read-your-writes on any
// node); ConsistentRevision asks etcd for its current revision (one quorum
// round trip) and WaitRevision then waits for the view to reach it, which
// makes a read linearizable at the cost of that round trip plus the watch
// delay. The server does both in an interceptor, so no handler knows which
// store it runs on.
package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// Options configure a node's store.
type Options struct {
	// Endpoints are etcd client URLs (http://host:port).
	Endpoints []string
	// Prefix is where this deployment's keys live; "" means "/computescale/".
	Prefix string
	// Path is the local view's bbolt file.
	Path string
	// Local configures the view (its Now is replaced: the view's clock is the
	// time the writing node stamped, so every node logs the same times).
	Local store.Options
	// WaitTimeout bounds how long a write waits for the view to apply it and
	// a read waits for a revision; 0 means 10 s.
	WaitTimeout time.Duration
	// DialTimeout bounds connecting to etcd at Open; 0 means 5 s.
	DialTimeout time.Duration
	// Log receives the view's progress and problems; nil discards.
	Log *slog.Logger
}

// Store is a node's handle on the cluster. It implements store.Store.
type Store struct {
	opts   Options
	prefix string
	cli    *clientv3.Client
	dbp    atomic.Pointer[store.DB] // the view; replaced by a rebuild
	log    *slog.Logger

	// applied is the etcd revision the view has applied everything up to
	// (the local store's revision, or above when the last etcd revisions
	// changed nothing locally or only reported progress).
	applied  atomic.Uint64
	mu       sync.Mutex
	advanced chan struct{} // closed and replaced whenever applied moves
	results  map[uint64]applied
	order    []uint64
	failed   error // the view stopped following etcd

	clock atomic.Int64 // the stamped time of the write being applied, ns
	// rebuildHook, if set (by tests), runs in a rebuild once the fresh view
	// is open and before it is filled.
	rebuildHook atomic.Pointer[func()]
	// smallTxns is set once etcd refused a read of a whole batch in one
	// transaction (its --max-txn-ops is lower); reads then go in chunks.
	smallTxns atomic.Bool
	watchMu   sync.Mutex
	watchCx   context.Context // the watch's context, for RequestProgress

	writes chan *pendingBatch // shipment batches, in submission order
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// applied is what applying one etcd revision to the view returned.
type applied struct {
	res any
	err error
}

// resultsKept bounds the per-revision results a writer may still collect.
const resultsKept = 1024

// Open connects to etcd, opens (or rebuilds) the view at opts.Path, and
// starts following etcd. It returns once the view has caught up with etcd's
// revision at the time of the call, so a node serves nothing older than
// what was acknowledged before it started.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("etcdstore: no etcd endpoints")
	}
	if opts.Prefix == "" {
		opts.Prefix = "/computescale/"
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 10 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: opts.Endpoints, DialTimeout: opts.DialTimeout, Logger: zap.NewNop(),
		// etcd's own default (2 MiB) is below what a 1,000-record batch
		// with long notes can reach; the server's --max-request-bytes
		// still decides.
		MaxCallSendMsgSize: 64 << 20, MaxCallRecvMsgSize: 256 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("etcdstore: connect %v: %w", opts.Endpoints, err)
	}
	s := &Store{
		opts: opts, prefix: opts.Prefix, cli: cli, log: opts.Log,
		advanced: make(chan struct{}), results: map[uint64]applied{},
		writes: make(chan *pendingBatch, 64),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	opts.Local.Now = s.now
	s.opts.Local = opts.Local
	if err := s.openView(ctx); err != nil {
		// The view may be open (a rebuild that failed after opening a
		// fresh one): release its file lock, or a retry would wait on it.
		if db := s.view(); db != nil {
			db.Close()
		}
		s.cancel()
		cli.Close()
		return nil, err
	}
	s.wg.Add(2)
	go s.follow()
	go s.commitShipments()
	if err := s.catchUp(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// now is the view's clock: the writer's stamp while a write is applied.
func (s *Store) now() time.Time {
	if ns := s.clock.Load(); ns != 0 {
		return time.Unix(0, ns).UTC()
	}
	return time.Now()
}

// openView opens the local store and decides whether it can follow etcd
// from where it stopped or must be rebuilt from a snapshot.
func (s *Store) openView(ctx context.Context) error {
	if err := checkViewMarker(s.opts.Path); err != nil {
		return err
	}
	db, err := store.Open(s.opts.Path, s.opts.Local)
	if err != nil {
		return fmt.Errorf("etcdstore: open view: %w", err)
	}
	s.dbp.Store(db)
	local := db.Revision()
	ok, err := s.canFollow(ctx, local)
	if err != nil {
		return err // Open closes the view
	}
	if ok {
		s.applied.Store(local)
		s.log.Info("cluster view resumes", "revision", local)
		return nil
	}
	return s.rebuild(ctx)
}

// canFollow says whether etcd still has every revision after local: the view
// is not empty, not compacted past, and not from a different (or reset)
// cluster whose revision is below it.
func (s *Store) canFollow(ctx context.Context, local uint64) (bool, error) {
	if local == 0 {
		return false, nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.WaitTimeout)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return false, fmt.Errorf("etcdstore: read etcd revision: %w", err)
	}
	if uint64(resp.Header.Revision) < local {
		s.log.Warn("cluster view is ahead of etcd; rebuilding", "view", local, "etcd", resp.Header.Revision)
		return false, nil
	}
	if uint64(resp.Header.Revision) == local {
		return true, nil
	}
	_, err = s.cli.Get(cctx, s.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly(), clientv3.WithRev(int64(local)+1))
	if isCompacted(err) {
		s.log.Warn("etcd compacted past the cluster view; rebuilding", "view", local)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("etcdstore: probe revision %d: %w", local+1, err)
	}
	return true, nil
}

// catchUp waits until the view has applied etcd's current revision.
func (s *Store) catchUp(ctx context.Context) error {
	rev, err := s.ConsistentRevision(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*s.opts.WaitTimeout)
	defer cancel()
	return s.WaitRevision(wctx, rev)
}

// Close stops following etcd and closes the view and the client.
func (s *Store) Close() error {
	s.cancel()
	s.wg.Wait()
	s.failAll(errClosing)
	err := s.view().Close()
	s.cli.Close()
	return err
}

// Client is the node's etcd client (benchmarks compare against raw
// transactions through it).
func (s *Store) Client() *clientv3.Client { return s.cli }

// View is the node's local store, for tests that compare nodes.
func (s *Store) View() *store.DB { return s.view() }

func (s *Store) view() *store.DB { return s.dbp.Load() }

// Revision is the etcd revision the view has applied.
func (s *Store) Revision() uint64 { return s.applied.Load() }

// advance records that the view has applied everything up to rev.
func (s *Store) advance(rev uint64, r *applied) {
	s.mu.Lock()
	if r != nil {
		s.results[rev] = *r
		s.order = append(s.order, rev)
		if len(s.order) > resultsKept {
			delete(s.results, s.order[0])
			s.order = s.order[1:]
		}
	}
	if rev > s.applied.Load() {
		s.applied.Store(rev)
		close(s.advanced)
		s.advanced = make(chan struct{})
	}
	s.mu.Unlock()
}

// fail marks the view as no longer following etcd; waiters get err.
func (s *Store) failAll(err error) {
	s.mu.Lock()
	if s.failed == nil {
		s.failed = err
	}
	close(s.advanced)
	s.advanced = make(chan struct{})
	s.mu.Unlock()
}

// WaitRevision blocks until the view has applied rev, ctx ends (then
// EUnavailable: the caller may retry, here or on another node) or the view
// stopped following etcd.
func (s *Store) WaitRevision(ctx context.Context, rev uint64) error {
	for {
		s.mu.Lock()
		ch, failed := s.advanced, s.failed
		s.mu.Unlock()
		if s.applied.Load() >= rev {
			return nil
		}
		if failed != nil {
			return failed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return estimator.Errorf(estimator.EUnavailable,
				"this node has applied revision %d, not yet %d; retry, or ask another node", s.applied.Load(), rev)
		}
	}
}

// ConsistentRevision returns etcd's current revision (a quorum read) and
// asks the watch to report its progress, so that WaitRevision reaches it
// even when the last revisions touched no key of ours.
func (s *Store) ConsistentRevision(ctx context.Context) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.WaitTimeout)
	defer cancel()
	resp, err := s.cli.Get(cctx, s.prefix+"revision", clientv3.WithCountOnly())
	if err != nil {
		return 0, estimator.Errorf(estimator.EUnavailable, "etcd did not answer: %v", err)
	}
	rev := uint64(resp.Header.Revision)
	if s.applied.Load() < rev {
		s.watchMu.Lock()
		wctx := s.watchCx
		s.watchMu.Unlock()
		if wctx != nil {
			_ = s.cli.RequestProgress(wctx) // best effort: the next event also advances
		}
	}
	return rev, nil
}

// waitApplied waits (bounded by WaitTimeout) for the view to apply the
// write committed at rev and returns what applying it gave.
func (s *Store) waitApplied(rev uint64) (applied, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.WaitTimeout)
	defer cancel()
	if err := s.WaitRevision(ctx, rev); err != nil {
		return applied{}, fmt.Errorf("etcdstore: committed at revision %d but not yet applied here: %w", rev, err)
	}
	s.mu.Lock()
	r, ok := s.results[rev]
	s.mu.Unlock()
	if !ok {
		// Applied during a rebuild, or evicted: the write is committed and
		// visible, only its local details are gone.
		return applied{}, nil
	}
	return r, nil
}

// The reads and operations below answer from the view.

func (s *Store) Chip(id string) (estimator.ChipSpec, error) { return s.view().Chip(id) }

func (s *Store) ListChips(after string, limit int, keep func(estimator.ChipSpec) bool) ([]estimator.ChipSpec, error) {
	return s.view().ListChips(after, limit, keep)
}

func (s *Store) Observations(year int) ([]estimator.Observation, uint64, error) {
	return s.view().Observations(year)
}

func (s *Store) Methodology(version uint64) (estimator.Methodology, error) {
	return s.view().Methodology(version)
}

func (s *Store) CellsWithFactors(province uint32) ([]estimator.Cell, estimator.Factors, uint64, error) {
	return s.view().CellsWithFactors(province)
}

func (s *Store) ScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, map[string]float64, uint64, error) {
	return s.view().ScoreInputs(year, version)
}

func (s *Store) NativeScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, uint64, error) {
	return s.view().NativeScoreInputs(year, version)
}

func (s *Store) OldestRevision() uint64 { return s.view().OldestRevision() }

func (s *Store) Changes(from uint64, limit int) ([]store.Change, error) {
	return s.view().Changes(from, limit)
}

func (s *Store) Subscribe(from uint64) store.Subscription { return s.view().Subscribe(from) }

// Compact drops this node's own watch history below before; etcd's history
// is compacted by etcd (--auto-compaction-*), not through a node.
func (s *Store) Compact(before uint64) (store.CompactResult, error) { return s.view().Compact(before) }

// Backup writes this node's view, which restores as a single-node store.
func (s *Store) Backup(w io.Writer) (store.BackupInfo, error) { return s.view().Backup(w) }

// Verify checks this node's view (cells against records, scores against
// inputs), as in single-node mode.
func (s *Store) Verify() (store.VerifyReport, error) { return s.view().Verify() }

// CheckPages checks this node's view file page by page (serve
// --check-on-start); a damaged view can simply be deleted and rebuilt.
func (s *Store) CheckPages() error { return s.view().CheckPages() }

func (s *Store) Stats() store.Stats {
	st := s.view().Stats()
	st.Revision = s.Revision()
	return st
}

var _ store.Store = (*Store)(nil)

// A view is marked by a file beside it (PATH.etcdview), written when the
// view is created. A rebuild deletes the view, so a file at --db without the
// mark, which may be a single-node database, is refused rather than
// overwritten.
func markerPath(path string) string { return path + ".etcdview" }

func checkViewMarker(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return writeViewMarker(path)
	} else if err != nil {
		return fmt.Errorf("etcdstore: view %s: %w", path, err)
	}
	if _, err := os.Stat(markerPath(path)); err != nil {
		return estimator.Errorf(estimator.EFailedPrecondition,
			"%s exists but is not a cluster-mode view (no %s): it may be a single-node database, which cluster mode would replace; give --db a new path", path, markerPath(path))
	}
	return nil
}

func writeViewMarker(path string) error {
	if err := os.WriteFile(markerPath(path), []byte("computescale cluster-mode view: rebuilt from etcd when needed\n"), 0o600); err != nil {
		return fmt.Errorf("etcdstore: mark view: %w", err)
	}
	return nil
}

// removeView deletes a view file that is to be rebuilt.
func removeView(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("etcdstore: remove stale view: %w", err)
	}
	return nil
}
