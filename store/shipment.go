package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// IngestResult says what IngestShipments did.
type IngestResult struct {
	Revision  uint64 // the new revision, or the current one if nothing changed
	Created   int    // records that did not exist
	Replaced  int    // records that existed with other content (replace set)
	Unchanged int    // records that existed with identical content
	// ScoresChanged is how many stored score summaries the batch changed.
	ScoresChanged int
}

// IngestShipments stores a vendor's batch of records and adds their
// contributions to the cells, all or nothing, and returns once the batch is
// durable. It is SubmitShipments followed by Wait.
//
// The records must have passed estimator.Record.Validate. Errors name fields
// as "vendor" or "records[i]....":
//   - EInvalid: an invalid vendor, a record id repeated in the batch, or
//     records that refer to unknown chips or derive no compute; every such
//     violation of the batch is reported at once;
//   - EAlreadyExists: records that exist with different content while
//     replace is false;
//   - EResourceExhausted: a cell would overflow.
//
// An identical resend changes nothing and keeps the revision. Otherwise the
// batch gets one new revision and one change-log entry, and the scores of the
// index years its cells count in are recomputed in the same transaction
// (group.go: once for every batch committed with it).
func (db *DB) IngestShipments(vendor string, recs []estimator.Record, replace bool) (IngestResult, error) {
	return db.SubmitShipments(vendor, recs, replace).Wait()
}

// SubmitShipments queues a batch for the committer and returns at once.
// Batches commit in the order they are submitted, so a caller may submit its
// next batch before the previous one is durable and still see them applied
// in order. recs must not change until Wait returns.
func (db *DB) SubmitShipments(vendor string, recs []estimator.Record, replace bool) Pending {
	p := &pending{vendor: vendor, recs: recs, replace: replace, done: make(chan struct{})}
	if err := checkVendor(vendor); err != nil {
		p.finish(err)
		return p
	}
	p.prepared = db.prepare(vendor, recs)
	db.group.submit(p)
	return p
}

// applyIngest checks p's batch against tx and, only if all of it passes,
// writes its records and adds its cells' new amounts to cells, which the
// group writes once after its last batch (a cell many batches move is
// written once). rejected is the batch's own error, returned before anything
// was written; err is a failure to write, which dooms the whole transaction.
func (db *DB) applyIngest(tx *bbolt.Tx, p *pending, cells cellDeltas) (changed bool, rejected, err error) {
	in, err := newIngest(tx, p.vendor, p.replace)
	if err != nil {
		return false, err, nil
	}
	if err := in.check(p.recs, p.prepared); err != nil {
		return false, err, nil
	}
	p.res = in.res
	if in.res.Created+in.res.Replaced == 0 {
		return false, nil, nil
	}
	planned, err := planCells(tx, in.deltas, cells)
	if err != nil {
		return false, err, nil // finish clears p.res for a rejected batch
	}
	if err := in.write(); err != nil {
		return false, nil, err
	}
	for _, c := range planned {
		cells[makeCellKey(c.Province, c.Series, c.Period)] = c.Amount
	}
	p.cells = planned
	p.im.addCells(planned)
	return true, nil, nil
}

// ingest is the state of one batch inside its transaction.
type ingest struct {
	tx       *bbolt.Tx
	vendor   string
	replace  bool
	bucket   *bbolt.Bucket // records/<vendor>; nil until the vendor has one
	chips    *chipCache
	deltas   cellDeltas
	refs     refCounts
	fast     bool     // the prepared contributions and sums hold (prepare.go)
	olds     [][]byte // per record: its stored value, nil if new
	dupOf    []int    // per record: the earlier record with its id, or -1
	plans    []planned
	invalid  []estimator.FieldViolation
	conflict []estimator.FieldViolation
	res      IngestResult
}

// planned is a record that passed its checks and is to be written.
type planned struct {
	rec   *estimator.Record
	key   []byte
	value []byte // the whole record value
}

func newIngest(tx *bbolt.Tx, vendor string, replace bool) (*ingest, error) {
	rev, err := readRevision(tx)
	if err != nil {
		return nil, err
	}
	return &ingest{
		tx: tx, vendor: vendor, replace: replace,
		bucket: tx.Bucket(bucketRecords).Bucket([]byte(vendor)),
		chips:  newChipCache(tx), deltas: cellDeltas{}, refs: refCounts{},
		res: IngestResult{Revision: rev},
	}, nil
}

// check looks at every record without writing anything, plans the writes and
// sums the cell deltas and chip counts, then turns the collected violations
// into the batch's one error. Only a corrupt stored record or an overflow
// stops it early. With pb's sums still valid (the catalog unchanged since
// SubmitShipments prepared them) it starts from them, as if every record
// were new, and takes back what the records that exist change.
func (in *ingest) check(recs []estimator.Record, pb *preparedBatch) error {
	in.plans = make([]planned, 0, len(recs))
	in.fast = pb.derived && pb.epoch == readCatalogEpoch(in.tx)
	if in.fast {
		in.deltas, in.refs = pb.deltas, pb.refs
	}
	in.lookup(pb.recs)
	for i := range recs {
		if err := in.checkRecord(i, &recs[i], &pb.recs[i]); err != nil {
			return err
		}
	}
	if err := estimator.Invalid("batch rejected: invalid records", in.invalid); err != nil {
		return err
	}
	if len(in.conflict) > 0 {
		return &estimator.Error{
			Code:       estimator.EAlreadyExists,
			Message:    fmt.Sprintf("batch rejected: %d records exist with different content; set replace to overwrite them", len(in.conflict)),
			Violations: in.conflict,
		}
	}
	return nil
}

func (in *ingest) checkRecord(i int, r *estimator.Record, pr *prepared) error {
	prefix := "records[" + strconv.Itoa(i) + "]."
	if p := recordIDProblem(r.ID); p != "" {
		in.violate(prefix, estimator.FieldViolation{Field: "record_id", Description: p})
		return nil
	}
	if j := in.dupOf[i]; j >= 0 {
		in.violate(prefix, estimator.FieldViolation{Field: "record_id",
			Description: fmt.Sprintf("record id %q is also records[%d]", r.ID, j)})
		return nil
	}
	if pr.err != nil {
		return in.domainError(prefix, pr.err)
	}
	content := pr.framed[5:]
	old := in.olds[i]
	if old != nil {
		prevContent, _, err := splitRecordValue(old)
		if err != nil {
			return fmt.Errorf("store: record %s/%s: %w", in.vendor, r.ID, err)
		}
		if bytes.Equal(prevContent, content) {
			in.res.Unchanged++
			if in.fast && pr.derr == nil {
				// The prepared sums counted it as new.
				in.refs.add(in.vendor, r, -1)
				return in.deltas.add(r.Province, pr.cs, -1)
			}
			return nil
		}
		if !in.replace {
			in.conflict = append(in.conflict, estimator.FieldViolation{Field: prefix + "record_id",
				Description: fmt.Sprintf("record %s exists with different content; set replace", r.ID)})
			return nil
		}
	}
	cs, derr := pr.cs, pr.derr
	if !in.fast {
		cs, derr = in.chips.derive(r)
	}
	if derr != nil {
		return in.domainError(prefix, derr)
	}
	if len(in.invalid)+len(in.conflict) > 0 {
		return nil // the batch will fail: only look for more violations
	}
	p := planned{rec: r, key: pr.key, value: pr.value}
	if old != nil {
		prev, prevCS, err := decodeRecordValue(old)
		if err != nil {
			return fmt.Errorf("store: record %s/%s: %w", in.vendor, r.ID, err)
		}
		if err := in.deltas.add(prev.Province, prevCS, -1); err != nil {
			return err
		}
		in.refs.add(in.vendor, &prev, -1)
		in.res.Replaced++
	} else {
		in.res.Created++
	}
	if !in.fast {
		if err := in.deltas.add(r.Province, cs, +1); err != nil {
			return &estimator.Error{Code: estimator.EResourceExhausted, Message: "batch rejected: a cell would overflow",
				Violations: []estimator.FieldViolation{{Field: prefix + "units", Description: err.Error()}}}
		}
		in.refs.add(in.vendor, r, +1)
		// A copy: the framed value's spare room may hold the prepared
		// contributions, which are stale.
		v, err := appendContributions(pr.framed[:len(pr.framed):len(pr.framed)], cs)
		if err != nil {
			return fmt.Errorf("store: encode record %s/%s: %w", in.vendor, r.ID, err)
		}
		p.value = v
	}
	in.plans = append(in.plans, p)
	return nil
}

// lookup finds every record's stored value and every id repeated in the
// batch with one cursor walk in key order: a Seek only where the cursor is
// behind the next key, so a batch of new records, whose ids mostly fall
// between the same two stored keys, costs a few Seeks instead of a Get each.
// Values stay valid to the end of the transaction: nothing is written before
// check ends.
func (in *ingest) lookup(prep []prepared) {
	n := len(prep)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return bytes.Compare(prep[a].key, prep[b].key) })
	in.olds, in.dupOf = make([][]byte, n), make([]int, n)
	var c *bbolt.Cursor
	if in.bucket != nil {
		c = in.bucket.Cursor()
	}
	var ck, cv []byte
	sought, first := false, -1
	for j, i := range order {
		key := prep[i].key
		in.dupOf[i] = -1
		if j > 0 && bytes.Equal(prep[order[j-1]].key, key) {
			in.dupOf[i] = first // the stable sort keeps the earliest first
			continue
		}
		first = i
		if c == nil {
			continue
		}
		if !sought || ck != nil && bytes.Compare(ck, key) < 0 {
			ck, cv = c.Seek(key)
			sought = true
		}
		if ck != nil && bytes.Equal(ck, key) {
			in.olds[i] = cv
		}
	}
}

// write stores the planned records and the chip counts.
func (in *ingest) write() error {
	if in.bucket == nil {
		b, err := in.tx.Bucket(bucketRecords).CreateBucketIfNotExists([]byte(in.vendor))
		if err != nil {
			return fmt.Errorf("store: vendor bucket %q: %w", in.vendor, err)
		}
		in.bucket = b
	}
	for _, p := range in.plans {
		if err := in.bucket.Put(p.key, p.value); err != nil {
			return fmt.Errorf("store: write record %s/%s: %w", in.vendor, p.rec.ID, err)
		}
	}
	return in.refs.apply(in.tx)
}

// domainError files an EInvalid error's violations under prefix and returns
// nil, so the batch goes on collecting; any other error is returned.
func (in *ingest) domainError(prefix string, err error) error {
	var de *estimator.Error
	if !errors.As(err, &de) || de.Code != estimator.EInvalid {
		return err
	}
	if len(de.Violations) == 0 {
		in.violate(prefix, estimator.FieldViolation{Description: de.Message})
	}
	in.violate(prefix, de.Violations...)
	return nil
}

// violate records violations under prefix; a field-less one names the record.
func (in *ingest) violate(prefix string, vs ...estimator.FieldViolation) {
	for _, v := range estimator.Prefix(prefix, vs) {
		v.Field = strings.TrimSuffix(v.Field, ".")
		in.invalid = append(in.invalid, v)
	}
}
