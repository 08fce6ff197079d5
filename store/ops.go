package store

import (
	"fmt"
	"io"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// BackupInfo describes a snapshot that Backup writes.
type BackupInfo struct {
	Revision uint64 // the revision the snapshot holds
	Size     int64  // its length in bytes
}

// BackupStarter is implemented by a Backup writer that wants the snapshot's
// revision and size before its first byte (a stream whose every message
// carries them).
type BackupStarter interface {
	StartBackup(BackupInfo) error
}

// Backup writes a consistent snapshot of the whole store to w, a file that
// Open opens as it is. It is taken in one read transaction, so writes go on
// meanwhile and the snapshot holds exactly the writes up to its revision.
// If w is a BackupStarter it hears the snapshot's revision and size first.
func (db *DB) Backup(w io.Writer) (BackupInfo, error) {
	var info BackupInfo
	err := db.read(func(tx *bbolt.Tx) error {
		rev, err := readRevision(tx)
		if err != nil {
			return err
		}
		info = BackupInfo{Revision: rev, Size: tx.Size()}
		if s, ok := w.(BackupStarter); ok {
			if err := s.StartBackup(info); err != nil {
				return err
			}
		}
		if _, err := tx.WriteTo(w); err != nil {
			return fmt.Errorf("store: write snapshot at revision %d: %w", rev, err)
		}
		return nil
	})
	return info, err
}

// Stats is what the store reports for metrics. Counters count since Open.
type Stats struct {
	Revision       uint64 // as Revision
	OldestRevision uint64 // as OldestRevision
	// ChangeLogEntries is how many revisions of watch history are retained.
	ChangeLogEntries uint64
	// FeedChanges is how many recent changes subscribers are served from
	// memory (the window; see Subscribe).
	FeedChanges int

	FileBytes  int64         // size of the bbolt file
	FreePages  int           // pages free for reuse in it
	PageWrites int64         // pages written by commits
	WriteTime  time.Duration // spent writing pages
	SpillTime  time.Duration // spent rebalancing and spilling nodes
	ReadTxOpen int           // read transactions open now
	ReadTxs    int           // read transactions started

	// CommitGroups and CommitGroupBatches are as GroupStats.
	CommitGroups, CommitGroupBatches uint64
}

// Stats reports the store's figures; it reads no transaction, so a metrics
// scrape costs a file stat and a few atomics.
func (db *DB) Stats() Stats {
	bs := db.bolt.Stats()
	st := Stats{
		Revision: db.Revision(), OldestRevision: db.OldestRevision(),
		FreePages: bs.FreePageN, PageWrites: bs.TxStats.GetWrite(),
		WriteTime: bs.TxStats.GetWriteTime(), SpillTime: bs.TxStats.GetSpillTime(),
		ReadTxOpen: bs.OpenTxN, ReadTxs: bs.TxN,
	}
	if st.Revision+1 > st.OldestRevision {
		st.ChangeLogEntries = st.Revision + 1 - st.OldestRevision
	}
	st.FeedChanges = db.feed.size()
	if fi, err := os.Stat(db.path); err == nil {
		st.FileBytes = fi.Size()
	}
	st.CommitGroups, st.CommitGroupBatches = db.GroupStats()
	return st
}
