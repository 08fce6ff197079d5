package store

import (
	"encoding/binary"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// Preparing a batch.
//
// The committer is one goroutine, so whatever it does per record bounds
// ingest. Most of a batch's work does not need the write transaction: each
// record's encoding, its contributions against the catalog, the batch's sum
// of cell deltas and chip counts. SubmitShipments does that on the caller's
// goroutine, in a read transaction, and notes the catalog epoch it read
// (meta "catalog", which every chip write increments in its transaction).
// The committer then checks only what depends on the records already stored
// (which exist, which are identical) and, if the epoch is still the same,
// uses the prepared contributions and sums as they are; if a chip was
// written in between, it derives the batch again, as if nothing had been
// prepared. Reading the epoch and the chips in one transaction, and checking
// the epoch in the write transaction, leaves no window for a stale catalog.

// preparedBatch is a batch as SubmitShipments prepared it.
type preparedBatch struct {
	recs []prepared
	// derived says the fields below, and every record's cs and value, hold
	// for catalog epoch: false if the read failed or a sum would overflow.
	derived bool
	epoch   uint64
	deltas  cellDeltas // every record that derived, as if all were new
	refs    refCounts  // likewise
}

// prepared is one record of a preparedBatch.
type prepared struct {
	key    []byte
	framed []byte                   // the value up to the contributions
	value  []byte                   // framed with cs appended, if derived
	cs     []estimator.Contribution // if derived without error
	err    error                    // encoding failure
	derr   error                    // derivation failure
}

// contributionRoom is how many contributions a framed value has room for
// without a copy: a general server has one, an AI server two (its host CPUs
// are a series of their own); more costs one copy.
const contributionRoom = 2

func (db *DB) prepare(vendor string, recs []estimator.Record) *preparedBatch {
	pb := &preparedBatch{recs: make([]prepared, len(recs))}
	for i := range recs {
		pr := &pb.recs[i]
		pr.key = []byte(recs[i].ID)
		pr.framed, pr.err = encodeFramedContent(&recs[i], contributionRoom)
	}
	err := db.read(func(tx *bbolt.Tx) error {
		pb.epoch = readCatalogEpoch(tx)
		chips := newChipCache(tx)
		pb.deltas, pb.refs = cellDeltas{}, refCounts{}
		for i := range recs {
			pr := &pb.recs[i]
			if pr.err != nil {
				continue
			}
			if pr.cs, pr.derr = chips.derive(&recs[i]); pr.derr != nil {
				continue
			}
			if err := pb.deltas.add(recs[i].Province, pr.cs, +1); err != nil {
				return err // overflow: the committer will name the record
			}
			pb.refs.add(vendor, &recs[i], +1)
			if pr.value, pr.derr = appendContributions(pr.framed, pr.cs); pr.derr != nil {
				return pr.derr
			}
		}
		return nil
	})
	pb.derived = err == nil
	return pb
}

// readCatalogEpoch returns meta "catalog", 0 if absent.
func readCatalogEpoch(tx *bbolt.Tx) uint64 {
	v := tx.Bucket(bucketMeta).Get(keyCatalog)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// bumpCatalogEpoch marks, in a chip write's transaction, that prepared
// contributions from before it are stale.
func bumpCatalogEpoch(tx *bbolt.Tx) error {
	return tx.Bucket(bucketMeta).Put(keyCatalog, binary.BigEndian.AppendUint64(nil, readCatalogEpoch(tx)+1))
}
