package store_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/store"
)

// mixedDB runs a mix of every write: ingest, replace, retract, chip replace.
func mixedDB(t *testing.T) *store.DB {
	db := seed(t)
	ingest(t, db, "acme", false,
		general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
		aiServer("a1", beijing, q(2024, 2), 5, "gpu-a", "cpu-b"),
		inlineGeneral("i1", 3))
	ingest(t, db, "bolt", false, general("g1", guangdong, q(2024, 1), 2, "cpu-b"))
	ingest(t, db, "acme", true, general("g1", guangdong, q(2024, 2), 12, "cpu-b"))
	if _, err := db.Retract("acme", []string{"i1"}, false); err != nil {
		t.Fatal(err)
	}
	faster := cpuSpec("cpu-b")
	faster.ClockHz = 2e9
	if _, err := db.PutChip(faster); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestVerify(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		rep := verifyClean(t, mixedDB(t))
		if rep.Records != 3 || rep.Cells != 4 {
			t.Errorf("Verify counted %d records and %d cells, want 3 and 4", rep.Records, rep.Cells)
		}
	})
	t.Run("ErrCorruptCell", func(t *testing.T) {
		db := mixedDB(t)
		// Add one MFLOPS to Guangdong's basic 2024Q2 cell behind the store's back.
		key := binary.BigEndian.AppendUint32(nil, guangdong)
		key = append(key, 1, 0x07, 0xe8, 2) // series basic, year 2024, quarter 2
		err := db.Bolt().Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("cells"))
			v := append([]byte(nil), b.Get(key)...)
			if len(v) != 24 {
				t.Fatalf("cell %x has %d bytes", key, len(v))
			}
			binary.BigEndian.PutUint64(v, binary.BigEndian.Uint64(v)+1)
			return b.Put(key, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := db.Verify()
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Mismatches) != 1 || !strings.HasPrefix(rep.Mismatches[0], "cell 440000/basic/2024Q2:") {
			t.Errorf("Mismatches = %q, want one naming cell 440000/basic/2024Q2", rep.Mismatches)
		}
		if len(rep.CheckErrors) != 0 {
			t.Errorf("CheckErrors = %q, want none", rep.CheckErrors)
		}
	})
	t.Run("ErrTruncatedRecord", func(t *testing.T) {
		db := mixedDB(t)
		err := db.Bolt().Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("records")).Bucket([]byte("bolt"))
			v := append([]byte(nil), b.Get([]byte("g1"))...)
			return b.Put([]byte("g1"), v[:len(v)-10])
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Record("bolt", "g1"); err == nil {
			t.Error("Record of a truncated value succeeded")
		}
		rep, _ := db.Verify()
		// Unreadable, the record neither claims its chipref nor adds to its cell.
		if len(rep.Mismatches) != 3 || !strings.HasPrefix(rep.Mismatches[0], "record bolt/g1: undecodable") ||
			!strings.HasPrefix(rep.Mismatches[1], "chipref cpu-b/bolt: counts 1 records, the records say 0") ||
			!strings.HasPrefix(rep.Mismatches[2], "cell 440000/basic/2024Q1:") {
			t.Errorf("Mismatches = %q, want the record, its chipref and its cell", rep.Mismatches)
		}
	})
	t.Run("ErrMissingChipRef", func(t *testing.T) {
		db := mixedDB(t)
		err := db.Bolt().Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("chiprefs")).Delete([]byte("gpu-a\x00acme"))
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, _ := db.Verify()
		if len(rep.Mismatches) != 1 || !strings.HasPrefix(rep.Mismatches[0], "chipref gpu-a/acme: missing, the records say") {
			t.Errorf("Mismatches = %q, want the missing chipref", rep.Mismatches)
		}
	})
}
