package server

import (
	"testing"

	"google.golang.org/grpc/encoding"
	gprotocodec "google.golang.org/grpc/encoding/proto"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
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
