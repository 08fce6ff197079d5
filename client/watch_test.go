package client_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// fakeWatch is a WatchService that plays one script function per stream
// opened, in order, and records the requests.
type fakeWatch struct {
	pb.UnimplementedWatchServiceServer
	mu      sync.Mutex
	scripts []func(*pb.WatchRequest, pb.WatchService_WatchServer) error
	reqs    []*pb.WatchRequest
}

func (f *fakeWatch) Watch(req *pb.WatchRequest, st pb.WatchService_WatchServer) error {
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if n >= len(f.scripts) {
		return status.Error(codes.Unavailable, "script exhausted")
	}
	return f.scripts[n](req, st)
}

func (f *fakeWatch) starts() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []uint64
	for _, r := range f.reqs {
		out = append(out, r.GetStartRevision())
	}
	return out
}

// newFake serves f over an in-memory connection and returns a client of it.
func newFake(t *testing.T, f *fakeWatch) *client.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	pb.RegisterWatchServiceServer(g, f)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	c, err := client.New("passthrough:///fake", client.WithDialOptions(grpc.WithContextDialer(
		func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ev(rev uint64, version uint64) *pb.Event {
	return &pb.Event{Revision: rev, Kind: pb.EventKind_EVENT_KIND_METHODOLOGY, Change: &pb.Event_MethodologyVersion{MethodologyVersion: version}}
}

func resp(rev uint64, fragment bool, events ...*pb.Event) *pb.WatchResponse {
	return &pb.WatchResponse{Revision: rev, Fragment: fragment, Events: events}
}

func send(st pb.WatchService_WatchServer, rs ...*pb.WatchResponse) error {
	for _, r := range rs {
		if err := st.Send(r); err != nil {
			return err
		}
	}
	return nil
}

func withInfo(code codes.Code, reason, key string, v uint64) error {
	st, _ := status.New(code, reason).WithDetails(&errdetails.ErrorInfo{Reason: reason, Metadata: map[string]string{key: strconv.FormatUint(v, 10)}})
	return st.Err()
}

var fast = client.WithWatchBackoff(time.Millisecond, 5*time.Millisecond)

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestWatchResumes: a break in the middle of a fragmented revision, a
// cut-off, then compaction. The callback sees every event once, whatever the
// fragmentation of the resent revision, and the last error is typed.
func TestWatchResumes(t *testing.T) {
	e5a, e5b, e5c, e6, e7 := ev(5, 1), ev(5, 2), ev(5, 3), ev(6, 4), ev(7, 5)
	f := &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{
		func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
			if err := send(st, resp(5, true, e5a, e5b)); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "restarting")
		},
		func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
			// Revision 5 again, cut differently.
			if err := send(st, resp(5, true, e5a), resp(5, false, e5b, e5c), resp(7, false, e6, e7)); err != nil {
				return err
			}
			return withInfo(codes.ResourceExhausted, "SUBSCRIBER_TOO_SLOW", "last_sent_revision", 7)
		},
		func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
			if err := send(st, &pb.WatchResponse{Revision: 9, ProgressNotify: true}); err != nil {
				return err
			}
			return withInfo(codes.OutOfRange, "REVISION_COMPACTED", "oldest_revision", 12)
		},
	}}
	c := newFake(t, f)
	var got []*pb.Event
	var progress []uint64
	var froms []uint64
	err := c.Watch(testCtx(t), &pb.WatchRequest{StartRevision: 5}, func(r *pb.WatchResponse) error {
		if r.GetProgressNotify() {
			progress = append(progress, r.GetRevision())
		}
		got = append(got, r.GetEvents()...)
		return nil
	}, fast, client.WithWatchResumeHook(func(from uint64, _ error) { froms = append(froms, from) }))

	var ce *client.CompactedError
	if !errors.As(err, &ce) || ce.Oldest != 12 || status.Code(ce.Err) != codes.OutOfRange {
		t.Fatalf("err = %v, want *CompactedError{Oldest: 12}", err)
	}
	want := []*pb.Event{e5a, e5b, e5c, e6, e7}
	if len(got) != len(want) {
		t.Fatalf("got %d events %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Errorf("event %d = %v, want %v", i, got[i], want[i])
		}
	}
	if starts := f.starts(); !slices.Equal(starts, []uint64{5, 5, 8}) || !slices.Equal(froms, []uint64{5, 8}) || !slices.Equal(progress, []uint64{9}) {
		t.Errorf("starts %v, resumes from %v, progress %v; want [5 5 8], [5 8], [9]", starts, froms, progress)
	}
}

// TestWatchFromNow: a "from now" watch that breaks before its first response
// resumes after the revision of the stream's header; without a header, after
// the server's last_sent_revision.
func TestWatchFromNow(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first func(*pb.WatchRequest, pb.WatchService_WatchServer) error
	}{
		{"OK/Header", func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
			if err := st.SendHeader(metadata.Pairs("computescale-watch-after", "3")); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "going away")
		}},
		{"OK/ErrorInfo", func(*pb.WatchRequest, pb.WatchService_WatchServer) error {
			return withInfo(codes.ResourceExhausted, "SUBSCRIBER_TOO_SLOW", "last_sent_revision", 3)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{
				tt.first,
				func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
					if err := send(st, resp(4, false, ev(4, 1))); err != nil {
						return err
					}
					<-st.Context().Done()
					return nil
				},
			}}
			c := newFake(t, f)
			err := c.Watch(testCtx(t), &pb.WatchRequest{}, func(*pb.WatchResponse) error { return client.ErrStopWatch }, fast)
			if err != nil {
				t.Fatal(err)
			}
			if starts := f.starts(); !slices.Equal(starts, []uint64{0, 4}) {
				t.Errorf("starts %v, want [0 4]", starts)
			}
		})
	}
}

// TestWatchEnds covers how a watch ends: the caller's error, cancellation, a
// status no reopen cures, and too many reopens without progress.
func TestWatchEnds(t *testing.T) {
	live := func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
		if err := send(st, resp(1, false, ev(1, 1))); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	}
	unavailable := func(*pb.WatchRequest, pb.WatchService_WatchServer) error {
		return status.Error(codes.Unavailable, "down")
	}
	t.Run("ErrCallback", func(t *testing.T) {
		boom := status.Error(codes.Aborted, "the caller's own")
		c := newFake(t, &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{live}})
		if err := c.Watch(testCtx(t), &pb.WatchRequest{StartRevision: 1}, func(*pb.WatchResponse) error { return boom }); err != boom {
			t.Errorf("err = %v, want the callback's", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		c := newFake(t, &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{live}})
		ctx, cancel := context.WithCancel(testCtx(t))
		err := c.Watch(ctx, &pb.WatchRequest{StartRevision: 1}, func(*pb.WatchResponse) error { cancel(); return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("ErrPermissionDenied", func(t *testing.T) {
		f := &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{
			func(*pb.WatchRequest, pb.WatchService_WatchServer) error {
				return status.Error(codes.PermissionDenied, "no")
			},
		}}
		err := newFake(t, f).Watch(testCtx(t), &pb.WatchRequest{}, func(*pb.WatchResponse) error { return nil }, fast)
		if status.Code(err) != codes.PermissionDenied || len(f.starts()) != 1 {
			t.Errorf("err = %v after %d streams, want PermissionDenied after 1", err, len(f.starts()))
		}
	})
	t.Run("ErrRetriesExhausted", func(t *testing.T) {
		f := &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{unavailable, unavailable, unavailable, unavailable}}
		err := newFake(t, f).Watch(testCtx(t), &pb.WatchRequest{StartRevision: 1}, func(*pb.WatchResponse) error { return nil },
			fast, client.WithWatchRetries(2))
		if status.Code(err) != codes.Unavailable || len(f.starts()) != 3 {
			t.Errorf("err = %v after %d streams, want Unavailable after 3", err, len(f.starts()))
		}
	})
}

func TestWatchChan(t *testing.T) {
	f := &fakeWatch{scripts: []func(*pb.WatchRequest, pb.WatchService_WatchServer) error{
		func(_ *pb.WatchRequest, st pb.WatchService_WatchServer) error {
			if err := send(st, resp(1, false, ev(1, 1)), resp(2, false, ev(2, 2))); err != nil {
				return err
			}
			<-st.Context().Done()
			return nil
		},
	}}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	out, errc := newFake(t, f).WatchChan(ctx, &pb.WatchRequest{StartRevision: 1})
	var revs []uint64
	for r := range out {
		if revs = append(revs, r.GetRevision()); len(revs) == 2 {
			cancel()
		}
	}
	if err := <-errc; err != nil || !slices.Equal(revs, []uint64{1, 2}) {
		t.Errorf("revisions %v, err %v; want [1 2] and nil", revs, err)
	}
}
