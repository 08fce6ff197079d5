// Package store keeps computescale's chip catalog, vendors' shipment records,
// the per-province aggregate cells, statistics observations, methodology
// versions and index scores in one bbolt file.
//
// The aggregates are maintained, not computed on demand: every write adds or
// subtracts the exact integer contributions that estimator.Record.Contributions
// returns, in the same transaction that stores the record. Queries therefore
// read a few cells and never scan records, and retracting a batch returns every
// cell to its earlier value bit for bit. Each record keeps the contributions it
// added, so that it can later be subtracted exactly even if the chip catalog
// has changed in between.
//
// The store also keeps statistics observations, the methodology versions
// that turn indicator values into index scores, and a summary of every
// province's score in every index year (a year with an observation of an
// index leaf) under the current methodology. Scores are maintained like
// cells: every write that can move them (shipments, retractions, chip
// re-derivation, observations, a new methodology) recomputes the index years
// it affects with estimator.ScoreYear in its own transaction and stores the
// summaries that changed. ScoreInputs hands the same inputs to callers, so
// scores of any methodology version can be computed on demand.
//
// Every committed write gets one new revision and one entry in a change log,
// which watch streams read to learn which cells and scores changed. Writes
// that change nothing (an identical resend, an unchanged chip spec) commit
// nothing and keep the revision. The commit path also hands each committed
// change to subscribers in memory (Subscribe, feed.go).
//
// The server depends on the Store interface (contract.go), which says what
// every implementation must guarantee; *DB is the bbolt implementation, and
// this package is the only one that touches bbolt.
//
// The bucket layout and every key and value encoding are documented in
// layout.go. Public methods own their transaction; helpers take a *bbolt.Tx.
// Nothing that borrows bbolt's memory leaves a transaction.
package store
