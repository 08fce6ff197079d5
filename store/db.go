package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/computescale/computescale/estimator"
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for another process's file lock;
	// 0 means 1s, so that a second server on the same file fails fast.
	Timeout time.Duration
	// InitialMmapSize is the initial size of bbolt's memory map; 0 means
	// 256 MiB. bbolt remaps as the file grows, and a remap waits for every
	// open read transaction, so mapping ahead keeps long reads (Verify, a
	// watch catching up) from stalling writes. The file itself still grows
	// only as data is written.
	InitialMmapSize int
	// Now is the clock stamped on change-log entries and methodology
	// versions; nil means time.Now.
	Now func() time.Time
	// NoIndex skips recomputing scores in the commit path. It is for
	// benchmarks only, to measure what the recompute costs: a store written
	// with it keeps stale score summaries, which Verify reports.
	NoIndex bool
}

const (
	defaultTimeout         = time.Second
	defaultInitialMmapSize = 256 << 20
)

// DB is an open store. Its methods are safe for concurrent use: bbolt runs
// one write transaction at a time and any number of reads beside it.
type DB struct {
	bolt    *bbolt.DB
	path    string
	now     func() time.Time
	noIndex bool
	// cur caches the current methodology with its weights, so that the
	// commit path neither decodes JSON nor solves AHP matrices. It is loaded
	// at Open and replaced after each PutMethodology commits.
	cur atomic.Pointer[scoring]
	// group commits shipment batches (group.go).
	group *committer
	// base keeps the base year's values between commits (basecache.go).
	base atomic.Pointer[baseValues]

	// writeMu is held by every write that logs changes, from its
	// transaction's start until the feed has them (write, feed.go);
	// logged collects them meanwhile.
	writeMu sync.Mutex
	logged  []Change
	feed    *feed
	// rev is the revision of the last committed write and oldest the
	// oldest one the change log retains, both kept up to date by the
	// writes that move them, so that reading them costs no transaction.
	rev, oldest atomic.Uint64
	// revFloor is the lowest revision the next committed write may take
	// (ApplyAt, cluster mode); 0 means one above the last.
	revFloor atomic.Uint64
}

// Open opens or creates the store at path, creates every bucket, stores the
// default methodology as version 1 of a new file, migrates a schema version 2
// file to version 3, and refuses a file written with any other version.
//
// It also refuses, with a message saying why: a file another process holds
// (bbolt's lock, after opts.Timeout), an existing file of 0 bytes (bbolt
// would silently make a new store of it, hiding a failed copy or restore:
// only a path that does not exist yet becomes a new store), and a file whose
// pages cannot be read (EDataLoss, rather than bbolt's panic).
func Open(path string, opts Options) (db *DB, err error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return nil, estimator.Errorf(estimator.EFailedPrecondition,
			"store: %s exists but is empty (0 bytes), so it is no computescale store: a copy or restore may have failed; remove it, or give a path that does not exist to start a new store", path)
	}
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, &estimator.Error{Code: estimator.EDataLoss,
				Message: fmt.Sprintf("store: %s is damaged: %v; restore it from a backup", path, r)}
		}
	}()
	return open(path, opts)
}

func open(path string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.InitialMmapSize <= 0 {
		opts.InitialMmapSize = defaultInitialMmapSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         opts.Timeout,
		InitialMmapSize: opts.InitialMmapSize,
		// The map freelist allocates in constant time where the array one
		// scans, which matters once a large file has many free pages.
		FreelistType: bbolt.FreelistMapType,
		// Never NoSync: a batch is acknowledged only after Commit returns,
		// and Commit fsyncs, so an acknowledged batch survives a crash.
		NoSync: false,
		// Keep the freelist on disk: commits write one more page, but Open
		// after a crash need not scan the whole file to rebuild it, and this
		// store frees few pages (records are rarely retracted).
		NoFreelistSync: false,
	})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, estimator.Errorf(estimator.EFailedPrecondition,
			"store: %s is locked by another process (waited %s for it): is another computescale server using this file?", path, opts.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer func() {
		// A damaged page panics in bbolt; release the file before Open
		// turns the panic into an error.
		if r := recover(); r != nil {
			bdb.Close()
			panic(r)
		}
	}()
	if err := initSchema(bdb, path, opts.Now); err != nil {
		bdb.Close()
		return nil, err
	}
	db := &DB{bolt: bdb, path: path, now: opts.Now, noIndex: opts.NoIndex}
	if err := db.loadCurrent(); err != nil {
		bdb.Close()
		return nil, err
	}
	if err := bdb.View(func(tx *bbolt.Tx) error {
		rev, err := readRevision(tx)
		if err != nil {
			return err
		}
		oldest, err := oldestIn(tx)
		db.rev.Store(rev)
		db.oldest.Store(oldest)
		db.feed = newFeed(rev)
		return err
	}); err != nil {
		bdb.Close()
		return nil, err
	}
	db.group = newCommitter(db)
	return db, nil
}

// errNothingToCommit makes a write transaction roll back without error when
// it turned out to change nothing.
var errNothingToCommit = errors.New("store: nothing to commit")

// initSchema creates the buckets of a new file and checks an existing file's
// schema version. It commits only when it created something.
func initSchema(bdb *bbolt.DB, path string, now func() time.Time) error {
	err := bdb.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if k, _ := tx.Cursor().First(); k != nil {
				return fmt.Errorf("store: %s is not a computescale store (it has buckets but no %q)", path, bucketMeta)
			}
			return createSchema(tx, now())
		}
		v := meta.Get(keySchema)
		if len(v) != 4 {
			return fmt.Errorf("store: %s has no valid schema version", path)
		}
		created := false
		switch got := binary.BigEndian.Uint32(v); got {
		case SchemaVersion:
		case 2:
			if err := migrateChipRefs(tx); err != nil {
				return fmt.Errorf("store: migrate %s from schema version 2: %w", path, err)
			}
			if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
				return err
			}
			created = true
		default:
			return estimator.Errorf(estimator.EFailedPrecondition,
				"store %s has schema version %d; this build reads version %d (and migrates 2)", path, got, SchemaVersion)
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				if _, err := tx.CreateBucket(name); err != nil {
					return fmt.Errorf("store: create bucket %s: %w", name, err)
				}
				created = true
			}
		}
		if meta.Get(keyMethodology) == nil {
			if err := storeDefaultMethodology(tx, now()); err != nil {
				return err
			}
			created = true
		}
		if !created {
			return errNothingToCommit
		}
		return nil
	})
	if errors.Is(err, errNothingToCommit) {
		return nil
	}
	return err
}

func createSchema(tx *bbolt.Tx, now time.Time) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("store: create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
		return err
	}
	if err := meta.Put(keyRevision, revisionKey(0)); err != nil {
		return err
	}
	return storeDefaultMethodology(tx, now)
}

// Close commits the shipment batches already submitted, refuses later ones
// with EUnavailable, ends every subscription with EUnavailable, and closes
// the file. Open transactions finish first.
func (db *DB) Close() error {
	db.group.close()
	db.feed.close()
	return db.bolt.Close()
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// Revision returns the revision of the last committed write (0 for none).
// It reads an atomic that every write moves after its commit and before it
// returns, so it costs no transaction: a write already returned (and so
// acknowledged) is at or below it.
func (db *DB) Revision() uint64 { return db.rev.Load() }

func readRevision(tx *bbolt.Tx) (uint64, error) {
	v := tx.Bucket(bucketMeta).Get(keyRevision)
	if len(v) != 8 {
		return 0, fmt.Errorf("store: meta revision has %d bytes, want 8", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// update runs fn in one write transaction. fn reports whether it changed
// anything; if not, or if it fails, the transaction rolls back, so a failed
// batch leaves nothing behind and a no-op costs no fsync and no revision.
func (db *DB) update(fn func(tx *bbolt.Tx) (changed bool, err error)) error {
	err := db.write(func(tx *bbolt.Tx) error {
		changed, err := fn(tx)
		if err == nil && !changed {
			return errNothingToCommit
		}
		return err
	})
	if errors.Is(err, errNothingToCommit) {
		return nil
	}
	return err
}
