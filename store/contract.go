package store

import (
	"io"

	"github.com/computescale/computescale/estimator"
)

// Store is the contract between the server and whatever keeps its data. The
// server depends on this interface alone, so that a second implementation
// (etcd as the source of truth, materialised into a local view) fits without
// touching a handler. *DB, one bbolt file, is the reference implementation;
// its methods document the details, and the guarantees below are what every
// implementation must give. Every method is safe for concurrent use.
//
// Revisions.
//   - Every committed write that changes something gets exactly one
//     revision, greater than every revision committed before it. Revisions
//     MAY have gaps (an etcd revision also counts writes to other keys):
//     no caller may infer a lost or compacted change from a gap. *DB has
//     none (each write adds one); revision 0 means nothing was written.
//   - A write that changes nothing (an identical resend, an unchanged chip
//     spec) commits nothing, takes no revision and reports the current one.
//   - Revision is cheap (no transaction, no round trip) and never goes
//     down. Once a write has returned its result (and so may have been
//     acknowledged), Revision is at or above that write's revision, and so
//     is the revision of every later read.
//   - Every read that returns a revision (CellsWithFactors, Observations,
//     ScoreInputs, NativeScoreInputs) returns the one its data is consistent
//     with, read in one snapshot: at least the Revision seen before the call.
//
// Writes.
//   - A write is all or nothing, and durable before it returns (an
//     acknowledged write survives kill -9 of the process).
//   - Idempotency: a resend of what is stored is a no-op; a changed record,
//     observation or spec without replace is EAlreadyExists (records keyed by
//     vendor and record id, so a vendor can only ever reach its own).
//   - SubmitShipments returns at once; batches commit in submission order,
//     so a caller may submit its next batch before Wait returns for the
//     previous one, and revisions follow submission order.
//   - Domain failures are *estimator.Error values (EInvalid with field
//     violations naming "records[i].field", EAlreadyExists, ENotFound,
//     EFailedPrecondition, EUnavailable while closing...). Anything else is
//     an internal error.
//
// Committed changes (Changes, Subscribe).
//   - Each committed write has exactly one Change, carrying its revision and
//     every cell and stored score summary it changed with the new value.
//     Scores may be reported with the last revision of several writes
//     committed together, never with an earlier one than the write that
//     moved them.
//   - Changes are delivered in strictly increasing revision order, each
//     once, with none missing between the first delivered and the last.
//   - A change is delivered only once it is committed and durable, and
//     Revision is already at or above it.
//   - History is retained from OldestRevision on (every change at or above
//     it is still delivered); Compact drops older history; a read or a
//     subscription positioned below the oldest retained revision fails with
//     a *CompactedError naming it.
//   - Subscribe is fed by the commit path itself, which never waits for a
//     subscriber: a subscriber that falls behind reads older history at its
//     own pace, or is told its history was compacted. A subscription that
//     ends with EUnavailable (the store closing, or replacing the view it
//     reads) loses nothing: a new one from the same position goes on.
//   - Changes are shared between readers: treat their slices as read-only.
type Store interface {
	// Chips.
	PutChip(spec estimator.ChipSpec) (PutChipResult, error)
	Chip(id string) (estimator.ChipSpec, error)
	ListChips(after string, limit int, keep func(estimator.ChipSpec) bool) ([]estimator.ChipSpec, error)

	// Shipments.
	SubmitShipments(vendor string, recs []estimator.Record, replace bool) Pending
	Retract(vendor string, ids []string, allowMissing bool) (RetractResult, error)

	// Statistics observations and methodologies.
	PutObservationsWith(actor string, obs []estimator.Observation, opts ObservationOptions) (ObservationResult, error)
	// CheckObservations runs PutObservationsWith's checks against what is
	// stored and writes nothing, so that a batch rejected for other reasons
	// can name every violation at once.
	CheckObservations(actor string, obs []estimator.Observation, opts ObservationOptions) error
	Observations(year int) ([]estimator.Observation, uint64, error)
	PutMethodology(m estimator.Methodology) (MethodologyResult, error)
	Methodology(version uint64) (estimator.Methodology, error)

	// Reads for queries, each from one snapshot with its revision.
	CellsWithFactors(province uint32) ([]estimator.Cell, estimator.Factors, uint64, error)
	ScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, map[string]float64, uint64, error)
	// NativeScoreInputs is ScoreInputs with the scale leaves in native
	// precision (FP16 AI, FP64 supercomputing), for the uncertainty
	// analysis, which draws the FP32-equivalent factors itself.
	NativeScoreInputs(year int, version uint64) (estimator.ScoreInputs, estimator.Methodology, uint64, error)

	// Revisions and committed changes.
	Revision() uint64
	OldestRevision() uint64
	Changes(from uint64, limit int) ([]Change, error)
	Subscribe(from uint64) Subscription
	Compact(before uint64) (CompactResult, error)

	// Operations.
	Backup(w io.Writer) (BackupInfo, error)
	Verify() (VerifyReport, error)
	Stats() Stats
}

// Pending is a submitted shipment batch; Wait blocks until it is committed
// (durably) or rejected, and may be called more than once.
type Pending interface {
	Wait() (IngestResult, error)
}

var _ Store = (*DB)(nil)
