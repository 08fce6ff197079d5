package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// rawCodec hands the client the bytes as they came off the wire.
type rawCodec struct{}

type rawMsg struct{ b []byte }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	return mem.BufferSlice{mem.SliceBuffer(b)}, err
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawMsg).b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }

// TestWatchCodecOnTheWire: with the server's codec, which sends a watch
// revision's pre-encoded bytes, unary calls, health and reflection work as
// before, and the bytes a watch receives decode to the same response a
// normal client decodes, with the events the log holds.
func TestWatchCodecOnTheWire(t *testing.T) {
	e := newEnv(t)
	e.putChips() // a unary call through the codec
	if _, err := e.reader.Chips.GetChipSpec(ctx(t), &pb.GetChipSpecRequest{Id: xeon8480().GetId()}); err != nil {
		t.Fatalf("unary call: %v", err)
	}
	if h, err := healthpb.NewHealthClient(e.reader.Conn()).Check(ctx(t), &healthpb.HealthCheckRequest{}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", h, err)
	}
	refl, err := reflectionpb.NewServerReflectionClient(e.reader.Conn()).ServerReflectionInfo(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := refl.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	lr, err := refl.Recv()
	if err != nil || len(lr.GetListServicesResponse().GetService()) == 0 {
		t.Fatalf("reflection: %v %v", lr, err)
	}

	req := &pb.WatchRequest{}
	normal, err := watchStub(e.reader).Watch(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	after := startAfter(t, normal)
	raw, err := e.reader.Conn().NewStream(ctx(t), &pb.WatchService_ServiceDesc.Streams[0], pb.WatchService_Watch_FullMethodName, grpc.ForceCodecV2(rawCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.SendMsg(req); err != nil {
		t.Fatal(err)
	}
	if err := raw.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if startAfter(t, raw) != after {
		t.Fatal("the two watches start after different revisions")
	}
	if _, err := e.vendorA.IngestShipments(ctx(t), []*pb.ShipmentRecord{general("codec-1", "CN-GD", 2024, 2, 3)}, client.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	want := normalRecv(t, normal)
	var got rawMsg
	if err := raw.RecvMsg(&got); err != nil {
		t.Fatal(err)
	}
	var decoded pb.WatchResponse
	if err := proto.Unmarshal(got.b, &decoded); err != nil {
		t.Fatalf("watch bytes: %v", err)
	}
	if !proto.Equal(&decoded, want) {
		t.Fatalf("raw watch decoded to %v, normal watch got %v", &decoded, want)
	}
	checkStream(t, "raw", after, []*pb.WatchResponse{&decoded}, e.expected(req, after))
}

func normalRecv(t *testing.T, st pb.WatchService_WatchClient) *pb.WatchResponse {
	t.Helper()
	r, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sendOnlyStream is a WatchService_WatchServer that implements Send and the
// header calls only, as the dashboard's in-process adapter does; SendMsg on
// the nil embedded stream would panic.
type sendOnlyStream struct {
	grpc.ServerStream
	ctx  context.Context
	got  chan *pb.WatchResponse
	head chan metadata.MD
}

func (s *sendOnlyStream) Context() context.Context { return s.ctx }

func (s *sendOnlyStream) SendHeader(md metadata.MD) error { s.head <- md; return nil }

func (s *sendOnlyStream) SetHeader(metadata.MD) error { return nil }

func (s *sendOnlyStream) SetTrailer(metadata.MD) {}

func (s *sendOnlyStream) Send(r *pb.WatchResponse) error {
	select {
	case s.got <- r:
		return nil
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
}

// TestWatchSendPaths: a gRPC stream sends the hub's encoded bytes as they
// are, and a stream that is not gRPC's (the dashboard's adapter) gets the
// message through Send.
func TestWatchSendPaths(t *testing.T) {
	e := newEnv(t)
	c, cancel := context.WithCancel(ctx(t))
	defer cancel()
	remote, err := watchStub(e.reader).Watch(c, &pb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	startAfter(t, remote)
	local := &sendOnlyStream{ctx: c, got: make(chan *pb.WatchResponse, 1), head: make(chan metadata.MD, 1)}
	done := make(chan error, 1)
	go func() { done <- e.srv.Watch(&pb.WatchRequest{}, local) }()
	<-local.head
	for e.srv.WatchSubscribers() < 2 {
		time.Sleep(time.Millisecond)
	}
	if n := e.srv.OfferToWatchers(&pb.WatchResponse{Revision: 1001}, &pb.WatchResponse{Revision: 2002}); n != 2 {
		t.Fatalf("offered to %d watchers, want 2", n)
	}
	if r := normalRecv(t, remote); r.GetRevision() != 1001 {
		t.Errorf("gRPC stream got revision %d, want the encoded bytes' 1001", r.GetRevision())
	}
	select {
	case r := <-local.got:
		if r.GetRevision() != 2002 {
			t.Errorf("in-process stream got revision %d, want the message's 2002", r.GetRevision())
		}
	case err := <-done:
		t.Fatalf("in-process watch ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("in-process stream got nothing")
	}
	cancel()
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Errorf("in-process watch ended with %v, want Canceled", err)
	}
}
