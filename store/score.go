package store

import (
	"bytes"
	"fmt"
	"math"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// ScoreSummary is what the store keeps of one province's index in one year
// under the current methodology: enough to rank and to tell a watcher that a
// score moved. The leaves and coverage per dimension are recomputed on
// demand from ScoreInputs.
type ScoreSummary struct {
	Produced  bool
	Composite float64 // NaN unless Produced
	Rank      int     // 0 unless Produced
	Tier      int     // 0 unless Produced
	Coverage  float64
	// Dimensions has one entry per estimator.Dimensions(), in that order.
	Dimensions []DimensionSummary
}

// DimensionSummary is one dimension sub-index of a ScoreSummary.
type DimensionSummary struct {
	Present bool
	Score   float64 // NaN unless Present
	Rank    int     // 0 unless Present
}

// ScoreChange is one stored score that a write changed, as the change log
// keeps it.
type ScoreChange struct {
	Year     int
	Province uint32
	Summary  ScoreSummary // the new summary; zero if Deleted
	Deleted  bool         // the province no longer has any score that year
}

// SummarizeScore reduces an estimator score to what the store keeps, so that
// a score computed on demand can be compared with a stored one.
func SummarizeScore(ps estimator.ProvinceScore) ScoreSummary {
	s := ScoreSummary{Produced: ps.Produced, Composite: math.NaN(), Coverage: ps.Coverage}
	if ps.Produced {
		s.Composite, s.Rank, s.Tier = ps.Composite, ps.Rank, ps.Tier
	}
	for _, d := range estimator.Dimensions() {
		ds := DimensionSummary{Score: math.NaN()}
		if v, ok := ps.Dimensions[d]; ok {
			ds = DimensionSummary{Present: true, Score: v, Rank: ps.DimensionRanks[d]}
		}
		s.Dimensions = append(s.Dimensions, ds)
	}
	return s
}

// hasScore reports whether a summary is worth storing: a province with no
// dimension observed has no score at all, only NaNs.
func (s ScoreSummary) hasScore() bool {
	if s.Produced {
		return true
	}
	for _, d := range s.Dimensions {
		if d.Present {
			return true
		}
	}
	return false
}

// Equal reports whether two summaries are the same, NaN equal to NaN: they
// are equal exactly when the store would encode them to the same bytes.
func (s ScoreSummary) Equal(o ScoreSummary) bool {
	a, errA := encodeSummary(&encoder{}, s)
	b, errB := encodeSummary(&encoder{}, o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// scoreVersion is the first byte of every scores value (layout.go).
const scoreVersion = 1

// canonicalNaN is the one NaN the store writes, so that equal summaries are
// equal bytes whatever NaN the estimator produced.
var canonicalNaN = math.NaN()

// encodeSummary appends a summary to e's buffer and returns the buffer.
func encodeSummary(e *encoder, s ScoreSummary) ([]byte, error) {
	composite := s.Composite
	if !s.Produced || math.IsNaN(composite) {
		composite = canonicalNaN
	}
	e.u8(boolByte(s.Produced))
	e.f64(composite)
	e.count(s.Rank, 2)
	e.count(s.Tier, 1)
	e.f64(s.Coverage)
	e.count(len(s.Dimensions), 1)
	for _, d := range s.Dimensions {
		score := d.Score
		if !d.Present || math.IsNaN(score) {
			score = canonicalNaN
		}
		e.u8(boolByte(d.Present))
		e.f64(score)
		e.count(d.Rank, 2)
	}
	return e.buf, e.err
}

func decodeSummary(d *decoder) ScoreSummary {
	s := ScoreSummary{Produced: d.flag(), Composite: d.f64(), Rank: int(d.u16()), Tier: int(d.u8()), Coverage: d.f64()}
	if n := int(d.u8()); n > 0 && d.err == nil {
		s.Dimensions = make([]DimensionSummary, n)
		for i := range s.Dimensions {
			s.Dimensions[i] = DimensionSummary{Present: d.flag(), Score: d.f64(), Rank: int(d.u16())}
		}
	}
	return s
}

func encodeScoreValue(s ScoreSummary) ([]byte, error) {
	e := &encoder{buf: make([]byte, 0, 64)}
	e.u8(scoreVersion)
	return encodeSummary(e, s)
}

func decodeScoreValue(v []byte) (ScoreSummary, error) {
	d := &decoder{b: v}
	if ver := d.u8(); d.err == nil && ver != scoreVersion {
		return ScoreSummary{}, fmt.Errorf("store: score value has unknown version %d", ver)
	}
	s := decodeSummary(d)
	return s, d.done()
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// flag reads a byte that must be 0 or 1.
func (d *decoder) flag() bool {
	switch b := d.u8(); b {
	case 0:
		return false
	case 1:
		return true
	default:
		if d.err == nil {
			d.err = fmt.Errorf("store: flag byte is %d, want 0 or 1", b)
		}
		return false
	}
}

// StoredScores returns the stored summaries of one year by province, with
// the revision they are consistent with. A year that is not an index year,
// or was written with Options.NoIndex, has none.
func (db *DB) StoredScores(year int) (map[uint32]ScoreSummary, uint64, error) {
	var (
		out map[uint32]ScoreSummary
		rev uint64
	)
	err := db.read(func(tx *bbolt.Tx) error {
		var err error
		if rev, err = readRevision(tx); err != nil {
			return err
		}
		out, err = readScores(tx, year)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, rev, nil
}

// readScores decodes one year's stored summaries.
func readScores(tx *bbolt.Tx, year int) (map[uint32]ScoreSummary, error) {
	out := map[uint32]ScoreSummary{}
	if !yearFits(year) {
		return out, nil
	}
	prefix := yearKey(year)
	c := tx.Bucket(bucketScores).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		_, province, rest, ok := splitYearProvince(k)
		if !ok || len(rest) != 0 {
			return nil, fmt.Errorf("store: malformed score key %x", k)
		}
		s, err := decodeScoreValue(v)
		if err != nil {
			return nil, fmt.Errorf("store: score %d/%d: %w", year, province, err)
		}
		out[province] = s
	}
	return out, nil
}
