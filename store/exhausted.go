package store

import (
	"errors"
	"strings"
	"syscall"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/computescale/computescale/estimator"
)

// exhaustion lists the errors that mean the disk, the quota or the
// process's file-size limit is used up, with the phrase each prints as:
// bbolt formats the error of growing the file with %s, so by then only
// the text is left to recognise it by.
var exhaustion = []struct {
	errno  syscall.Errno
	phrase string
}{
	{syscall.ENOSPC, "no space left on device"},
	{syscall.EDQUOT, "disk quota exceeded"},
	{syscall.EFBIG, "file too large"}, // RLIMIT_FSIZE or the filesystem's largest file
}

// storageError turns a transaction's failure for want of storage into
// EResourceExhausted saying so, instead of an unclassified error that
// callers would see as "internal error". The transaction was rolled back
// (bbolt writes the meta page last, so a failed commit leaves the previous
// one in force): nothing of the write was stored, and it may be retried
// once space is freed. Other errors pass unchanged.
func storageError(err error) error {
	if err == nil {
		return nil
	}
	var domain *estimator.Error
	if errors.As(err, &domain) {
		return err
	}
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		// The file was closed under the caller: shutdown, or a cluster node
		// swapping in a rebuilt view. The same request may succeed on retry,
		// here later or on another node, so it is not an internal error.
		return estimator.Errorf(estimator.EUnavailable, "store is closed (shutting down or replacing its view); retry")
	}
	text := err.Error()
	for _, x := range exhaustion {
		if errors.Is(err, x.errno) || strings.Contains(text, x.phrase) {
			return estimator.Errorf(estimator.EResourceExhausted,
				"storage exhausted (%s): nothing of this write was stored; free space, or raise the quota or file-size limit, and retry", x.phrase)
		}
	}
	return err
}

// read runs fn in a read transaction, with the same classification of
// failures as write.
func (db *DB) read(fn func(tx *bbolt.Tx) error) error {
	return storageError(db.bolt.View(fn))
}
