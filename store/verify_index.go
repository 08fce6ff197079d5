package store

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"

	"github.com/computescale/computescale/estimator"
)

// observations decodes every observation, counts the index-leaf ones per
// year and compares the counts with obsyears. It returns the index years as
// the observations imply them, which the score check trusts over obsyears.
func (v *verifier) observations() ([]int, error) {
	counts := map[int]uint32{}
	err := v.tx.Bucket(bucketObs).ForEach(func(k, val []byte) error {
		v.rep.Observations++
		year, province, code, ok := splitYearProvince(k)
		if !ok {
			v.mismatch("observation key %x: shorter than year and province", k)
			return nil
		}
		if _, known := estimator.LookupIndicator(string(code)); !known {
			v.mismatch("observation %d/%d/%s: unknown indicator", year, province, code)
		}
		if _, err := decodeObservationValue(val); err != nil {
			v.mismatch("observation %d/%d/%s: undecodable: %v", year, province, code, err)
		}
		if estimator.DimensionOf(string(code)) != "" {
			counts[year]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	stored := map[int]uint32{}
	err = v.tx.Bucket(bucketObsYears).ForEach(func(k, val []byte) error {
		if len(k) != 2 || len(val) != 4 {
			v.mismatch("obsyears entry %x=%x: malformed", k, val)
			return nil
		}
		stored[int(binary.BigEndian.Uint16(k))] = binary.BigEndian.Uint32(val)
		return nil
	})
	if err != nil {
		return nil, err
	}
	all := maps.Clone(stored)
	maps.Copy(all, counts)
	for _, y := range slices.Sorted(maps.Keys(all)) {
		if counts[y] != stored[y] {
			v.mismatch("obsyears %d: stored %d, observations of index leaves %d", y, stored[y], counts[y])
		}
	}
	return slices.Sorted(maps.Keys(counts)), nil
}

// scores recomputes every index year with the current methodology, through
// the commit path's own builder, and compares the summaries byte for byte
// with the stored ones, over the union of provinces, so that a missing,
// extra or altered summary is reported. Scores are derived data: a mismatch
// means a write skipped its recompute (Options.NoIndex) or the file was
// altered.
func (v *verifier) scores(years []int) error {
	m, err := readMethodology(v.tx, 0)
	if err != nil {
		v.mismatch("methodology: %v", err)
		return nil
	}
	sc, err := newScoring(m)
	if err != nil {
		v.mismatch("methodology %d: %v", m.Version, err)
		return nil
	}
	stored, err := v.storedScores(years)
	if err != nil {
		return err
	}
	src := newScoreSource(v.tx, years, m)
	for _, y := range years {
		want, err := src.summaries(y, sc)
		if err != nil {
			return err
		}
		got := stored[y]
		provinces := map[uint32]bool{}
		for p := range want {
			provinces[p] = true
		}
		for p := range got {
			provinces[p] = true
		}
		for _, p := range slices.Sorted(maps.Keys(provinces)) {
			w, wanted := want[p]
			g, present := got[p]
			switch {
			case !wanted:
				v.mismatch("score %d/%d: stored, but the province has no score", y, p)
			case !present:
				v.mismatch("score %d/%d: missing, recomputed %+v", y, p, w.summary)
			case !bytes.Equal(g, w.value):
				s, _ := decodeScoreValue(g)
				v.mismatch("score %d/%d: stored %+v, recomputed %+v", y, p, s, w.summary)
			}
		}
	}
	return nil
}

// storedScores reads every stored summary's bytes by year and province,
// reporting keys that cannot be a score and years that are not index years.
func (v *verifier) storedScores(years []int) (map[int]map[uint32][]byte, error) {
	out := map[int]map[uint32][]byte{}
	err := v.tx.Bucket(bucketScores).ForEach(func(k, val []byte) error {
		v.rep.Scores++
		year, province, rest, ok := splitYearProvince(k)
		switch {
		case !ok || len(rest) != 0:
			v.mismatch("score key %x: malformed", k)
		case !slices.Contains(years, year):
			v.mismatch("score %d/%d: stored for a year without index observations", year, province)
		default:
			if out[year] == nil {
				out[year] = map[uint32][]byte{}
			}
			out[year][province] = bytes.Clone(val)
		}
		return nil
	})
	return out, err
}
