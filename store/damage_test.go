package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
	"github.com/computescale/computescale/store"
)

// damagePage overwrites the root page of vendor's records bucket in the
// closed store file at path with garbage, as a torn write or a bad sector
// would, and returns the page's id.
func damagePage(t *testing.T, path, vendor string) uint64 {
	t.Helper()
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var page uint64
	err = bdb.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("records")).Bucket([]byte(vendor))
		if b == nil {
			return errors.New("no records bucket for the vendor")
		}
		page = uint64(b.Root())
		return nil
	})
	size := bdb.Info().PageSize
	bdb.Close()
	if err != nil || page == 0 {
		t.Fatalf("find the page: %v (page %d: an inline bucket has none)", err, page)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	garbage := []byte(strings.Repeat("\xab", size))
	if _, err := f.WriteAt(garbage, int64(page)*int64(size)); err != nil {
		t.Fatal(err)
	}
	return page
}

func wantCode(t *testing.T, err error, code estimator.Code, words ...string) {
	t.Helper()
	var e *estimator.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("got %v, want %s", err, code)
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(e.Message), w) {
			t.Errorf("message %q does not say %q", e.Message, w)
		}
	}
}

// TestDamagedFile: a file with a damaged page opens, but Verify and
// CheckPages fail with EDataLoss naming the page instead of panicking; an
// existing empty file is refused with a message saying so (a locked file:
// TestOpen/ErrLocked).
func TestDamagedFile(t *testing.T) {
	t.Run("ErrDamagedPage", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "damaged.db")
		db, err := store.Open(path, store.Options{Now: fakeClock()})
		if err != nil {
			t.Fatal(err)
		}
		var recs []estimator.Record
		for i := range 400 { // enough for the bucket to have pages of its own
			recs = append(recs, inlineGeneral(fmt.Sprintf("record-%04d", i), 1))
		}
		ingest(t, db, "vendor-a", false, recs...)
		db.Close()
		page := damagePage(t, path, "vendor-a")
		db, err = store.Open(path, store.Options{Now: fakeClock()})
		if err != nil {
			wantCode(t, err, estimator.EDataLoss) // also acceptable: refused at open, without a panic
			return
		}
		defer db.Close()
		rep, err := db.Verify()
		wantCode(t, err, estimator.EDataLoss, "damaged", "page", fmt.Sprint(page))
		if len(rep.CheckErrors) == 0 {
			t.Error("the report lists no page-check findings")
		}
		wantCode(t, db.CheckPages(), estimator.EDataLoss, "page")
	})
	t.Run("ErrEmptyFile", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.Open(path, store.Options{Now: fakeClock()})
		wantCode(t, err, estimator.EFailedPrecondition, "empty (0 bytes)")
		if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
			t.Errorf("the empty file was written to: %v %v", fi, err)
		}
	})
	t.Run("OKNewPath", func(t *testing.T) {
		db, err := store.Open(filepath.Join(t.TempDir(), "new.db"), store.Options{Now: fakeClock()})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}

// TestClosedStoreUnavailable: a call that reaches a store whose file was
// closed under it (shutdown, or a cluster node swapping in a rebuilt view)
// is EUnavailable, which a client may retry, not an unclassified error that
// the server would answer as Internal.
func TestClosedStoreUnavailable(t *testing.T) {
	db := newDB(t)
	if _, err := db.PutChip(cpuSpec("c1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err := db.ProvinceCells(110000)
	wantCode(t, err, estimator.EUnavailable, "closed")
	_, err = db.Chip("c1")
	wantCode(t, err, estimator.EUnavailable, "closed")
	_, err = db.PutChip(cpuSpec("c2"))
	wantCode(t, err, estimator.EUnavailable, "closed")
}
