package server

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/computescale/computescale/catalog"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestCachedReadsFollowWrites: cached answers never lag a write that has
// returned (read your writes), and one reader's answers never go back in
// revision, across keys, while writes commit concurrently.
func TestCachedReadsFollowWrites(t *testing.T) {
	s := chainServer(t, io.Discard, Limits{})
	ctx := context.Background()
	read := func(i int) (uint64, error) {
		if i%4 == 3 {
			r, err := s.GetNationalCompute(ctx, &pb.GetNationalComputeRequest{Year: 2024})
			return r.GetTotals().GetRevision(), err
		}
		p := []string{"CN-GD", "CN-BJ", "CN-JS"}[i%4]
		r, err := s.GetProvinceCompute(ctx, &pb.GetProvinceComputeRequest{Province: p, Year: 2024})
		return r.GetTotals().GetRevision(), err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var last uint64
			for i := g; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rev, err := read(i)
				if err != nil {
					t.Error(err)
					return
				}
				if rev < last {
					t.Errorf("reader %d: revision %d after %d", g, rev, last)
					return
				}
				last = rev
			}
		})
	}
	spec := catalog.Chips()[0]
	var prev uint64
	for i := range 40 {
		spec.Source = fmt.Sprintf("test revision %d", i)
		if _, err := s.store.PutChip(spec); err != nil {
			t.Fatal(err)
		}
		want := s.store.Revision()
		if want <= prev {
			t.Fatalf("write %d did not move the revision (%d after %d)", i, want, prev)
		}
		prev = want
		for k := range 4 {
			got, err := read(k)
			if err != nil {
				t.Fatal(err)
			}
			if got < want {
				t.Fatalf("after the write at revision %d returned, key %d answered at revision %d", want, k, got)
			}
		}
	}
	close(stop)
	wg.Wait()
}

// TestRevisionWithoutWrites: a cached read needs no read transaction while
// nothing commits.
func TestRevisionWithoutWrites(t *testing.T) {
	s := chainServer(t, io.Discard, Limits{})
	want := s.store.Revision()
	for range 3 {
		if got := s.revision(); got != want {
			t.Fatalf("revision() = %d; want %d", got, want)
		}
	}
	before := s.store.Stats().ReadTxs
	for range 10 {
		s.revision()
	}
	if n := s.store.Stats().ReadTxs - before; n != 0 {
		t.Errorf("%d read transactions for 10 revisions of an unchanged store", n)
	}
}
