package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/server"
	"github.com/computescale/computescale/store"
)

// diskFullDB names the database file of the child process of TestDiskFull;
// set only in that child.
const diskFullDB = "COMPUTESCALE_TEST_DISKFULL_DB"

// diskFullLimit is the child's RLIMIT_FSIZE. The child's store maps 1 MiB
// at first, so the file doubles from 1 MiB and the growth past 8 MiB fails.
const diskFullLimit = 8 << 20

// TestDiskFull runs a real server in a child process whose file-size limit
// (RLIMIT_FSIZE, settable without privileges) is 8 MiB, ingests through the
// generated client until the store cannot grow, and checks that the batch
// that did not fit is answered ResourceExhausted saying why (not Internal),
// that reads still work, and, reopening the file afterwards without the
// limit, that every acknowledged record and nothing else is stored and the
// file verifies.
//
// What this exercises: bbolt's growth of the file failing with EFBIG, which
// reaches the store as the text "file resize error: file too large". A full
// disk (ENOSPC) or quota (EDQUOT) fails the page writes or fdatasync of the
// same commit with the errno itself; TestStorageError (store) covers those
// forms of the error, not a full filesystem, which a test cannot make
// without privileges.
func TestDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), diskFullDB+"="+path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	var acked int
	var code, msg string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			f := strings.SplitN(rest, " ", 3)
			fmt.Sscan(f[0], &acked)
			code, msg = f[1], f[2]
		}
	}
	if code != codes.ResourceExhausted.String() || !strings.Contains(msg, "storage exhausted (file too large)") {
		t.Fatalf("the batch that did not fit: %s %q, want ResourceExhausted saying storage is exhausted\n%s", code, msg, out.String())
	}
	if acked == 0 {
		t.Fatalf("nothing was acknowledged before the limit; the test needs some\n%s", out.String())
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := db.Verify()
	if err != nil || len(rep.Mismatches)+len(rep.CheckErrors) > 0 {
		t.Fatalf("verify after disk full: %v %+v", err, rep)
	}
	if rep.Records != acked {
		t.Errorf("%d records stored, %d acknowledged", rep.Records, acked)
	}
}

// TestDiskFullChild is TestDiskFull's child process; run directly it has
// nothing to do (the environment names no database).
func TestDiskFullChild(t *testing.T) {
	path := os.Getenv(diskFullDB)
	if path == "" {
		return
	}
	lim := syscall.Rlimit{Cur: diskFullLimit, Max: diskFullLimit}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path, store.Options{InitialMmapSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tokens := server.NewTokens()
	tokens.Add(adminToken, server.Identity{Name: "admin", Role: server.RoleAdmin})
	srv, err := server.New(server.Config{Store: db, Tokens: tokens, MaxBatchRecords: 1000,
		Now: func() time.Time { return time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := srv.GRPCServer()
	go g.Serve(lis)
	defer g.Stop()
	defer srv.Close()
	srv.SetServing(true)
	c, err := client.New(lis.Addr().String(), client.WithToken(adminToken))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.PutChipSpec(ctx(t), xeon8480()); err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("n", 400) // records of about half a KiB: the file fills in a few thousand
	acked := 0
	for b := range 200 { // 200,000 records: far more than 8 MiB holds
		recs := make([]*pb.ShipmentRecord, 1000)
		for i := range recs {
			recs[i] = general(fmt.Sprintf("b%03d-%04d", b, i), "CN-GD", 2024, 0, 1)
			recs[i].Note = note
		}
		var failed error
		_, err := c.IngestShipments(ctx(t), recs, client.IngestOptions{BatchSize: 1000, OnAck: func(r client.BatchResult) {
			if r.Err != nil {
				failed = r.Err
			} else {
				acked += r.Len
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if failed != nil {
			if _, err := c.NationalCompute(ctx(t), 2024, 0); err != nil {
				t.Errorf("a read after the failed write: %v", err)
			}
			fmt.Printf("RESULT %d %s %s\n", acked, status.Code(failed), status.Convert(failed).Message())
			return
		}
	}
	t.Fatal("the file-size limit was never reached")
}
