// Package estimator holds computescale's domain: provinces, periods, chip
// specs, shipment records, and the pure arithmetic that turns them into
// compute-scale totals (METHOD.md sections 1-3). It does no I/O and imports
// nothing else of this module, so the store, the server and the tools can all
// share one definition of every rule.
//
// Totals are kept exact: every record's contribution is an integer number of
// MFLOPS (10^6 FLOP/s), so adding a batch and retracting it leaves every
// aggregate identical, bit for bit. Floating point appears only at the edges:
// when a chip's rate is turned into a per-unit integer, and when an integer
// sum is turned into EFlops for a reply.
package estimator
