package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"github.com/computescale/computescale/estimator"
)

// TestStorageError: the forms in which storage exhaustion reaches the write
// path (an errno inside bbolt's *PathError from write or fdatasync, and the
// bare text of bbolt's "file resize error") become EResourceExhausted naming
// the cause; other errors pass unchanged. TestDiskFull (server) drives the
// real thing through a file-size limit.
func TestStorageError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"ENOSPC", &fs.PathError{Op: "write", Path: "/data/cs.db", Err: syscall.ENOSPC}, "no space left on device"},
		{"EDQUOT", fmt.Errorf("commit: %w", &fs.PathError{Op: "fdatasync", Path: "/data/cs.db", Err: syscall.EDQUOT}), "disk quota exceeded"},
		{"GrowEFBIG", errors.New("file resize error: file too large"), "file too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *estimator.Error
			if err := storageError(tc.err); !errors.As(err, &e) || e.Code != estimator.EResourceExhausted {
				t.Fatalf("%v → %v, want EResourceExhausted", tc.err, err)
			}
			if want := "storage exhausted (" + tc.want + ")"; len(e.Message) < len(want) || e.Message[:len(want)] != want {
				t.Errorf("message %q, want it to start %q", e.Message, want)
			}
		})
	}
	other := errors.New("store: malformed key")
	if got := storageError(other); got != other {
		t.Errorf("an unrelated error became %v", got)
	}
}
