package server

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	gproto "google.golang.org/protobuf/proto"

	pb "github.com/computescale/computescale/proto/computescale/v1"
)

// encodedResponse is a live WatchResponse marshalled once by the hub and
// shared by every watcher with the same filter: at 1,000 subscribers the
// marshal would otherwise run 1,000 times per revision for identical bytes.
// It embeds the message so that it is still a proto.Message: any interceptor
// that looks at payloads sees the real content, and a server built without
// serverCodec would simply marshal it again.
type encodedResponse struct {
	*pb.WatchResponse
	data    []byte // immutable once published: many streams send it concurrently
	encoded bool
	// bufs is data as grpc takes it, built once: grpc only reads a
	// BufferSlice (its readers reslice their own copy), and a SliceBuffer's
	// Ref and Free do nothing, so every stream can be handed the same one.
	bufs mem.BufferSlice
}

// encodeResponse marshals r once. Should that fail, every stream's send
// marshals it again and fails there, which ends the stream as before.
func encodeResponse(r *pb.WatchResponse) *encodedResponse {
	b, err := gproto.Marshal(r)
	return &encodedResponse{WatchResponse: r, data: b, encoded: err == nil, bufs: mem.BufferSlice{mem.SliceBuffer(b)}}
}

// wireMessage is a message sent as bytes assembled from already encoded
// parts: a coalesced run of shared responses, or a shared response framed
// for one watch of a WatchMany stream. Protobuf's wire format makes both a
// concatenation: repeated fields of concatenated messages append (the
// events stay in order), a scalar takes its last value (the run's highest
// revision), and a submessage is a tag and a length before its bytes. No
// response is copied or marshalled again. It embeds the message it stands
// for, so that it is still a proto.Message with the real content.
type wireMessage struct {
	gproto.Message
	bufs mem.BufferSlice // nil: marshal the message
}

// wireParts is how msg (a *pb.WatchResponse, *encodedResponse or
// *wireMessage) goes on the wire: its encoded parts and their total size, or
// ok false when it has to be marshalled.
func wireParts(msg any) (bufs mem.BufferSlice, size int, ok bool) {
	switch m := msg.(type) {
	case *encodedResponse:
		if m.encoded {
			return m.bufs, len(m.data), true
		}
	case *wireMessage:
		if m.bufs != nil {
			return m.bufs, m.bufs.Len(), true
		}
	}
	return nil, 0, false
}

// serverCodec is the proto codec, except that an encodedResponse goes out as
// the bytes it already holds. It keeps the name "proto", so nothing changes
// for clients, and every other message (all other RPCs, health, reflection)
// goes through the registered proto codec unchanged.
type serverCodec struct{ proto encoding.CodecV2 }

func newServerCodec() serverCodec { return serverCodec{proto: encoding.GetCodecV2(proto.Name)} }

// codecOption installs serverCodec on a grpc.Server.
func (s *Server) codecOption() grpc.ServerOption { return grpc.ForceServerCodecV2(newServerCodec()) }

func (c serverCodec) Marshal(v any) (mem.BufferSlice, error) {
	if e, ok := v.(*encodedResponse); ok && e.encoded {
		// A SliceBuffer is not pooled: grpc's Free after the write is a
		// no-op, so the shared bytes are never recycled under another
		// stream.
		return e.bufs, nil
	}
	if w, ok := v.(*wireMessage); ok {
		if w.bufs != nil {
			return w.bufs, nil
		}
		return c.proto.Marshal(w.Message)
	}
	return c.proto.Marshal(v)
}

// Unmarshal decodes a request. grpc turns any error from here into
// Internal ("failed to unmarshal"), and for unary calls it does so before the
// interceptors run, so a malformed request (a string that is not UTF-8, a
// message nested past protobuf's recursion limit) would look like a server
// fault. Instead the codec empties the message and leaves the cause in it
// as an unknown field (malformedField); the interceptors (malformed.go) find
// it and answer InvalidArgument, and the call is counted and logged as such.
func (c serverCodec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.proto.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	m, ok := v.(gproto.Message)
	if !ok {
		return err
	}
	gproto.Reset(m)
	mark := protowire.AppendTag(nil, malformedField, protowire.BytesType)
	mark = protowire.AppendString(mark, err.Error())
	m.ProtoReflect().SetUnknown(mark)
	return nil
}

func (c serverCodec) Name() string { return c.proto.Name() }
