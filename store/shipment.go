package store

import (
	"bytes"
	"errors"
	"fmt"
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
// contributions to the cells, all or nothing, in one transaction.
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
// index years its cells count in are recomputed in the same transaction.
func (db *DB) IngestShipments(vendor string, recs []estimator.Record, replace bool) (IngestResult, error) {
	if err := checkVendor(vendor); err != nil {
		return IngestResult{}, err
	}
	var res IngestResult
	err := db.update(func(tx *bbolt.Tx) (bool, error) {
		in, err := newIngest(tx, vendor, replace)
		if err != nil {
			return false, err
		}
		if err := in.all(recs); err != nil {
			return false, err
		}
		res = in.res
		if res.Created+res.Replaced == 0 {
			return false, nil
		}
		cells, err := applyDeltas(tx, in.deltas)
		if err != nil {
			return false, err
		}
		return true, db.commitCells(tx, ChangeIngest, vendor, cells, &res.Revision, &res.ScoresChanged)
	})
	if err != nil {
		return IngestResult{}, err
	}
	return res, nil
}

// ingest is the state of one batch inside its transaction.
type ingest struct {
	vendor   string
	replace  bool
	bucket   *bbolt.Bucket // records/<vendor>
	refs     *bbolt.Bucket
	chips    *chipCache
	deltas   cellDeltas
	seen     map[string]int // record id -> index in the batch
	invalid  []estimator.FieldViolation
	conflict []estimator.FieldViolation
	res      IngestResult
}

func newIngest(tx *bbolt.Tx, vendor string, replace bool) (*ingest, error) {
	rev, err := readRevision(tx)
	if err != nil {
		return nil, err
	}
	// Creating the bucket in a batch that later rolls back leaves no trace.
	b, err := tx.Bucket(bucketRecords).CreateBucketIfNotExists([]byte(vendor))
	if err != nil {
		return nil, fmt.Errorf("store: vendor bucket %q: %w", vendor, err)
	}
	return &ingest{
		vendor: vendor, replace: replace, bucket: b,
		refs: tx.Bucket(bucketChipRefs), chips: newChipCache(tx),
		deltas: cellDeltas{}, seen: map[string]int{},
		res: IngestResult{Revision: rev},
	}, nil
}

// all processes every record, then turns the collected violations into the
// batch's one error. Only storage failures and overflow stop it early.
func (in *ingest) all(recs []estimator.Record) error {
	for i := range recs {
		if err := in.record(i, &recs[i]); err != nil {
			return err
		}
	}
	if err := estimator.Invalid("batch has invalid records", in.invalid); err != nil {
		return err
	}
	if len(in.conflict) > 0 {
		return &estimator.Error{
			Code:       estimator.EAlreadyExists,
			Message:    fmt.Sprintf("%d records exist with different content; set replace to overwrite them", len(in.conflict)),
			Violations: in.conflict,
		}
	}
	return nil
}

func (in *ingest) record(i int, r *estimator.Record) error {
	prefix := fmt.Sprintf("records[%d].", i)
	if p := recordIDProblem(r.ID); p != "" {
		in.violate(prefix, estimator.FieldViolation{Field: "record_id", Description: p})
		return nil
	}
	if j, dup := in.seen[r.ID]; dup {
		in.violate(prefix, estimator.FieldViolation{Field: "record_id",
			Description: fmt.Sprintf("record id %q is also records[%d]", r.ID, j)})
		return nil
	}
	in.seen[r.ID] = i
	content, err := encodeContent(r)
	if err != nil {
		return in.domainError(prefix, err)
	}
	key := []byte(r.ID)
	old := in.bucket.Get(key)
	if old != nil {
		prevContent, _, err := splitRecordValue(old)
		if err != nil {
			return fmt.Errorf("store: record %s/%s: %w", in.vendor, r.ID, err)
		}
		if bytes.Equal(prevContent, content) {
			in.res.Unchanged++
			return nil
		}
		if !in.replace {
			in.conflict = append(in.conflict, estimator.FieldViolation{Field: prefix + "record_id",
				Description: fmt.Sprintf("record %s exists with different content; set replace", r.ID)})
			return nil
		}
	}
	cs, err := in.chips.derive(r)
	if err != nil {
		return in.domainError(prefix, err)
	}
	if len(in.invalid)+len(in.conflict) > 0 {
		return nil // the batch will fail: only look for more violations
	}
	if old != nil {
		if err := in.unstore(r.ID, old); err != nil {
			return err
		}
		in.res.Replaced++
	} else {
		in.res.Created++
	}
	return in.store(i, r, content, cs)
}

// unstore takes a stored record's contributions out of the deltas and drops
// its chip references, before a replacement is stored under its id.
func (in *ingest) unstore(id string, old []byte) error {
	prev, cs, err := decodeRecordValue(old)
	if err != nil {
		return fmt.Errorf("store: record %s/%s: %w", in.vendor, id, err)
	}
	if err := in.deltas.add(prev.Province, cs, -1); err != nil {
		return err
	}
	return deleteChipRefs(in.refs, in.vendor, &prev)
}

func (in *ingest) store(i int, r *estimator.Record, content []byte, cs []estimator.Contribution) error {
	if err := in.deltas.add(r.Province, cs, +1); err != nil {
		return &estimator.Error{Code: estimator.EResourceExhausted, Message: "batch would overflow a cell",
			Violations: []estimator.FieldViolation{{Field: fmt.Sprintf("records[%d].units", i), Description: err.Error()}}}
	}
	v, err := encodeRecordValue(content, cs)
	if err == nil {
		err = in.bucket.Put([]byte(r.ID), v)
	}
	if err != nil {
		return fmt.Errorf("store: write record %s/%s: %w", in.vendor, r.ID, err)
	}
	for _, chipID := range r.ChipIDs() {
		if err := in.refs.Put(chipRefKey(chipID, in.vendor, r.ID), nil); err != nil {
			return fmt.Errorf("store: write chipref: %w", err)
		}
	}
	return nil
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

func deleteChipRefs(refs *bbolt.Bucket, vendor string, r *estimator.Record) error {
	for _, chipID := range r.ChipIDs() {
		if err := refs.Delete(chipRefKey(chipID, vendor, r.ID)); err != nil {
			return fmt.Errorf("store: delete chipref: %w", err)
		}
	}
	return nil
}
