package server

import (
	"log/slog"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/encoding"
	gprotocodec "google.golang.org/grpc/encoding/proto"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/store"
)

func testResponse() *pb.WatchResponse {
	return &pb.WatchResponse{Revision: 7, Events: []*pb.Event{
		{Revision: 7, Kind: pb.EventKind_EVENT_KIND_COMPUTE, CommitTimeUnixNanos: 1234, Change: &pb.Event_Compute{Compute: &pb.ComputeCellChange{
			Province: &pb.Province{Code: "440000"}, Series: pb.ComputeSeries_COMPUTE_SERIES_AI, Period: &pb.Period{Year: 2024, Quarter: 2}, Mflops: 42, Units: 3, Records: 1}}},
		{Revision: 7, Kind: pb.EventKind_EVENT_KIND_METHODOLOGY, CommitTimeUnixNanos: 1234, Change: &pb.Event_MethodologyVersion{MethodologyVersion: 3}},
	}}
}

func TestServerCodec(t *testing.T) {
	c := newServerCodec()
	if c.Name() != gprotocodec.Name {
		t.Fatalf("name %q, want %q", c.Name(), gprotocodec.Name)
	}
	std := encoding.GetCodecV2(gprotocodec.Name)

	t.Run("OK/EncodedSentAsIs", func(t *testing.T) {
		r := testResponse()
		e := encodeResponse(r)
		data, err := c.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got := data.Materialize()
		want, _ := proto.Marshal(r)
		if string(got) != string(want) {
			t.Fatalf("bytes differ from proto.Marshal")
		}
		data.Free() // a no-op for the shared bytes, as grpc does after a write
		var back pb.WatchResponse
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(e.data)}, &back); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&back, r) {
			t.Fatalf("decoded %v, want %v", &back, r)
		}
	})

	t.Run("OK/OtherMessagesAsTheProtoCodec", func(t *testing.T) {
		for _, m := range []proto.Message{&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING},
			&pb.WatchRequest{Kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_COMPUTE}, StartRevision: 9}, testResponse()} {
			got, err := c.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			want, err := std.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Materialize()) != string(want.Materialize()) {
				t.Errorf("%T: bytes differ from the proto codec", m)
			}
			back := m.ProtoReflect().New().Interface()
			if err := c.Unmarshal(got, back); err != nil || !proto.Equal(back, m) {
				t.Errorf("%T: decoded %v (%v), want %v", m, back, err, m)
			}
		}
	})

	t.Run("Err/UnencodableFailsLikeTheProtoCodec", func(t *testing.T) {
		r := testResponse()
		r.Events[0].GetCompute().Province.Code = "\xff" // invalid UTF-8 in a proto3 string
		e := encodeResponse(r)
		if e.encoded {
			t.Fatal("invalid UTF-8 was encoded")
		}
		if _, err := c.Marshal(e); err == nil {
			t.Fatal("marshal of an unencodable response succeeded (empty bytes would be sent)")
		}
	})
}

// TestHubSharesEncodedResponses: watchers with one filter receive the very
// same encoded response (one marshal per filter and revision), watchers with
// another filter their own, and the bytes decode to what the filter passes.
func TestHubSharesEncodedResponses(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := newHub(db, slog.New(slog.DiscardHandler), 4, 0)
	defer h.close()
	all := []*watcher{h.newWatcher(filter{}, 0), h.newWatcher(filter{}, 0)}
	meth := h.newWatcher(filter{kinds: []pb.EventKind{pb.EventKind_EVENT_KIND_METHODOLOGY}}, 0)
	for _, w := range append(all, meth) {
		if joined, _ := h.join(w, ^uint64(0)); !joined {
			t.Fatal("not joined")
		}
	}
	r := testResponse()
	h.offer(r.Revision, r.Events)
	a, b, m := pop(t, all[0]), pop(t, all[1]), pop(t, meth)
	if a != b {
		t.Error("watchers with the same filter got different responses")
	}
	if a == m {
		t.Error("watchers with different filters got the same response")
	}
	for _, tc := range []struct {
		e    *encodedResponse
		want int
	}{{a, 2}, {m, 1}} {
		var back pb.WatchResponse
		if err := proto.Unmarshal(tc.e.data, &back); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(&back, tc.e.WatchResponse) || len(back.Events) != tc.want || back.Revision != 7 {
			t.Errorf("decoded %v, want %v with %d events", &back, tc.e.WatchResponse, tc.want)
		}
	}
}

func pop(t *testing.T, w *watcher) *encodedResponse {
	t.Helper()
	run, st, _ := w.next(nil)
	if len(run) != 1 || st != watchLive {
		t.Fatalf("watcher: %d responses taken (state %d), want 1", len(run), st)
	}
	return run[0]
}

// OfferToWatchers queues one response for every live watcher, as the hub
// would, except that its encoded bytes are those of wire while its message
// is msg: a gRPC client that receives wire got the hub's bytes as they are,
// an in-process stream that receives msg got the message.
func (s *Server) OfferToWatchers(wire, msg *pb.WatchResponse) int {
	e := encodeResponse(wire)
	e.WatchResponse = msg
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	for w := range s.hub.subs {
		w.offer([]*encodedResponse{e}, s.hub.bufSize)
	}
	return len(s.hub.subs)
}
