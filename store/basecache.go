package store

// The base year's values between commits.
//
// With a base year (the default methodology's targets are 2020's largest
// values), scoring any year reads the base year's observations and cells as
// well as its own: half of a one-year recompute. Those values change only
// with a write whose impact covers the base year (or a new methodology,
// which covers every year), so the store keeps them between transactions.
//
// Only write transactions touch the cache, and bbolt runs one at a time, so
// no reading can race an invalidation:
//   - a write that covers the cached year drops the entry inside its
//     transaction, before it can commit (one that then rolls back only makes
//     the next write read the base year again);
//   - a write whose own changes leave the base year alone reads it, if no
//     entry is there, and keeps what it read: its view of the base year is
//     the committed one, whether it commits or not;
//   - an entry serves only the methodology version and base year it was
//     read for.
//
// Read transactions (ScoreInputs) and Verify never use it: Verify is the
// independent check of the stored scores.

// baseValues is one cached reading of the base year.
type baseValues struct {
	version uint64 // methodology version
	year    int
	values  map[string][]float64
}

// dropBase forgets the base year if im moves it; it runs first in every
// write that may move scores.
func (db *DB) dropBase(im impact) {
	if e := db.base.Load(); e != nil && (im.all || im.covers(e.year)) {
		db.base.Store(nil)
	}
}

// withBase attaches the base year's values to src from the cache, or reads
// and keeps them. covers says the transaction's own writes move the base
// year: then src reads it itself and nothing is kept.
func (db *DB) withBase(src *scoreSource, covers bool) error {
	m := src.m
	if m.BaseYear == 0 || covers {
		return nil
	}
	if e := db.base.Load(); e != nil && e.version == m.Version && e.year == m.BaseYear {
		src.base = e
		return nil
	}
	v, err := src.yearValues(m.BaseYear)
	if err != nil {
		return err
	}
	e := &baseValues{version: m.Version, year: m.BaseYear, values: v}
	db.base.Store(e)
	src.base = e
	return nil
}
