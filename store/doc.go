// Package store keeps computescale's chip catalog, vendors' shipment records
// and the per-province aggregate cells in one bbolt file.
//
// The aggregates are maintained, not computed on demand: every write adds or
// subtracts the exact integer contributions that estimator.Record.Contributions
// returns, in the same transaction that stores the record. Queries therefore
// read a few cells and never scan records, and retracting a batch returns every
// cell to its earlier value bit for bit. Each record keeps the contributions it
// added, so that it can later be subtracted exactly even if the chip catalog
// has changed in between.
//
// Every committed write gets one new revision and one entry in a change log,
// which watch streams read to learn which cells changed. Writes that change
// nothing (an identical resend, an unchanged chip spec) commit nothing and keep
// the revision.
//
// The bucket layout and every key and value encoding are documented in
// layout.go. Public methods own their transaction; helpers take a *bbolt.Tx.
// Nothing that borrows bbolt's memory leaves a transaction.
package store
