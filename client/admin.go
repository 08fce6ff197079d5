package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// Backup streams a consistent snapshot of the server's database into w and
// returns the store revision it holds and the bytes written (admin). The
// snapshot is a complete bbolt file: `computescale serve --db FILE` on it is
// the restore. Backup checks that it received exactly the size the server
// announced, so a cut stream is an error, never a short file.
//
// The call has no deadline of its own, since a large file takes as long as it
// takes; bound it with ctx. It is not retried: a failed backup is started
// again by the caller, from an empty w.
func (c *Client) Backup(ctx context.Context, w io.Writer) (revision uint64, n int64, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := pb.NewAdminServiceClient(c.conn).Backup(ctx, &pb.BackupRequest{})
	if err != nil {
		return 0, 0, fmt.Errorf("backup: %w", err)
	}
	size := int64(-1)
	for {
		msg, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return revision, n, fmt.Errorf("backup after %d bytes: %w", n, err)
		}
		revision, size = msg.GetRevision(), msg.GetSize()
		k, err := w.Write(msg.GetChunk())
		n += int64(k)
		if err != nil {
			return revision, n, fmt.Errorf("backup: write after %d bytes: %w", n, err)
		}
	}
	if n == 0 || n != size {
		return revision, n, fmt.Errorf("backup: received %d bytes, the server announced %d", n, max(size, 0))
	}
	return revision, n, nil
}

// Verify asks the server to recompute every aggregate and score from stored
// inputs and run bbolt's consistency check (admin). A store that differs is
// not an error: the response says so (Ok false, Mismatches, CheckErrors).
// Verify reads the whole store; raise WithTimeout for a large one.
func (c *Client) Verify(ctx context.Context) (*pb.VerifyResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := pb.NewAdminServiceClient(c.conn).Verify(ctx, &pb.VerifyRequest{})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return resp, nil
}

// Compact drops the watch history (change log) before revision (admin).
// Watchers that resume from an earlier revision are then refused.
func (c *Client) Compact(ctx context.Context, revision uint64) (*pb.CompactResponse, error) {
	ctx, cancel := c.unary(ctx)
	defer cancel()
	resp, err := pb.NewAdminServiceClient(c.conn).Compact(ctx, &pb.CompactRequest{Revision: revision})
	if err != nil {
		return nil, fmt.Errorf("compact to revision %d: %w", revision, err)
	}
	return resp, nil
}
