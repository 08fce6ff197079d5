package server_test

import (
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// TestWatchStalledSubscriberIsCutOff: a subscriber that never reads is cut
// off with ResourceExhausted and its last sent revision, while ingest
// completes and another subscriber receives everything.
func TestWatchStalledSubscriberIsCutOff(t *testing.T) {
	e := newWatchEnv(t, 16)
	e.putChips()
	if err := e.putObservations(e.stat, loadObservations(1)); err != nil {
		t.Fatal(err)
	}
	// Small HTTP/2 windows (they also turn off window growth), so that what
	// the transport holds for the stalled stream is bounded and small.
	stalledClient, err := client.New(e.addr, client.WithToken(readerToken),
		client.WithDialOptions(grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)))
	if err != nil {
		t.Fatal(err)
	}
	defer stalledClient.Close()
	stalled, err := watchStub(stalledClient).Watch(ctx(t), &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	after := startAfter(t, stalled)
	var target atomic.Uint64
	healthy := e.record(e.reader, "healthy", &pb.WatchRequest{}, &target)

	if err := e.ingestLoad("stall", 25, 20, 2); err != nil {
		t.Fatal(err)
	}
	target.Store(e.revision())
	healthy.wait(t)
	checkStream(t, "healthy", healthy.after, healthy.resps, e.expected(healthy.req, healthy.after))
	// The hub published everything the healthy subscriber received, so the
	// stalled one was dropped by then.
	if n := e.srv.WatchSubscribers(); n != 1 {
		t.Fatalf("%d live watchers, want the healthy one only", n)
	}

	// What the transport held still arrives, then the status.
	var resps []*pb.WatchResponse
	for {
		r, err := stalled.Recv()
		if err == nil {
			resps = append(resps, r)
			continue
		}
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("stalled stream ended with %v, want ResourceExhausted", err)
		}
		info := errorInfo(err)
		lastSent, perr := strconv.ParseUint(info.GetMetadata()["last_sent_revision"], 10, 64)
		if info.GetReason() != "SUBSCRIBER_TOO_SLOW" || perr != nil {
			t.Fatalf("error info %v", info)
		}
		complete := after
		var got []*pb.Event
		for _, r := range resps {
			if !r.GetFragment() {
				complete = r.GetRevision()
			}
			got = append(got, r.GetEvents()...)
		}
		if lastSent != complete || lastSent >= target.Load() {
			t.Errorf("last_sent_revision %d; received up to %d of %d", lastSent, complete, target.Load())
		}
		// What it did receive has no gap: a prefix of the log.
		want := e.expected(&pb.WatchRequest{}, after)
		checkStream(t, "stalled", after, resps, want[:min(len(got), len(want))])
		t.Logf("stalled subscriber received %d responses up to revision %d of %d before the cut", len(resps), complete, target.Load())
		return
	}
}

// TestWatchCompacted: a start before the retained history ends with
// OutOfRange and the oldest revision; the helper returns *CompactedError,
// and watching again from there delivers the rest.
func TestWatchCompacted(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	if err := e.ingestLoad("compact", 3, 10, 1); err != nil {
		t.Fatal(err)
	}
	rev := e.revision()
	resp, err := pb.NewAdminServiceClient(e.admin.Conn()).Compact(ctx(t), &pb.CompactRequest{Revision: rev - 2})
	if err != nil || resp.GetOldestRevision() != rev-2 {
		t.Fatalf("compact: %v %v", resp, err)
	}

	t.Run("ErrRaw", func(t *testing.T) {
		st, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{StartRevision: rev - 3})
		if err == nil {
			_, err = st.Recv()
		}
		info := errorInfo(err)
		if status.Code(err) != codes.OutOfRange || info.GetReason() != "REVISION_COMPACTED" ||
			info.GetMetadata()["oldest_revision"] != strconv.FormatUint(rev-2, 10) {
			t.Fatalf("err %v, info %v; want OutOfRange with oldest %d", err, info, rev-2)
		}
	})
	t.Run("ErrHelper", func(t *testing.T) {
		err := e.reader.Watch(ctx(t), &pb.WatchRequest{StartRevision: 1}, func(*pb.WatchResponse) error {
			return errors.New("no response expected")
		})
		var ce *client.CompactedError
		if !errors.As(err, &ce) || ce.Oldest != rev-2 || status.Code(ce.Err) != codes.OutOfRange {
			t.Fatalf("err = %v, want *CompactedError{Oldest: %d}", err, rev-2)
		}
	})
	t.Run("OKFromOldest", func(t *testing.T) {
		var target atomic.Uint64
		target.Store(rev)
		req := &pb.WatchRequest{StartRevision: rev - 2}
		got, err := watchAll(ctx(t), e.reader, req, &target)
		if err != nil {
			t.Fatal(err)
		}
		sameEvents(t, "from oldest", got, e.expected(req, rev-3))
	})
}

// TestWatchServerCloseEndsStreamsUnavailable: Close ends live and replaying
// streams, and refuses new ones, with Unavailable.
func TestWatchServerCloseEndsStreamsUnavailable(t *testing.T) {
	e := newEnv(t)
	e.putChips()
	e.ingest(e.vendorA, false, general("u1", "CN-GD", 2024, 0, 1))
	var streams []pb.WatchService_WatchClient
	for _, start := range []uint64{0, 1, e.revision() + 5} {
		st, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{StartRevision: start, ProgressNotify: start == 1})
		if err != nil {
			t.Fatal(err)
		}
		startAfter(t, st)
		streams = append(streams, st)
	}
	e.srv.Close()
	late, err := watchStub(e.reader).Watch(ctx(t), &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range append(streams, late) {
		for {
			_, err := st.Recv()
			if err == nil {
				continue
			}
			if status.Code(err) != codes.Unavailable {
				t.Errorf("stream %d ended with %v, want Unavailable", i, err)
			}
			break
		}
	}
}

// TestWatchErrRequest: bad filters are InvalidArgument naming the field;
// vendors may not watch.
func TestWatchErrRequest(t *testing.T) {
	e := newEnv(t)
	recv := func(c *client.Client, req *pb.WatchRequest) error {
		st, err := watchStub(c).Watch(ctx(t), req)
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	}
	err := recv(e.reader, &pb.WatchRequest{Provinces: []string{"Atlantis"}, Kinds: []pb.EventKind{99}})
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if status.Code(err) != codes.InvalidArgument || !slices.Equal(fields, []string{"kinds[0]", "provinces[0]"}) {
		t.Errorf("bad filter: %v, fields %v", err, fields)
	}
	if err := recv(e.vendorA, &pb.WatchRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("vendor watch: %v, want PermissionDenied", err)
	}
	if err := e.reader.Watch(ctx(t), &pb.WatchRequest{Years: []int32{2024}, Provinces: []string{"Gondor"}},
		func(*pb.WatchResponse) error { return nil }); status.Code(err) != codes.InvalidArgument {
		t.Errorf("helper with a bad filter: %v, want InvalidArgument", err)
	}
}
