package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// TestBackup runs a real server process (built once) for its subtests.
func TestBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := buildBinary(t)
	t.Run("DuringIngest", func(t *testing.T) { testBackupDuringIngest(t, bin) })
	t.Run("Commands", func(t *testing.T) { testBackupAndVerifyCommands(t, bin) })
}

// testBackupDuringIngest takes backups through the Backup RPC while a vendor
// streams batches, then opens each backup as a store: it must verify clean
// and hold exactly the batches acknowledged at or before the revision it
// reports, and none acknowledged after. Every batch here is new, so each
// commits exactly one revision and its ack names it.
func testBackupDuringIngest(t *testing.T, bin string) {
	dir := t.TempDir()
	srv := startServe(t, bin, filepath.Join(dir, "live.db"), writeTokenFile(t, dir))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := putTestChips(ctx, srv.addr); err != nil {
		t.Fatal(err)
	}
	vendor, err := client.New(srv.addr, client.WithToken(testVendorToken))
	if err != nil {
		t.Fatal(err)
	}
	defer vendor.Close()
	admin, err := client.New(srv.addr, client.WithToken(testAdminToken))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	batches := makeBatches(rand.New(rand.NewPCG(1, 2)), "bk", 200)
	ticks := make(chan struct{}, len(batches)) // never full: sending cannot block the ingest
	done := make(chan error, 1)
	acks := 0
	go func() {
		done <- ingestBatches(ctx, vendor, batches, func() {
			if acks++; acks%25 == 10 {
				ticks <- struct{}{}
			}
		})
	}()
	type backup struct {
		path string
		rev  uint64
		n    int64
	}
	var backups []backup
	take := func() {
		path := filepath.Join(dir, fmt.Sprintf("backup-%d.db", len(backups)))
		rev, n, err := backupFile(ctx, admin, path)
		if err != nil {
			t.Fatal(err)
		}
		backups = append(backups, backup{path, rev, n})
	}
	// A backup every 25 acks while the ingest goes on, and one after it.
	for finished := false; !finished; {
		select {
		case <-ticks:
			take()
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		}
	}
	take()
	if left := unacked(batches); len(left) > 0 {
		t.Fatalf("%d batches unacknowledged (first %s: %v)", len(left), left[0].name, left[0].err)
	}

	first, last := batches[0].rev, batches[len(batches)-1].rev
	var during []uint64
	for _, b := range backups {
		if b.rev >= first && b.rev < last {
			during = append(during, b.rev)
		}
		checkBackup(t, b.path, b.rev, b.n, batches)
	}
	t.Logf("%d backups, %d of them while ingest revisions %d..%d were committed: at revisions %v",
		len(backups), len(during), first, last, during)
	if len(during) == 0 {
		t.Errorf("no backup was taken while batches were still being acknowledged (revisions %d..%d)", first, last)
	}
}

func backupFile(ctx context.Context, c *client.Client, path string) (uint64, int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	rev, n, err := c.Backup(ctx, f)
	if err != nil {
		return 0, 0, err
	}
	return rev, n, f.Close()
}

// checkBackup opens a backup as a store and compares it with the acks.
func checkBackup(t *testing.T, path string, rev uint64, n int64, batches []*testBatch) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Size() != n {
		t.Fatalf("backup %s: stat %v, want %d bytes", path, err, n)
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("restore %s: %v", path, err)
	}
	defer db.Close()
	if got := db.Revision(); got != rev {
		t.Errorf("backup %s: revision %d, the RPC reported %d", path, got, rev)
	}
	want := 0
	for _, b := range batches {
		have, err := presentRecords(db, b)
		if err != nil {
			t.Fatal(err)
		}
		inside := b.rev <= rev
		if inside {
			want += len(b.recs)
		}
		if inside && have != len(b.recs) || !inside && have != 0 {
			t.Errorf("backup at revision %d: batch %s acked at revision %d has %d of %d records", rev, b.name, b.rev, have, len(b.recs))
		}
	}
	if rep := checkVerify(t, "backup "+path, db); rep.Records != want {
		t.Errorf("backup at revision %d holds %d records, want exactly %d", rev, rep.Records, want)
	}
}

// testBackupAndVerifyCommands runs the two commands against a real server.
func testBackupAndVerifyCommands(t *testing.T, bin string) {
	dir := t.TempDir()
	srv := startServe(t, bin, filepath.Join(dir, "live.db"), writeTokenFile(t, dir))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := putTestChips(ctx, srv.addr); err != nil {
		t.Fatal(err)
	}
	vendor, err := client.New(srv.addr, client.WithToken(testVendorToken))
	if err != nil {
		t.Fatal(err)
	}
	defer vendor.Close()
	batches := makeBatches(rand.New(rand.NewPCG(3, 4)), "cmd", 4)
	if err := ingestBatches(ctx, vendor, batches, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "b.db")
		out, errOut, err := run(t, "backup", file, "--addr", srv.addr, "--token", testAdminToken)
		if err != nil {
			t.Fatalf("backup: %v\n%s", err, errOut)
		}
		want := fmt.Sprintf("backup %s: revision %d, ", file, batches[3].rev)
		if !strings.HasPrefix(out, want) {
			t.Errorf("backup printed %q, want it to start %q", out, want)
		}
		if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
			t.Errorf("temporary file left behind: %v", err)
		}
		checkBackup(t, file, batches[3].rev, fileSize(t, file), batches)

		out, errOut, err = run(t, "verify", "--addr", srv.addr, "--token", testAdminToken)
		if err != nil {
			t.Fatalf("verify: %v\n%s", err, errOut)
		}
		if want := fmt.Sprintf("revision %d: 100 records, ", batches[3].rev); !strings.HasPrefix(out, want) || !strings.Contains(out, "checked: ok\n") {
			t.Errorf("verify printed %q, want %q... ok", out, want)
		}
	})
	t.Run("ErrPermissionDenied", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "b.db")
		for _, args := range [][]string{{"backup", file}, {"verify"}} {
			_, _, err := run(t, append(args, "--addr", srv.addr, "--token", testVendorToken)...)
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("%s as a vendor: %v, want PermissionDenied", args[0], err)
			}
		}
		if matches, _ := filepath.Glob(file + "*"); len(matches) > 0 {
			t.Errorf("a refused backup left files: %v", matches)
		}
	})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// fakeAdmin is an AdminService whose answers a test sets.
type fakeAdmin struct {
	pb.UnimplementedAdminServiceServer
	backup func(grpc.ServerStreamingServer[pb.BackupResponse]) error
	verify func() (*pb.VerifyResponse, error)
}

func (f *fakeAdmin) Backup(_ *pb.BackupRequest, s grpc.ServerStreamingServer[pb.BackupResponse]) error {
	return f.backup(s)
}

func (f *fakeAdmin) Verify(context.Context, *pb.VerifyRequest) (*pb.VerifyResponse, error) {
	return f.verify()
}

func serveFake(t *testing.T, f *fakeAdmin) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	pb.RegisterAdminServiceServer(g, f)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

// TestAdminCommandFailures covers what a healthy server does not produce: a
// store that verifies with mismatches, and backup streams that end early.
func TestAdminCommandFailures(t *testing.T) {
	t.Run("ErrVerifyMismatch", func(t *testing.T) {
		addr := serveFake(t, &fakeAdmin{verify: func() (*pb.VerifyResponse, error) {
			return &pb.VerifyResponse{Ok: false, Records: 3, Cells: 2, Revision: 7,
				Mismatches: []string{"cell 110000/basic/2024Q1: stored 5, re-derived 6"}, CheckErrors: []string{"page 9: unreachable"}}, nil
		}})
		out, _, err := run(t, "verify", "--addr", addr, "--token", testAdminToken)
		if err == nil || !strings.Contains(err.Error(), "1 mismatches, 1 page-check errors") {
			t.Errorf("verify of a bad store: %v, want an error counting the problems", err)
		}
		for _, want := range []string{"revision 7: 3 records, 2 cells checked: NOT OK", "mismatch: cell 110000/basic/2024Q1", "page check: page 9"} {
			if !strings.Contains(out, want) {
				t.Errorf("verify output lacks %q:\n%s", want, out)
			}
		}
	})
	for name, send := range map[string]func(grpc.ServerStreamingServer[pb.BackupResponse]) error{
		"ErrShortStream": func(s grpc.ServerStreamingServer[pb.BackupResponse]) error {
			return s.Send(&pb.BackupResponse{Chunk: []byte("partial"), Revision: 5, Size: 4096})
		},
		"ErrStreamCut": func(s grpc.ServerStreamingServer[pb.BackupResponse]) error {
			if err := s.Send(&pb.BackupResponse{Chunk: []byte("partial"), Revision: 5, Size: 4096}); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "server going away")
		},
		"ErrEmpty": func(grpc.ServerStreamingServer[pb.BackupResponse]) error { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			addr := serveFake(t, &fakeAdmin{backup: send})
			file := filepath.Join(t.TempDir(), "b.db")
			if err := os.WriteFile(file, []byte("previous backup"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, err := run(t, "backup", file, "--addr", addr, "--token", testAdminToken); err == nil {
				t.Fatal("backup of a cut stream succeeded")
			}
			if b, err := os.ReadFile(file); err != nil || string(b) != "previous backup" {
				t.Errorf("the previous backup was replaced: %q, %v", b, err)
			}
			if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("temporary file left behind: %v", err)
			}
		})
	}
}
