package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/computescale/computescale/estimator"
)

// Layout of the bbolt file, schema version 3.
//
// Version 3 replaced the chiprefs keys (one per chip and record) by one count
// per chip and vendor (chipref.go says why); Open migrates a version 2 file
// in place, in one transaction. Version 2 added observations, obsyears, methodologies and scores, the meta
// key "methodology", and version 2 of the change value. The project was
// unreleased when it did, so there is no migration: Open refuses a version 1
// file like any other version, and such a file is rebuilt by re-ingesting.
//
// Integers are fixed-width and big-endian everywhere, so that bbolt's
// byte-wise key order is numeric order and prefix scans select ranges.
// Signed integers are stored as their two's-complement uint64. Floats are
// their IEEE 754 bits as uint64, so a value round-trips exactly.
//
//	bucket              key                               value
//	------------------  --------------------------------  -------------------------------
//	meta                "schema"                          uint32 schema version (3)
//	meta                "revision"                        uint64 last committed revision
//	meta                "methodology"                     uint64 current methodology version
//	meta                "catalog"                         uint64 catalog epoch (absent = 0)
//	chips               chip id                           JSON chipDoc (chip.go)
//	records/<vendor>    record id                         record value (below)
//	chiprefs            chip id 0x00 vendor               uint64 records referring
//	cells               cell key (8 bytes)                amount (24 bytes)
//	changes             revision uint64                   change value (below)
//	observations        year uint16 | province uint32 |   observation value (below)
//	                    indicator code bytes
//	obsyears            year uint16                       uint32 index-leaf observations
//	methodologies       version uint64                    JSON methodologyDoc (methodology_doc.go)
//	scores              year uint16 | province uint32     score value (below)
//
// meta: "schema" is checked by Open; a file of another version is refused
// rather than misread. "revision" starts at 0 and grows by one per committed
// write; it is the key of that write's entry in changes. "methodology" names
// the methodologies entry that scores are computed with. "catalog" grows by
// one with every chip write, so that work prepared against the catalog
// outside a write transaction can tell it is stale (prepare.go).
//
// chips: JSON, not the binary encoding, because the catalog is small and
// rarely written, and JSON can be read with the bbolt tool and extended
// without a new schema version.
//
// records: one nested bucket per vendor, named by the vendor (1-64 bytes, no
// 0x00), so a vendor's writes can only ever reach its own records. A record
// value is, in order:
//
//	uint8   encoding version (1)
//	uint32  n = length of the content
//	n bytes content:
//	        str id, uint32 province, period, uint8 class, int64 units,
//	        float64 rpeak_fp64, period decommissioned, str note,
//	        uint16 component count, then per component:
//	          uint32 count, uint8 form:
//	            1 = catalog chip: str chip id
//	            2 = inline spec:  spec
//	uint16  m = number of stored contributions, then m times (28 bytes):
//	        uint8 series, period, int64 MFLOPS, int64 units, int64 records
//
//	str    = uint32 length, bytes
//	period = uint16 year, uint8 quarter (0 = whole year; 0/0 = unset)
//	spec   = str id, str vendor, str model, uint8 kind, uint32 cores,
//	         uint64 clock Hz, str source, uint8 rate count, then per rate:
//	         uint8 precision, float64 flops per cycle, float64 peak FLOPS
//
// The content is canonical (one byte string per Record value), so an
// identical resend is detected by comparing content bytes only; the stored
// contributions are what the record added to cells and are subtracted as they
// are when it is replaced or retracted. A later encoding version must
// re-encode old content before comparing.
//
// chiprefs: how many of a vendor's records refer to a catalog chip (a record
// listing a chip twice counts once), with no key for none, so that replacing
// a chip's spec re-derives only the records of the vendors a prefix scan on
// "chip id 0x00" names instead of every record. Chip ids and vendors never
// contain 0x00, so the key splits unambiguously.
//
// cells: the key is province uint32 | series uint8 | year uint16 | quarter
// uint8, so one province's cells are one prefix range, in series and period
// order. The value is int64 MFLOPS | int64 units | int64 records. A cell
// whose amount returns to zero is deleted, so an empty store has no cells.
//
// changes: the value is
//
//	uint8 encoding version (2), int64 unix nanoseconds, uint8 kind,
//	str actor (vendor, chip id or observations' actor; "" for methodology),
//	uint64 methodology version made current (0 = none),
//	uint32 cell count, then per cell:
//	  8-byte cell key, 24-byte amount (the cell's new amount; zero = deleted)
//	uint32 score count, then per score:
//	  uint16 year, uint32 province, uint8 deleted (0 or 1),
//	  summary (below) unless deleted
//
// Version 1 had neither the methodology version nor the scores. It is not
// read: only a version 1 file could hold it, and Open refuses those.
//
// observations: the key puts the year first, so that one year's observations
// (what scoring a year reads) are one prefix range. Indicator codes are the
// estimator's, printable ASCII, and end the key, so they need no length. The
// value is
//
//	uint8 encoding version (1), float64 value, str unit, str source, str actor
//
// The actor is provenance only: a resend by another actor with the same
// value, unit and source changes nothing.
//
// obsyears: how many observations of index leaves (not gdp or
// digital_economy_core) each year has, maintained in the transaction that
// adds them (no write removes an observation, so counts only grow). A year
// is an index year, one that has scores, when it has a key here. Every
// commit that may move scores asks which years are index years; a few keys
// answer that where a scan of observations, or a Seek per candidate year,
// would cost more. Verify recounts them from the observations.
//
// methodologies: JSON for the reason chips are. Versions start at 1 (the
// default methodology Open stores in a new file) and are never rewritten or
// deleted, so that scores can be recomputed with any version on demand.
//
// scores: the current methodology's score of one province in one index
// year, maintained in the transaction of every write that can move it, so a
// watcher learns of score changes from the change log. A province/year
// without any score (no dimension observed) has no key. The value is
//
//	uint8 encoding version (1), summary
//
//	summary = uint8 produced (0 or 1), float64 composite (NaN unless
//	          produced), uint16 rank, uint8 tier, float64 coverage,
//	          uint8 dimension count, then per dimension, in
//	          estimator.Dimensions() order:
//	            uint8 present (0 or 1), float64 score (NaN unless present),
//	            uint16 rank
//
// The NaNs are math.NaN()'s bits, so equal summaries are equal bytes and a
// recomputed score is compared with the stored one byte for byte.

// SchemaVersion is the layout version this package reads and writes.
const SchemaVersion uint32 = 3

// Bucket names and meta keys.
var (
	bucketMeta     = []byte("meta")
	bucketChips    = []byte("chips")
	bucketRecords  = []byte("records")
	bucketChipRefs = []byte("chiprefs")
	bucketCells    = []byte("cells")
	bucketChanges  = []byte("changes")
	bucketObs      = []byte("observations")
	bucketObsYears = []byte("obsyears")
	bucketMethods  = []byte("methodologies")
	bucketScores   = []byte("scores")

	keySchema      = []byte("schema")
	keyRevision    = []byte("revision")
	keyMethodology = []byte("methodology")
	keyCatalog     = []byte("catalog")
)

// allBuckets lists the top-level buckets Open creates.
var allBuckets = [][]byte{bucketMeta, bucketChips, bucketRecords, bucketChipRefs, bucketCells, bucketChanges,
	bucketObs, bucketObsYears, bucketMethods, bucketScores}

// MaxVendorBytes bounds a vendor name, which is also a bucket name.
const MaxVendorBytes = 64

// cellKeyLen and amountLen are the fixed sizes of a cell's key and value.
const (
	cellKeyLen = 8
	amountLen  = 24
)

// cellKey is a cell's 8-byte key, usable as a map key.
type cellKey [cellKeyLen]byte

func makeCellKey(province uint32, s estimator.Series, p estimator.Period) cellKey {
	var k cellKey
	binary.BigEndian.PutUint32(k[0:4], province)
	k[4] = byte(s)
	binary.BigEndian.PutUint16(k[5:7], uint16(p.Year))
	k[7] = byte(p.Quarter)
	return k
}

func (k cellKey) cell(a estimator.Amount) estimator.Cell {
	return estimator.Cell{
		Province: binary.BigEndian.Uint32(k[0:4]),
		Series:   estimator.Series(k[4]),
		Period:   estimator.Period{Year: int(binary.BigEndian.Uint16(k[5:7])), Quarter: int(k[7])},
		Amount:   a,
	}
}

// String names the cell as province/series/period, the form Verify reports.
func (k cellKey) String() string {
	c := k.cell(estimator.Amount{})
	return fmt.Sprintf("%d/%s/%s", c.Province, c.Series, c.Period)
}

func provincePrefix(province uint32) []byte {
	return binary.BigEndian.AppendUint32(nil, province)
}

func encodeAmount(a estimator.Amount) []byte {
	b := make([]byte, 0, amountLen)
	b = binary.BigEndian.AppendUint64(b, uint64(a.MFLOPS))
	b = binary.BigEndian.AppendUint64(b, uint64(a.Units))
	return binary.BigEndian.AppendUint64(b, uint64(a.Records))
}

func decodeAmount(b []byte) (estimator.Amount, error) {
	if len(b) != amountLen {
		return estimator.Amount{}, fmt.Errorf("store: cell value has %d bytes, want %d", len(b), amountLen)
	}
	return estimator.Amount{
		MFLOPS:  int64(binary.BigEndian.Uint64(b[0:8])),
		Units:   int64(binary.BigEndian.Uint64(b[8:16])),
		Records: int64(binary.BigEndian.Uint64(b[16:24])),
	}, nil
}

func revisionKey(rev uint64) []byte { return binary.BigEndian.AppendUint64(nil, rev) }

// chipRefKey is chip id 0x00 vendor.
func chipRefKey(chipID, vendor string) []byte {
	k := make([]byte, 0, len(chipID)+len(vendor)+1)
	k = append(append(k, chipID...), 0)
	return append(k, vendor...)
}

// splitChipRef parses a chiprefs key; ok is false for a malformed one.
func splitChipRef(k []byte) (chipID, vendor string, ok bool) {
	c, v, found := bytes.Cut(k, []byte{0})
	if !found || len(c) == 0 || len(v) == 0 {
		return "", "", false
	}
	return string(c), string(v), true
}

// checkVendor enforces what the layout needs of a vendor: a non-empty bucket
// name without the 0x00 that separates chiprefs key parts.
func checkVendor(vendor string) error {
	if vendor == "" || len(vendor) > MaxVendorBytes || bytes.IndexByte([]byte(vendor), 0) >= 0 {
		return estimator.Invalid("invalid vendor", []estimator.FieldViolation{{
			Field:       "vendor",
			Description: fmt.Sprintf("vendor must be 1-%d bytes without NUL", MaxVendorBytes),
		}})
	}
	return nil
}

// recordIDProblem reports what the layout needs of a record id (a non-empty
// key without 0x00); estimator.Record.Validate is stricter, and this only
// guards the keys should a caller skip it.
func recordIDProblem(id string) string {
	if id == "" || len(id) > estimator.MaxRecordIDBytes || bytes.IndexByte([]byte(id), 0) >= 0 {
		return fmt.Sprintf("record_id must be 1-%d bytes without NUL", estimator.MaxRecordIDBytes)
	}
	return ""
}

// yearProvinceLen is the size of a scores key and of the fixed part of an
// observations key.
const yearProvinceLen = 6

// yearKey is the 2-byte prefix of one year's observations and scores.
func yearKey(year int) []byte { return binary.BigEndian.AppendUint16(nil, uint16(year)) }

// scoreKey is year uint16 | province uint32.
func scoreKey(year int, province uint32) []byte {
	return binary.BigEndian.AppendUint32(yearKey(year), province)
}

// obsKey is year uint16 | province uint32 | indicator code.
func obsKey(year int, province uint32, indicator string) []byte {
	return append(scoreKey(year, province), indicator...)
}

// splitYearProvince parses the fixed part of an observations or scores key
// and returns what follows it (the indicator code, or nothing).
func splitYearProvince(k []byte) (year int, province uint32, rest []byte, ok bool) {
	if len(k) < yearProvinceLen {
		return 0, 0, nil, false
	}
	return int(binary.BigEndian.Uint16(k[0:2])), binary.BigEndian.Uint32(k[2:6]), k[6:], true
}

// yearFits reports whether a year can be a 2-byte key; a validated
// observation's year always does, so this only guards the keys.
func yearFits(year int) bool { return year >= 0 && year <= math.MaxUint16 }
