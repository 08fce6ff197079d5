package store_test

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/store"
)

// TestMigrateFromVersion2 rewrites a store's chip references the way schema
// version 2 kept them (one key per chip and record), marks it version 2,
// and checks that Open upgrades it to counts that Verify accepts and that a
// chip replace still re-derives every record that uses the chip.
func TestMigrateFromVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	db := openDB(t, path)
	for _, spec := range []string{"cpu-a", "cpu-b"} {
		if _, err := db.PutChip(cpuSpec(spec)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.PutChip(gpuSpec("gpu-a")); err != nil {
		t.Fatal(err)
	}
	ingest(t, db, "acme", false,
		general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
		aiServer("a1", beijing, q(2024, 2), 5, "gpu-a", "cpu-b"))
	ingest(t, db, "bolt", false, general("g1", guangdong, q(2024, 1), 2, "cpu-b"))
	before := allCells(t, db)
	err := db.Bolt().Update(func(tx *bbolt.Tx) error {
		if err := tx.DeleteBucket([]byte("chiprefs")); err != nil {
			return err
		}
		refs, err := tx.CreateBucket([]byte("chiprefs"))
		if err != nil {
			return err
		}
		v2 := []string{"cpu-a\x00acme\x00g1", "gpu-a\x00acme\x00a1", "cpu-b\x00acme\x00a1", "cpu-b\x00bolt\x00g1"}
		for _, k := range v2 {
			if err := refs.Put([]byte(k), nil); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openDB(t, path)
	verifyClean(t, db)
	err = db.Bolt().View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket([]byte("meta")).Get([]byte("schema")); !bytes.Equal(v, binary.BigEndian.AppendUint32(nil, store.SchemaVersion)) {
			t.Errorf("schema after migration = %x, want %d", v, store.SchemaVersion)
		}
		n := tx.Bucket([]byte("chiprefs")).Stats().KeyN
		if n != 4 {
			t.Errorf("chiprefs keys after migration = %d, want 4 (cpu-a/acme, cpu-b/acme, cpu-b/bolt, gpu-a/acme)", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	faster := cpuSpec("cpu-b")
	faster.ClockHz *= 2
	res, err := db.PutChip(faster)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rederived != 2 {
		t.Errorf("chip replace re-derived %d records, want 2 (acme/a1, bolt/g1)", res.Rederived)
	}
	verifyClean(t, db)
	if after := allCells(t, db); len(after) != len(before) {
		t.Errorf("cells after the replace = %v, want the same keys as %v", after, before)
	}
}
