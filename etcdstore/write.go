package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// Every write reads the current values of its keys, decides (identical,
// new, changed, conflict) exactly as the single-node store does, and commits
// one transaction that holds only if none of the keys it writes changed
// since it read them; if one did, it reads again. txnAttempts bounds that
// (only writers of the same keys at the same moment contend).
const (
	txnAttempts = 8
	// defaultTxnOps is etcd's default --max-txn-ops, which every etcd
	// accepts: reads fall back to chunks of it when etcd refuses more.
	defaultTxnOps = 128
)

type current struct {
	value []byte
	mod   int64
}

// getMany reads keys (linearizably), returning those that exist.
func (s *Store) getMany(ctx context.Context, keys []string) (map[string]current, error) {
	out := make(map[string]current, len(keys))
	for len(keys) > 0 {
		// One read transaction for the whole batch when etcd allows it
		// (a cluster sized for computescale's batches does): one round
		// trip instead of one per 128 keys.
		chunk := len(keys)
		if s.smallTxns.Load() {
			chunk = defaultTxnOps
		}
		n := min(chunk, len(keys))
		ops := make([]clientv3.Op, n)
		for i, k := range keys[:n] {
			ops[i] = clientv3.OpGet(k)
		}
		resp, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if errors.Is(err, rpctypes.ErrTooManyOps) && n > defaultTxnOps {
			s.smallTxns.Store(true)
			continue
		}
		if err != nil {
			return nil, etcdError("read", err)
		}
		for _, r := range resp.Responses {
			for _, kv := range r.GetResponseRange().Kvs {
				out[string(kv.Key)] = current{value: kv.Value, mod: kv.ModRevision}
			}
		}
		keys = keys[n:]
	}
	return out, nil
}

// commit runs one write transaction with the stamp added.
func (s *Store) commit(ctx context.Context, actor string, cmps []clientv3.Cmp, ops []clientv3.Op) (rev uint64, ok bool, err error) {
	stamp, err := encodeEntry(entry{Time: time.Now().UnixNano(), Actor: actor})
	if err != nil {
		return 0, false, err
	}
	ops = append(ops, clientv3.OpPut(s.prefix+stampKey, string(stamp)))
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, false, etcdError("commit", err)
	}
	return uint64(resp.Header.Revision), resp.Succeeded, nil
}

// commitApplied commits one write transaction and waits until this node's
// view has applied it; ok is false when a compared key changed since it was
// read (the caller reads again).
func (s *Store) commitApplied(ctx context.Context, actor string, cmps []clientv3.Cmp, ops []clientv3.Op) (rev uint64, a applied, ok bool, err error) {
	rev, ok, err = s.commit(ctx, actor, cmps, ops)
	if err != nil || !ok {
		return rev, applied{}, ok, err
	}
	a, err = s.waitApplied(rev)
	return rev, a, true, err
}

// etcdError maps what etcd refuses to the domain's codes.
func etcdError(what string, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps):
		return estimator.Errorf(estimator.EResourceExhausted,
			"the batch needs more operations in one etcd transaction than etcd's --max-txn-ops allows; send smaller batches or raise it")
	case errors.Is(err, rpctypes.ErrRequestTooLarge):
		return estimator.Errorf(estimator.EResourceExhausted,
			"the batch is larger than etcd's --max-request-bytes; send smaller batches or raise it")
	case errors.Is(err, rpctypes.ErrNoSpace):
		return estimator.Errorf(estimator.EResourceExhausted, "etcd is out of space (its quota is reached); compact and defragment it")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return estimator.Errorf(estimator.EUnavailable, "etcd did not answer in time (%s)", what)
	}
	return estimator.Errorf(estimator.EUnavailable, "etcd %s failed: %v", what, err)
}

func (s *Store) writeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.opts.WaitTimeout)
}

// pendingBatch is a submitted shipment batch.
type pendingBatch struct {
	vendor  string
	recs    []estimator.Record
	replace bool
	done    chan struct{}
	res     store.IngestResult
	err     error
	// closing is the store's context's Done: a batch that SubmitShipments
	// queued as the store closed may never be read, so Wait gives up on
	// it then (every etcd call of a batch still running fails then too).
	closing <-chan struct{}
}

func (p *pendingBatch) Wait() (store.IngestResult, error) {
	select {
	case <-p.done:
	case <-p.closing:
		select {
		case <-p.done: // finished as the store closed: its outcome stands
		default:
			return store.IngestResult{}, errClosing
		}
	}
	return p.res, p.err
}

var errClosing = estimator.Errorf(estimator.EUnavailable, "store is closing")

// SubmitShipments queues a batch; batches commit to etcd in submission
// order, and each is acknowledged once this node's view has applied it.
func (s *Store) SubmitShipments(vendor string, recs []estimator.Record, replace bool) store.Pending {
	p := &pendingBatch{vendor: vendor, recs: recs, replace: replace, done: make(chan struct{}), closing: s.ctx.Done()}
	select {
	case s.writes <- p:
	case <-s.ctx.Done():
		p.err = errClosing
		close(p.done)
	}
	return p
}

// commitShipments commits queued batches one at a time (so revisions follow
// submission order) and lets each wait for the view on its own goroutine, so
// the next transaction need not wait for the watch.
func (s *Store) commitShipments() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			for {
				select {
				case p := <-s.writes:
					p.err = errClosing
					close(p.done)
				default:
					return
				}
			}
		case p := <-s.writes:
			rev, res, err := s.ingest(p.vendor, p.recs, p.replace)
			if err != nil || rev == 0 {
				p.res, p.err = res, err
				close(p.done)
				continue
			}
			go func() {
				a, err := s.waitApplied(rev)
				if local, ok := a.res.(store.IngestResult); ok {
					res.ScoresChanged = local.ScoresChanged
				}
				res.Revision = rev
				p.res, p.err = res, err
				if err == nil && a.err != nil {
					p.err = a.err
				}
				close(p.done)
			}()
		}
	}
}

// ingest commits one batch; rev is 0 if nothing changed.
func (s *Store) ingest(vendor string, recs []estimator.Record, replace bool) (uint64, store.IngestResult, error) {
	if vendor == "" {
		return 0, store.IngestResult{}, estimator.Invalid("invalid vendor", []estimator.FieldViolation{{Field: "vendor", Description: "vendor is empty"}})
	}
	if err := s.checkRecords(recs); err != nil {
		return 0, store.IngestResult{}, err
	}
	keys := make([]string, len(recs))
	for i := range recs {
		keys[i] = s.recordKey(vendor, recs[i].ID)
	}
	ctx, cancel := s.writeCtx()
	defer cancel()
	now := time.Now().UnixNano()
	for range txnAttempts {
		cur, err := s.getMany(ctx, keys)
		if err != nil {
			return 0, store.IngestResult{}, err
		}
		var res store.IngestResult
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		var conflict []estimator.FieldViolation
		for i, k := range keys {
			r := &recs[i]
			old, exists := cur[k]
			if exists {
				if samePayload(old.value, r) {
					res.Unchanged++
					continue
				}
				if !replace {
					conflict = append(conflict, estimator.FieldViolation{Field: "records[" + strconv.Itoa(i) + "].record_id",
						Description: fmt.Sprintf("record %s exists with different content; set replace", r.ID)})
					continue
				}
				res.Replaced++
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", old.mod))
			} else {
				res.Created++
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
			}
			v, err := encodeEntry(entry{Time: now, Actor: vendor, R: r})
			if err != nil {
				return 0, store.IngestResult{}, err
			}
			ops = append(ops, clientv3.OpPut(k, string(v)))
		}
		if len(conflict) > 0 {
			return 0, store.IngestResult{}, &estimator.Error{Code: estimator.EAlreadyExists,
				Message:    fmt.Sprintf("%d records exist with different content; set replace to overwrite them", len(conflict)),
				Violations: conflict}
		}
		if len(ops) == 0 {
			res.Revision = s.Revision()
			return 0, res, nil
		}
		rev, ok, err := s.commit(ctx, vendor, cmps, ops)
		if err != nil {
			return 0, store.IngestResult{}, err
		}
		if ok {
			res.Revision = rev
			return rev, res, nil
		}
	}
	return 0, store.IngestResult{}, estimator.Errorf(estimator.EUnavailable, "records changed by another writer during %d attempts; retry", txnAttempts)
}

// checkRecords does what the single-node store checks before touching
// stored records: ids unique in the batch, every chip known and the record
// deriving compute. The catalog is this node's view; a chip it lacks may be
// a chip written through another node an instant ago, so it catches up with
// etcd once before calling the chip unknown.
func (s *Store) checkRecords(recs []estimator.Record) error {
	vs := s.recordViolations(recs)
	if len(vs) > 0 {
		ctx, cancel := s.writeCtx()
		if s.catchUp(ctx) == nil {
			vs = s.recordViolations(recs)
		}
		cancel()
	}
	return estimator.Invalid("batch has invalid records", vs)
}

func (s *Store) recordViolations(recs []estimator.Record) []estimator.FieldViolation {
	var vs []estimator.FieldViolation
	seen := make(map[string]int, len(recs))
	db := s.view()
	// A batch names a few chips many times: each is read from the view
	// once (a read transaction and a decode each).
	chips := map[string]*estimator.ChipSpec{}
	resolve := func(id string) (estimator.ChipSpec, bool) {
		spec, seen := chips[id]
		if !seen {
			if got, err := db.Chip(id); err == nil {
				spec = &got
			}
			chips[id] = spec
		}
		if spec == nil {
			return estimator.ChipSpec{}, false
		}
		return *spec, true
	}
	for i := range recs {
		prefix := "records[" + strconv.Itoa(i) + "]."
		if j, dup := seen[recs[i].ID]; dup {
			vs = append(vs, estimator.FieldViolation{Field: prefix + "record_id",
				Description: fmt.Sprintf("record id %q is also records[%d]", recs[i].ID, j)})
			continue
		}
		seen[recs[i].ID] = i
		if _, err := recs[i].Contributions(resolve); err != nil {
			var de *estimator.Error
			if !errors.As(err, &de) || len(de.Violations) == 0 {
				vs = append(vs, estimator.FieldViolation{Field: prefix[:len(prefix)-1], Description: err.Error()})
				continue
			}
			vs = append(vs, estimator.Prefix(prefix, de.Violations)...)
		}
	}
	return vs
}

// Retract deletes a vendor's records in one transaction.
func (s *Store) Retract(vendor string, ids []string, allowMissing bool) (store.RetractResult, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.recordKey(vendor, id)
	}
	ctx, cancel := s.writeCtx()
	defer cancel()
	for range txnAttempts {
		cur, err := s.getMany(ctx, keys)
		if err != nil {
			return store.RetractResult{}, err
		}
		var res store.RetractResult
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		seen := map[string]bool{}
		for i, k := range keys {
			old, ok := cur[k]
			if !ok {
				res.Missing = append(res.Missing, ids[i])
				continue
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", old.mod))
			ops = append(ops, clientv3.OpDelete(k))
		}
		if len(res.Missing) > 0 && !allowMissing {
			return store.RetractResult{}, &estimator.Error{Code: estimator.ENotFound,
				Message: fmt.Sprintf("vendor %q has no record %q (and %d more missing)", vendor, res.Missing[0], len(res.Missing)-1)}
		}
		if len(ops) == 0 {
			res.Revision = s.Revision()
			return res, nil
		}
		rev, a, ok, err := s.commitApplied(ctx, vendor, cmps, ops)
		if err != nil {
			return store.RetractResult{}, err
		}
		if !ok {
			continue
		}
		if local, ok := a.res.(store.RetractResult); ok {
			res.ScoresChanged = local.ScoresChanged
		}
		res.Retracted, res.Revision = len(ops), rev
		return res, a.err
	}
	return store.RetractResult{}, estimator.Errorf(estimator.EUnavailable, "records changed by another writer; retry")
}

// PutChip writes a chip spec; every node re-derives the records that use it.
func (s *Store) PutChip(spec estimator.ChipSpec) (store.PutChipResult, error) {
	if err := estimator.Invalid("invalid chip spec", spec.Validate("", true)); err != nil {
		return store.PutChipResult{}, err
	}
	k := s.chipKey(spec.ID)
	ctx, cancel := s.writeCtx()
	defer cancel()
	for range txnAttempts {
		cur, err := s.getMany(ctx, []string{k})
		if err != nil {
			return store.PutChipResult{}, err
		}
		cmp := clientv3.Compare(clientv3.CreateRevision(k), "=", 0)
		if old, ok := cur[k]; ok {
			if samePayload(old.value, &spec) {
				return store.PutChipResult{Unchanged: true, Revision: s.Revision()}, nil
			}
			cmp = clientv3.Compare(clientv3.ModRevision(k), "=", old.mod)
		}
		v, err := encodeEntry(entry{Time: time.Now().UnixNano(), C: &spec})
		if err != nil {
			return store.PutChipResult{}, err
		}
		rev, a, ok, err := s.commitApplied(ctx, "", []clientv3.Cmp{cmp}, []clientv3.Op{clientv3.OpPut(k, string(v))})
		if err != nil {
			return store.PutChipResult{}, err
		}
		if !ok {
			continue
		}
		res, _ := a.res.(store.PutChipResult)
		res.Revision = rev
		return res, a.err
	}
	return store.PutChipResult{}, estimator.Errorf(estimator.EUnavailable, "chip %s changed by another writer; retry", spec.ID)
}

// CheckObservations runs the single-node store's checks of a batch on this
// node's view, caught up with etcd's current revision, and writes nothing.
func (s *Store) CheckObservations(actor string, obs []estimator.Observation, opts store.ObservationOptions) error {
	ctx, cancel := s.writeCtx()
	err := s.catchUp(ctx)
	cancel()
	if err != nil {
		return err
	}
	return s.view().CheckObservations(actor, obs, opts)
}

// PutObservationsWith writes a batch of observations in one transaction.
// The checks that need stored values (the plausibility bounds against the
// largest stored value, conflicts) run first on this node's view, caught up
// with etcd's current revision; the transaction then re-checks conflicts
// against etcd itself. Every view applies the batch as forced, so that the
// views never disagree on a bound; a concurrent batch of the same indicator
// through another node can therefore pass bounds the two together would
// not (documented in the README).
func (s *Store) PutObservationsWith(actor string, obs []estimator.Observation, opts store.ObservationOptions) (store.ObservationResult, error) {
	if err := s.CheckObservations(actor, obs, opts); err != nil {
		return store.ObservationResult{}, err
	}
	keys := make([]string, len(obs))
	seen := map[string]int{}
	var invalid []estimator.FieldViolation
	for i := range obs {
		keys[i] = s.observationKey(&obs[i])
		if j, dup := seen[keys[i]]; dup {
			invalid = append(invalid, estimator.FieldViolation{Field: fmt.Sprintf("observations[%d].indicator", i),
				Description: fmt.Sprintf("%s of province %d in %d is also observations[%d]", obs[i].Indicator, obs[i].Province, obs[i].Year, j)})
		}
		seen[keys[i]] = i
	}
	if err := estimator.Invalid("batch has invalid observations", invalid); err != nil {
		return store.ObservationResult{}, err
	}
	ctx, cancel := s.writeCtx()
	defer cancel()
	now := time.Now().UnixNano()
	for range txnAttempts {
		cur, err := s.getMany(ctx, keys)
		if err != nil {
			return store.ObservationResult{}, err
		}
		var res store.ObservationResult
		var cmps []clientv3.Cmp
		var ops []clientv3.Op
		var conflict []estimator.FieldViolation
		for i, k := range keys {
			o := obs[i]
			o.Actor = actor
			if old, ok := cur[k]; ok {
				e, err := decodeEntry(old.value)
				if err == nil && e.O != nil && e.O.Value == o.Value && e.O.Unit == o.Unit && e.O.Source == o.Source {
					res.Unchanged++
					continue
				}
				if !opts.Replace {
					conflict = append(conflict, estimator.FieldViolation{Field: fmt.Sprintf("observations[%d].value", i),
						Description: fmt.Sprintf("%s of province %d in %d exists with another value; set replace", o.Indicator, o.Province, o.Year)})
					continue
				}
				res.Replaced++
				cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", old.mod))
			} else {
				res.Created++
				cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
			}
			v, err := encodeEntry(entry{Time: now, Actor: actor, Force: opts.Force, O: &o})
			if err != nil {
				return store.ObservationResult{}, err
			}
			ops = append(ops, clientv3.OpPut(k, string(v)))
		}
		if len(conflict) > 0 {
			return store.ObservationResult{}, &estimator.Error{Code: estimator.EAlreadyExists,
				Message: fmt.Sprintf("%d observations exist with other values; set replace to overwrite them", len(conflict)), Violations: conflict}
		}
		if len(ops) == 0 {
			res.Revision = s.Revision()
			return res, nil
		}
		rev, a, ok, err := s.commitApplied(ctx, actor, cmps, ops)
		if err != nil {
			return store.ObservationResult{}, err
		}
		if !ok {
			continue
		}
		if local, ok := a.res.(store.ObservationResult); ok {
			res.ScoresChanged = local.ScoresChanged
		}
		res.Revision = rev
		return res, a.err
	}
	return store.ObservationResult{}, estimator.Errorf(estimator.EUnavailable, "observations changed by another writer; retry")
}

// PutMethodology stores the next methodology version. Version numbers are
// taken in etcd (the key of version v is created only if absent), so two
// nodes cannot give the same number to different methodologies, and every
// view stores the versions in the same order under the same numbers.
func (s *Store) PutMethodology(m estimator.Methodology) (store.MethodologyResult, error) {
	// The weights are what a view would refuse a methodology for; check
	// them before etcd holds it.
	if _, _, err := m.Weights(); err != nil {
		return store.MethodologyResult{}, err
	}
	ctx, cancel := s.writeCtx()
	defer cancel()
	for range txnAttempts {
		resp, err := s.cli.Get(ctx, s.prefix+kindMethodology, clientv3.WithPrefix(),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(1), clientv3.WithKeysOnly())
		if err != nil {
			return store.MethodologyResult{}, etcdError("read methodologies", err)
		}
		last := uint64(1) // the built-in default every view starts with
		if len(resp.Kvs) == 1 {
			v, err := parseMethodologyVersion(string(resp.Kvs[0].Key[len(s.prefix)+len(kindMethodology):]))
			if err != nil {
				return store.MethodologyResult{}, fmt.Errorf("etcdstore: methodology key %s: %w", resp.Kvs[0].Key, err)
			}
			last = max(last, v)
		}
		m.Version = last + 1
		k := s.methodologyKey(m.Version)
		v, err := encodeEntry(entry{Time: time.Now().UnixNano(), M: &m})
		if err != nil {
			return store.MethodologyResult{}, err
		}
		rev, a, ok, err := s.commitApplied(ctx, "", []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k), "=", 0)},
			[]clientv3.Op{clientv3.OpPut(k, string(v))})
		if err != nil {
			return store.MethodologyResult{}, err
		}
		if !ok {
			continue
		}
		res, _ := a.res.(store.MethodologyResult)
		res.Revision = rev
		return res, a.err
	}
	return store.MethodologyResult{}, estimator.Errorf(estimator.EUnavailable, "methodology versions contended; retry")
}
