// Package storetest damages store files on purpose, for the tests of the
// commands that must detect it. It lives under store because it needs the
// file's bbolt layout, which nothing outside store may touch.
package storetest

import (
	"fmt"
	"os"
	"strings"
	"time"

	"go.etcd.io/bbolt"
)

// DamageBucketPage overwrites, in the closed store file at path, the root
// page of the top-level bucket named bucket with garbage (as a torn write or
// a bad sector would) and returns the page's id. The bucket must have a page
// of its own (not be inlined in its parent).
func DamageBucketPage(path, bucket string) (uint64, error) {
	bdb, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	var page uint64
	bdb.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket([]byte(bucket)); b != nil {
			page = uint64(b.Root())
		}
		return nil
	})
	size := bdb.Info().PageSize
	if err := bdb.Close(); err != nil {
		return 0, err
	}
	if page == 0 {
		return 0, fmt.Errorf("storetest: bucket %q has no page of its own in %s", bucket, path)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strings.Repeat("\xab", size)), int64(page)*int64(size)); err != nil {
		return 0, err
	}
	return page, nil
}
