package server

import (
	"context"
	"io"

	"go.etcd.io/bbolt"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// backupChunk is the size of one Backup message: large enough to keep the
// per-message overhead small, far below the 4 MiB default receive limit.
const backupChunk = 1 << 20

// Backup streams a consistent snapshot taken in one read transaction, so
// ingest goes on meanwhile (bbolt's Tx.WriteTo).
func (s *Server) Backup(_ *pb.BackupRequest, stream pb.AdminService_BackupServer) error {
	ctx := stream.Context()
	err := s.store.Bolt().View(func(tx *bbolt.Tx) error {
		rev, err := s.store.RevisionIn(tx)
		if err != nil {
			return err
		}
		w := &chunkWriter{send: func(b []byte) error {
			return stream.Send(&pb.BackupResponse{Chunk: b, Revision: rev, Size: tx.Size()})
		}, buf: make([]byte, 0, backupChunk)}
		if _, err := tx.WriteTo(w); err != nil {
			return err
		}
		return w.flush()
	})
	return s.toError(ctx, err)
}

// chunkWriter turns WriteTo's writes into messages of backupChunk bytes.
type chunkWriter struct {
	send func([]byte) error
	buf  []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), cap(w.buf)-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	// The message keeps its own copy: the buffer is reused.
	err := w.send(append([]byte(nil), w.buf...))
	w.buf = w.buf[:0]
	return err
}

var _ io.Writer = (*chunkWriter)(nil)

// Verify recomputes every aggregate and score from stored inputs.
func (s *Server) Verify(ctx context.Context, _ *pb.VerifyRequest) (*pb.VerifyResponse, error) {
	rep, err := s.store.Verify()
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	rev, _ := s.store.Revision()
	return &pb.VerifyResponse{
		Ok:      len(rep.Mismatches) == 0 && len(rep.CheckErrors) == 0,
		Records: int64(rep.Records), Cells: int64(rep.Cells),
		Mismatches: rep.Mismatches, CheckErrors: rep.CheckErrors, Revision: rev,
	}, nil
}

// Compact drops watch history before a revision.
func (s *Server) Compact(ctx context.Context, req *pb.CompactRequest) (*pb.CompactResponse, error) {
	res, err := s.store.Compact(req.GetRevision())
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	return &pb.CompactResponse{OldestRevision: res.Oldest, Dropped: int64(res.Dropped)}, nil
}
