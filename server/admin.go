package server

import (
	"context"
	"io"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

// backupChunk is the size of one Backup message: large enough to keep the
// per-message overhead small, far below the 4 MiB default receive limit.
const backupChunk = 1 << 20

// Backup streams the store's consistent online snapshot (store.Backup), so
// ingest goes on meanwhile.
func (s *Server) Backup(_ *pb.BackupRequest, stream pb.AdminService_BackupServer) error {
	ctx := stream.Context()
	w := &chunkWriter{buf: make([]byte, 0, backupChunk)}
	w.send = func(b []byte) error {
		return stream.Send(&pb.BackupResponse{Chunk: b, Revision: w.info.Revision, Size: w.info.Size})
	}
	_, err := s.store.Backup(w)
	if err == nil {
		err = w.flush()
	}
	return s.toError(ctx, err)
}

// chunkWriter turns the snapshot's writes into messages of backupChunk bytes,
// each carrying the snapshot's revision and size.
type chunkWriter struct {
	send func([]byte) error
	buf  []byte
	info store.BackupInfo
}

// StartBackup learns the revision and size before the first byte.
func (w *chunkWriter) StartBackup(info store.BackupInfo) error {
	w.info = info
	return nil
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

var (
	_ io.Writer           = (*chunkWriter)(nil)
	_ store.BackupStarter = (*chunkWriter)(nil)
)

// Verify recomputes every aggregate and score from stored inputs.
func (s *Server) Verify(ctx context.Context, _ *pb.VerifyRequest) (*pb.VerifyResponse, error) {
	rep, err := s.store.Verify()
	if err != nil {
		return nil, s.toError(ctx, err)
	}
	rev := s.store.Revision()
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
