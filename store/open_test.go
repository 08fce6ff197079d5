package store_test

import (
	"encoding/binary"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "new.db")
		db := openDB(t, path)
		if db.Path() != path {
			t.Errorf("Path() = %q, want %q", db.Path(), path)
		}
		if rev := revision(t, db); rev != 0 {
			t.Errorf("Revision() = %d, want 0", rev)
		}
		if cells := allCells(t, db); cells != nil {
			t.Errorf("AllCells() = %v, want none", cells)
		}
	})
	t.Run("ErrSchemaVersion", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "old.db")
		db, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Bolt().Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 7))
		})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err = store.Open(path, store.Options{})
		e := wantError(t, err, estimator.EFailedPrecondition)
		if !strings.Contains(e.Message, "version 7") || !strings.Contains(e.Message, "version 3") {
			t.Errorf("error %q should name both versions, 7 and 3", e.Message)
		}
	})
	t.Run("ErrLocked", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "locked.db")
		openDB(t, path)
		// flock conflicts between two open files even in one process.
		_, err := store.Open(path, store.Options{Timeout: 50 * time.Millisecond})
		if e := wantError(t, err, estimator.EFailedPrecondition); !strings.Contains(e.Message, "locked by another process") {
			t.Fatalf("second Open: %v, want a refusal saying another process holds the file", err)
		}
	})
	t.Run("ErrNotAStore", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		bdb, err := bbolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = bdb.Update(func(tx *bbolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		bdb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Open(path, store.Options{}); err == nil || !strings.Contains(err.Error(), "not a computescale store") {
			t.Fatalf("Open of a foreign file: %v, want refusal", err)
		}
	})
}

// TestReopen writes through every kind of change, closes, reopens and reads
// everything back.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "round.db")
	db := openDB(t, path)
	for _, s := range []estimator.ChipSpec{cpuSpec("cpu-a"), gpuSpec("gpu-a")} {
		if _, err := db.PutChip(s); err != nil {
			t.Fatal(err)
		}
	}
	ingest(t, db, "acme", false,
		general("g1", guangdong, q(2024, 1), 10, "cpu-a"),
		aiServer("a1", beijing, q(2024, 2), 5, "gpu-a", "cpu-a"))
	if _, err := db.Retract("acme", []string{"g1"}, false); err != nil {
		t.Fatal(err)
	}
	wantRev, wantCells := revision(t, db), allCells(t, db)
	wantChips, _ := db.ListChips("", 0, nil)
	wantRec, _ := db.Record("acme", "a1")
	wantChanges, _ := db.Changes(0, 0)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, path)
	if got := revision(t, db); got != wantRev || got != 4 {
		t.Errorf("revision after reopen = %d, want %d (= 4)", got, wantRev)
	}
	if got := allCells(t, db); !reflect.DeepEqual(got, wantCells) || len(got) != 2 {
		t.Errorf("cells after reopen = %v, want %v (2 cells)", got, wantCells)
	}
	if got, _ := db.ListChips("", 0, nil); !reflect.DeepEqual(got, wantChips) || len(got) != 2 {
		t.Errorf("chips after reopen = %v, want %v", got, wantChips)
	}
	if got, err := db.Record("acme", "a1"); err != nil || !reflect.DeepEqual(got, wantRec) {
		t.Errorf("record after reopen = %v, %v; want %v", got, err, wantRec)
	}
	if _, err := db.Record("acme", "g1"); estimator.ErrorCode(err) != estimator.ENotFound {
		t.Errorf("retracted record after reopen: %v, want not found", err)
	}
	if got, _ := db.Changes(0, 0); !reflect.DeepEqual(got, wantChanges) || len(got) != 4 {
		t.Errorf("changes after reopen = %v, want %v", got, wantChanges)
	}
}
