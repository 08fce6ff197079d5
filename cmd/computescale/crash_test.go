package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/store"
)

// TestCrashRecovery kills a real `computescale serve` process with SIGKILL in
// the middle of an ingest stream, again and again on the same database file,
// and checks after every kill, with the file opened directly, that
//   - every batch the server acknowledged is stored whole,
//   - no batch is stored in part (a batch is one transaction),
//   - Verify finds every cell and score consistent and bbolt's pages sound.
//
// The next cycle restarts serve on the same file and resends the batches
// that were never acknowledged (an identical resend is a no-op), then new
// ones. After the last cycle a clean run must get every batch acknowledged.
//
// SIGKILL loses the process, not the page cache, so this tests crash
// atomicity and recovery, not power loss (which rests on bbolt's fsync).
//
// COMPUTESCALE_CRASH_CYCLES sets the number of cycles (default 3);
// COMPUTESCALE_CRASH_SEED replays a run; scripts/crash.sh runs 25.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills servers; skipped with -short")
	}
	cycles := envInt(t, "COMPUTESCALE_CRASH_CYCLES", 3)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("COMPUTESCALE_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("$COMPUTESCALE_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("crash: %d cycles, seed %d (replay with COMPUTESCALE_CRASH_SEED=%d)", cycles, seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))

	bin := buildBinary(t)
	dir := t.TempDir()
	h := &crashRun{t: t, bin: bin, db: filepath.Join(dir, "crash.db"), tokens: writeTokenFile(t, dir), rng: rng}
	start := time.Now()
	for cycle := 1; cycle <= cycles && !t.Failed(); cycle++ {
		fresh := makeBatches(rng, fmt.Sprintf("c%02d", cycle), 10+rng.IntN(30))
		send := append(unacked(h.all), fresh...)
		h.all = append(h.all, fresh...)
		h.cycle(cycle, send)
		h.check(cycle)
	}
	if t.Failed() {
		return
	}
	h.finish()
	records := 0
	for _, b := range h.all {
		records += len(b.recs)
	}
	t.Logf("crash summary: PASS %d cycles in %v (seed %d): %d batches of %d records, %d acknowledged before their server was killed, "+
		"%d committed but killed before the ack, none lost, none partial, Verify clean after every kill",
		cycles, time.Since(start).Round(time.Millisecond), seed, len(h.all), records, h.ackedBeforeKill, h.landedUnacked)
}

// crashRun is the state of TestCrashRecovery across cycles.
type crashRun struct {
	t      *testing.T
	bin    string
	db     string
	tokens string
	rng    *rand.Rand
	all    []*testBatch // every batch of every cycle so far

	ackedBeforeKill int // acks received in killed cycles
	landedUnacked   int // batches found whole on disk although never acked
}

// cycle starts serve, ingests send and kills the server after a random
// number of acks plus a random delay, while batches are in flight.
func (h *crashRun) cycle(n int, send []*testBatch) {
	t := h.t
	srv := startServe(t, h.bin, h.db, h.tokens)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := putTestChips(ctx, srv.addr); err != nil {
		t.Fatalf("cycle %d: %v", n, err)
	}
	vendor, err := client.New(srv.addr, client.WithToken(testVendorToken))
	if err != nil {
		t.Fatal(err)
	}
	defer vendor.Close()

	killAfter := h.rng.IntN(len(send)) // acks to wait for; 0 kills at once
	delay := time.Duration(h.rng.IntN(1500)) * time.Microsecond
	trigger := make(chan struct{})
	var once sync.Once
	fire := func() { once.Do(func() { close(trigger) }) }
	if killAfter == 0 {
		fire()
	}
	ingestCtx, stopIngest := context.WithCancel(ctx)
	defer stopIngest()
	done := make(chan error, 1)
	acks := 0
	go func() {
		done <- ingestBatches(ingestCtx, vendor, send, func() {
			if acks++; acks >= killAfter {
				fire()
			}
		})
	}()
	ended := false // the last acks can beat this goroutine to the trigger
	select {
	case <-trigger:
	case err := <-done:
		select {
		case <-trigger:
			ended = true
			if err != nil {
				t.Errorf("cycle %d: ingest failed before the kill: %v", n, err)
			}
		default:
			t.Fatalf("cycle %d: ingest ended before the kill: %v", n, err)
		}
	case <-ctx.Done():
		t.Fatalf("cycle %d: no kill trigger within the cycle's time limit", n)
	}
	time.Sleep(delay)
	srv.kill(t)
	stopIngest() // the client would otherwise wait for the server to return
	if !ended {
		select {
		case <-done: // an error: the stream was cut, then cancelled
		case <-time.After(30 * time.Second):
			t.Fatalf("cycle %d: ingest did not return after its server was killed", n)
		}
	}
	h.ackedBeforeKill += acks
	t.Logf("crash: cycle %d: %d batches to send, killed after ack %d + %v; %d acks received",
		n, len(send), killAfter, delay, acks)
	for _, b := range send {
		if b.err != nil {
			t.Errorf("cycle %d: batch %s rejected: %v", n, b.name, b.err)
		}
	}
}

// check opens the killed server's file and checks every batch sent so far.
func (h *crashRun) check(cycle int) {
	t := h.t
	db, err := store.Open(h.db, store.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("cycle %d: reopen after the kill: %v", cycle, err)
	}
	defer db.Close()
	var maxAck uint64
	for _, b := range h.all {
		have, err := presentRecords(db, b)
		if err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		switch {
		case b.acked && have != len(b.recs):
			t.Errorf("cycle %d: batch %s was acknowledged at revision %d, but %d of its %d records are stored",
				cycle, b.name, b.rev, have, len(b.recs))
		case have != 0 && have != len(b.recs):
			t.Errorf("cycle %d: batch %s is stored in part: %d of %d records", cycle, b.name, have, len(b.recs))
		case !b.acked && have == len(b.recs) && !b.landed:
			b.landed = true
			h.landedUnacked++
		}
		if b.acked {
			maxAck = max(maxAck, b.rev)
		}
	}
	if rev := db.Revision(); rev < maxAck {
		t.Errorf("cycle %d: store revision %d is behind acknowledged revision %d", cycle, rev, maxAck)
	}
	checkVerify(t, fmt.Sprintf("cycle %d", cycle), db)
}

// finish runs serve once more without a kill: every batch must now be
// acknowledged, and Verify over the RPC must agree with the file.
func (h *crashRun) finish() {
	t := h.t
	srv := startServe(t, h.bin, h.db, h.tokens)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vendor, err := client.New(srv.addr, client.WithToken(testVendorToken))
	if err != nil {
		t.Fatal(err)
	}
	defer vendor.Close()
	if err := ingestBatches(ctx, vendor, unacked(h.all), nil); err != nil {
		t.Fatalf("final ingest: %v", err)
	}
	if left := unacked(h.all); len(left) > 0 {
		t.Fatalf("final ingest: %d batches still unacknowledged (first %s: %v)", len(left), left[0].name, left[0].err)
	}
	admin, err := client.New(srv.addr, client.WithToken(testAdminToken))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	rep, err := admin.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	records := 0
	for _, b := range h.all {
		records += len(b.recs)
	}
	if !rep.GetOk() || rep.GetRecords() != int64(records) {
		t.Errorf("final Verify RPC: ok=%v, %d records (want %d), mismatches %q, check errors %q",
			rep.GetOk(), rep.GetRecords(), records, rep.GetMismatches(), rep.GetCheckErrors())
	}
	srv.kill(t)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("$%s=%q: want a positive integer", name, s)
	}
	return n
}
