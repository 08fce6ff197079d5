package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// revisionWaiter is what a store whose view may lag its source of truth
// offers (etcdstore, cluster mode): waiting until the view has applied a
// revision, and learning the source's current revision. The single-node
// store has no lag and does not implement it.
type revisionWaiter interface {
	WaitRevision(ctx context.Context, rev uint64) error
	ConsistentRevision(ctx context.Context) (uint64, error)
}

// awaitRevision makes reads in cluster mode consistent without the
// handlers knowing: a request with a min_revision field waits until this
// node's view has applied that revision, or, when it is 0, etcd's current
// one (one quorum read, then the watch delay: the cost of a linearizable
// read, as with the Kubernetes apiserver's consistent reads from its watch
// cache). The wait is bounded by Config.ReadWaitLimit, then UNAVAILABLE,
// which the client retries (on another node when it has several). Requests
// without the field (chips, methodology, writes) pass.
func (s *Server) awaitRevision(w revisionWaiter) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		m, ok := req.(proto.Message)
		if !ok {
			return handler(ctx, req)
		}
		r := m.ProtoReflect()
		fd := r.Descriptor().Fields().ByName("min_revision")
		if fd == nil || fd.Kind() != protoreflect.Uint64Kind {
			return handler(ctx, req)
		}
		wctx, cancel := context.WithTimeout(ctx, s.readWait)
		defer cancel()
		rev := r.Get(fd).Uint()
		if rev == 0 {
			var err error
			if rev, err = w.ConsistentRevision(wctx); err != nil {
				return nil, s.toError(ctx, err)
			}
		}
		if err := w.WaitRevision(wctx, rev); err != nil {
			return nil, s.toError(ctx, err)
		}
		return handler(ctx, req)
	}
}
