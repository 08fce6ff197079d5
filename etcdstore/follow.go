package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

var errCompacted = errors.New("etcd compacted past the view")

func isCompacted(err error) bool {
	return errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, errCompacted)
}

// follow applies etcd's changes to the view for as long as the store is
// open, re-watching after an error and rebuilding after a compaction.
func (s *Store) follow() {
	defer s.wg.Done()
	backoff := 50 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.watch()
		if s.ctx.Err() != nil {
			return
		}
		if isCompacted(err) {
			s.log.Warn("etcd compacted past this node's view; rebuilding", "applied", s.applied.Load())
			if err = s.rebuildLive(); err == nil {
				backoff = 50 * time.Millisecond
				continue
			}
		}
		s.log.Warn("etcd watch ended; resuming", "applied", s.applied.Load(), "err", err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// watch follows etcd from the revision after the view's until the watch
// fails. WithRequireLeader ends the watch when its member loses the
// quorum, so the client moves to a member that still has one.
func (s *Store) watch() error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(s.ctx))
	defer cancel()
	s.watchMu.Lock()
	s.watchCx = wctx
	s.watchMu.Unlock()
	from := s.applied.Load() + 1
	wch := s.cli.Watch(wctx, s.prefix, clientv3.WithPrefix(), clientv3.WithRev(int64(from)), clientv3.WithProgressNotify())
	for resp := range wch {
		if resp.CompactRevision != 0 {
			return errCompacted
		}
		if err := resp.Err(); err != nil {
			return err
		}
		if resp.IsProgressNotify() {
			s.advance(uint64(resp.Header.Revision), nil)
			continue
		}
		// etcd never splits one revision's events across responses.
		evs := resp.Events
		for i := 0; i < len(evs); {
			rev := evs[i].Kv.ModRevision
			j := i + 1
			for j < len(evs) && evs[j].Kv.ModRevision == rev {
				j++
			}
			if uint64(rev) > s.applied.Load() {
				r := s.apply(uint64(rev), evs[i:j])
				s.advance(uint64(rev), &r)
			}
			i = j
		}
	}
	if s.ctx.Err() != nil {
		return s.ctx.Err()
	}
	return errors.New("watch channel closed")
}

// apply turns one etcd transaction's events into one local write committed
// at rev. Every transaction this package writes touches one kind of key (and
// the stamp), so one local write suffices.
func (s *Store) apply(rev uint64, evs []*clientv3.Event) applied {
	var stamp entry
	var puts []entry
	var dels []string
	for _, ev := range evs {
		key := string(ev.Kv.Key)
		rest := strings.TrimPrefix(key, s.prefix)
		if rest == stampKey {
			if e, err := decodeEntry(ev.Kv.Value); err == nil {
				stamp = e
			}
			continue
		}
		if ev.Type == mvccpb.DELETE {
			dels = append(dels, rest)
			continue
		}
		e, err := decodeEntry(ev.Kv.Value)
		if err != nil {
			return s.applyFailed(rev, fmt.Errorf("key %s: %w", key, err))
		}
		puts = append(puts, e)
	}
	s.clock.Store(stamp.Time)
	defer s.clock.Store(0)
	db := s.view()
	db.RaiseNextRevision(rev)
	r := s.applyEntries(db, stamp, puts, dels)
	if r.err != nil && estimator.ErrorCode(r.err) == estimator.EInternal {
		return s.applyFailed(rev, r.err)
	}
	return r
}

func (s *Store) applyFailed(rev uint64, err error) applied {
	// The view cannot skip a revision and stay equal to the other nodes';
	// it logs loudly and carries on (Verify on this node will show what
	// differs), which is better than serving nothing.
	s.log.Error("cluster view could not apply an etcd revision", "revision", rev, "err", err)
	return applied{err: fmt.Errorf("etcdstore: apply revision %d: %w", rev, err)}
}

// applyEntries writes puts and deletes of one kind to db: the view, or a
// fresh one that a rebuild fills before anyone can read it.
func (s *Store) applyEntries(db *store.DB, stamp entry, puts []entry, dels []string) applied {
	switch {
	case len(dels) > 0:
		byVendor := map[string][]string{}
		for _, rest := range dels {
			if !strings.HasPrefix(rest, kindRecord) {
				continue
			}
			vendor, id, err := parseRecordKey(strings.TrimPrefix(rest, kindRecord))
			if err != nil {
				return applied{err: err}
			}
			byVendor[vendor] = append(byVendor[vendor], id)
		}
		for vendor, ids := range byVendor {
			res, err := db.Retract(vendor, ids, true)
			return applied{res: res, err: err}
		}
	case len(puts) == 0:
	case puts[0].R != nil:
		recs := make([]estimator.Record, 0, len(puts))
		for _, e := range puts {
			if e.R != nil {
				recs = append(recs, *e.R)
			}
		}
		res, err := db.SubmitShipments(stamp.Actor, recs, true).Wait()
		return applied{res: res, err: err}
	case puts[0].C != nil:
		res, err := db.PutChip(*puts[0].C)
		return applied{res: res, err: err}
	case puts[0].O != nil:
		obs := make([]estimator.Observation, 0, len(puts))
		for _, e := range puts {
			if e.O != nil {
				obs = append(obs, *e.O)
			}
		}
		res, err := db.PutObservationsWith(stamp.Actor, obs, store.ObservationOptions{Replace: true, Force: true})
		return applied{res: res, err: err}
	case puts[0].M != nil:
		cur, err := db.Methodology(0)
		if err != nil {
			return applied{err: err}
		}
		if cur.Version >= puts[0].M.Version {
			return applied{} // applied before a restart
		}
		res, err := db.PutMethodology(*puts[0].M)
		return applied{res: res, err: err}
	}
	return applied{}
}

// rebuild fills a fresh view from a snapshot of etcd read at one revision S:
// chips first (records refer to them), then methodology versions in order,
// observations and records by actor. The k local writes take revisions
// S-k+1..S, so that the view ends exactly at S; the view's own change log is
// then compacted to S, since those writes are not etcd's history.
//
// The fresh view becomes visible only once it holds all of S: until then
// s.view() is the old view, closed (its file is gone), so a read that
// passed WaitRevision on the old applied revision gets an error rather than
// an answer from a half-filled view that lacks writes it must see.
func (s *Store) rebuild(ctx context.Context) (err error) {
	if old := s.view(); old != nil {
		old.Close()
	}
	if err := removeView(s.opts.Path); err != nil {
		return err
	}
	db, err := store.Open(s.opts.Path, s.opts.Local)
	if err != nil {
		return fmt.Errorf("etcdstore: open fresh view: %w", err)
	}
	defer func() {
		if err != nil {
			db.Close() // never published: release its file lock for a retry
		}
	}()
	if h := s.rebuildHook.Load(); h != nil {
		(*h)()
	}
	kvs, rev, err := s.snapshot(ctx)
	if err != nil {
		return err
	}
	var chips, methods []entry
	obs := map[string][]entry{}
	recs := map[string][]entry{}
	for _, kv := range kvs {
		rest := strings.TrimPrefix(string(kv.Key), s.prefix)
		if rest == stampKey {
			continue
		}
		e, err := decodeEntry(kv.Value)
		if err != nil {
			return fmt.Errorf("etcdstore: rebuild: key %s: %w", kv.Key, err)
		}
		switch {
		case e.C != nil:
			chips = append(chips, e)
		case e.M != nil:
			methods = append(methods, e)
		case e.O != nil:
			obs[e.Actor] = append(obs[e.Actor], e)
		case e.R != nil:
			recs[e.Actor] = append(recs[e.Actor], e)
		}
	}
	sort.Slice(methods, func(i, j int) bool { return methods[i].M.Version < methods[j].M.Version })
	var writes [][]entry
	for _, c := range chips {
		writes = append(writes, []entry{c})
	}
	for _, m := range methods {
		writes = append(writes, []entry{m})
	}
	for _, actor := range sortedKeys(obs) {
		writes = append(writes, obs[actor])
	}
	const chunk = 5000
	for _, vendor := range sortedKeys(recs) {
		rs := recs[vendor]
		for len(rs) > 0 {
			n := min(chunk, len(rs))
			writes = append(writes, rs[:n])
			rs = rs[n:]
		}
	}
	if uint64(len(writes)) > rev {
		return fmt.Errorf("etcdstore: rebuild: %d writes do not fit below revision %d", len(writes), rev)
	}
	base := rev - uint64(len(writes)) + 1
	for i, w := range writes {
		db.RaiseNextRevision(base + uint64(i))
		s.clock.Store(w[0].Time)
		r := s.applyEntries(db, entry{Actor: w[0].Actor, Time: w[0].Time}, w, nil)
		s.clock.Store(0)
		if r.err != nil {
			return fmt.Errorf("etcdstore: rebuild at revision %d: %w", rev, r.err)
		}
	}
	if local := db.Revision(); local > 0 {
		if _, err := db.Compact(local); err != nil {
			return fmt.Errorf("etcdstore: rebuild: compact the view's log: %w", err)
		}
	}
	s.dbp.Store(db)
	s.advance(rev, nil)
	s.log.Info("cluster view rebuilt from an etcd snapshot", "revision", rev, "keys", len(kvs), "writes", len(writes))
	return nil
}

// rebuildLive rebuilds while serving: readers get errors from the closed
// old view until the new one, complete, is in place (subscribers are told
// to resume). Revision() stays at the old view's until the swap, then moves
// up to the snapshot's revision, so it never goes down.
func (s *Store) rebuildLive() error {
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	return s.rebuild(ctx)
}

// snapshot reads every key under the prefix at one revision, in pages.
func (s *Store) snapshot(ctx context.Context) ([]*mvccpb.KeyValue, uint64, error) {
	const page = 2000
	var out []*mvccpb.KeyValue
	from := s.prefix
	end := clientv3.GetPrefixRangeEnd(s.prefix)
	var rev int64
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(page)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, from, opts...)
		if err != nil {
			return nil, 0, fmt.Errorf("etcdstore: snapshot: %w", err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		out = append(out, resp.Kvs...)
		if !resp.More || len(resp.Kvs) == 0 {
			return out, uint64(rev), nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
