package store_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/store"
)

// indexMixDB runs every kind of write on top of mixedDB's: observations with
// a replace, a methodology, and shipments into the index years.
func indexMixDB(t *testing.T) *store.DB {
	db := mixedDB(t)
	putObs(t, db, "nbs", false, fullYear(2023)...)
	putObs(t, db, "nbs", false, fullYear(2024)...)
	putObs(t, db, "nbs", true, obs(beijing, 2024, "tech.rnd", 1), obs(guangdong, 2024, "gdp", 1))
	if _, err := db.PutMethodology(weightedMethodology()); err != nil {
		t.Fatal(err)
	}
	ingest(t, db, "acme", false, general("g9", beijing, q(2023, 4), 7, "cpu-a"))
	faster := cpuSpec("cpu-a")
	faster.ClockHz = 3e9
	if _, err := db.PutChip(faster); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestVerifyIndex(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		rep := verifyClean(t, indexMixDB(t))
		if rep.Observations != 2*31*11+1 || rep.Scores != 2*31 {
			t.Errorf("Verify counted %d observations and %d scores, want %d and %d",
				rep.Observations, rep.Scores, 2*31*11+1, 2*31)
		}
	})
	t.Run("ErrCorruptScore", func(t *testing.T) {
		db := indexMixDB(t)
		// Change Beijing's stored 2024 composite behind the store's back.
		key := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, 2024), beijing)
		err := db.Bolt().Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("scores"))
			v := append([]byte(nil), b.Get(key)...)
			if len(v) < 10 || v[1] != 1 {
				t.Fatalf("score %x = %x, want a produced summary", key, v)
			}
			binary.BigEndian.PutUint64(v[2:10], math.Float64bits(42))
			return b.Put(key, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := db.Verify()
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Mismatches) != 1 || !strings.HasPrefix(rep.Mismatches[0], "score 2024/110000: stored") {
			t.Errorf("Mismatches = %q, want one naming score 2024/110000", rep.Mismatches)
		}
	})
	t.Run("ErrObsYears", func(t *testing.T) {
		db := indexMixDB(t)
		err := db.Bolt().Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("obsyears")).Put([]byte{0x07, 0xe8}, binary.BigEndian.AppendUint32(nil, 5))
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := db.Verify()
		if len(rep.Mismatches) != 1 || !strings.HasPrefix(rep.Mismatches[0], "obsyears 2024: stored 5") {
			t.Errorf("Mismatches = %q, want the obsyears count of 2024", rep.Mismatches)
		}
	})
}
