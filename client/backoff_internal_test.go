package client

import (
	"testing"
	"time"
)

// TestWatchBackoffJitter: the reopen waits double up to the cap and are
// spread within ±20 % of it, and do not all come out equal.
func TestWatchBackoffJitter(t *testing.T) {
	r := &watchRun{opts: watchOptions{minBackoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second}}
	for _, tc := range []struct {
		failures int
		base     time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {20, 5 * time.Second}} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := r.backoff(tc.failures)
			if lo, hi := tc.base*8/10, tc.base*12/10; d < lo || d > hi {
				t.Fatalf("failure %d: wait %v outside %v..%v", tc.failures, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("failure %d: only %d distinct waits in 50: no jitter", tc.failures, len(seen))
		}
	}
	if lo, hi := jitter(time.Second, 0), jitter(time.Second, 0.999999); lo != 800*time.Millisecond || hi < 1199*time.Millisecond {
		t.Errorf("jitter bounds %v, %v; want 800ms and just under 1.2s", lo, hi)
	}
}
