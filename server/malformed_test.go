package server_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// wireCodec sends a []byte as the request exactly as given, so a test can
// put on the wire what no well-behaved client would marshal (protobuf-go
// refuses invalid UTF-8 in a string field when marshalling).
type wireCodec struct{}

func (wireCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.(*[]byte); ok {
		return *b, nil
	}
	return proto.Marshal(v.(proto.Message))
}

func (wireCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }

func (wireCodec) Name() string { return "proto" }

var _ encoding.Codec = wireCodec{}

// invalidUTF8Province is a GetProvinceComputeRequest whose province
// (field 1) is the byte 0xff.
func invalidUTF8Province() []byte {
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte{0xff, 'G', 'D'})
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	return protowire.AppendVarint(b, 2024)
}

// deepHierarchy is a methodology whose hierarchy is n levels deep.
func deepHierarchy(n int) *pb.Methodology {
	leaf := &pb.WeightNode{Code: "app.cases"}
	for range n - 1 {
		leaf = &pb.WeightNode{Code: "x", Children: []*pb.WeightNode{leaf}}
	}
	return &pb.Methodology{Hierarchy: leaf}
}

// TestMalformedProtobuf: requests that do not decode are InvalidArgument
// naming the cause, on unary calls and on streams, not Internal; and a
// hierarchy that decodes but is deeper than the documented limit is
// InvalidArgument naming the node.
func TestMalformedProtobuf(t *testing.T) {
	e := newEnv(t)
	conn := e.admin.Conn()
	check := func(t *testing.T, err error, cause string) {
		t.Helper()
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), cause) {
			t.Fatalf("got %v, want InvalidArgument naming %q", err, cause)
		}
	}
	t.Run("ErrInvalidUTF8Unary", func(t *testing.T) {
		req := invalidUTF8Province()
		err := conn.Invoke(ctx(t), "/computescale.v1.ComputeService/GetProvinceCompute", &req, &pb.GetProvinceComputeResponse{}, grpc.ForceCodec(wireCodec{}))
		check(t, err, "invalid UTF-8")
	})
	t.Run("ErrInvalidUTF8Stream", func(t *testing.T) {
		// One observation whose province (Observation field 1) is not UTF-8.
		obs := protowire.AppendTag(nil, 1, protowire.BytesType)
		obs = protowire.AppendBytes(obs, []byte{0xc3, 0x28})
		req := protowire.AppendTag(nil, 2, protowire.BytesType)
		req = protowire.AppendBytes(req, obs)
		desc := &grpc.StreamDesc{StreamName: "PutObservations", ServerStreams: true, ClientStreams: true}
		st, err := conn.NewStream(ctx(t), desc, "/computescale.v1.IngestService/PutObservations", grpc.ForceCodec(wireCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(&req); err != nil {
			t.Fatal(err)
		}
		check(t, st.RecvMsg(&pb.PutObservationsResponse{}), "invalid UTF-8")
	})
	t.Run("ErrInvalidUTF8WatchMany", func(t *testing.T) {
		// create{watch_id: 1, request{provinces: ["\xff"]}}: WatchManyRequest
		// field 1, WatchCreate fields 1 and 2, WatchRequest field 2.
		wr := protowire.AppendTag(nil, 2, protowire.BytesType)
		wr = protowire.AppendBytes(wr, []byte{0xff})
		create := protowire.AppendTag(nil, 1, protowire.VarintType)
		create = protowire.AppendVarint(create, 1)
		create = protowire.AppendTag(create, 2, protowire.BytesType)
		create = protowire.AppendBytes(create, wr)
		req := protowire.AppendTag(nil, 1, protowire.BytesType)
		req = protowire.AppendBytes(req, create)
		desc := &grpc.StreamDesc{StreamName: "WatchMany", ServerStreams: true, ClientStreams: true}
		st, err := e.reader.Conn().NewStream(ctx(t), desc, "/computescale.v1.WatchService/WatchMany", grpc.ForceCodec(wireCodec{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SendMsg(&req); err != nil {
			t.Fatal(err)
		}
		var err2 error
		for range 10 { // the stream may answer something first; it must end InvalidArgument
			if err2 = st.RecvMsg(&pb.WatchManyResponse{}); err2 != nil {
				break
			}
		}
		check(t, err2, "invalid UTF-8")
	})
	t.Run("ErrHierarchy20000Deep", func(t *testing.T) {
		// protobuf-go decodes at most 10,000 levels of nesting.
		raw, err := proto.MarshalOptions{}.Marshal(&pb.PutMethodologyRequest{Methodology: deepHierarchy(20_000)})
		if err != nil {
			t.Fatal(err)
		}
		err = conn.Invoke(ctx(t), "/computescale.v1.IndexService/PutMethodology", &raw, &pb.PutMethodologyResponse{}, grpc.ForceCodec(wireCodec{}))
		check(t, err, "recursion")
	})
	t.Run("ErrHierarchyOverLimit", func(t *testing.T) {
		_, err := pb.NewIndexServiceClient(conn).PutMethodology(ctx(t), &pb.PutMethodologyRequest{Methodology: deepHierarchy(2_000)})
		check(t, err, "hierarchy")
		// The node one level below the limit (estimator.MaxWeightDepth = 8).
		wantViolation(t, err, strings.Repeat("children[0].", 9)+"children")
	})
	// Nothing was stored, and the server still answers.
	if _, err := e.reader.ProvinceCompute(ctx(t), "CN-GD", 2024, 0); err != nil {
		t.Fatalf("after malformed requests: %v", err)
	}
}
