package server

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	gproto "google.golang.org/protobuf/proto"
)

// malformedField is the field number under which serverCodec leaves a
// decoding error in the emptied message: the largest legal number, used by
// no computescale message. A client that sends this field itself only
// earns an InvalidArgument quoting its own bytes.
const malformedField protowire.Number = protowire.MaxValidNumber

// malformedCause returns the decoding error serverCodec recorded in m, if any.
// Well-formed requests carry no unknown fields, so the usual cost is one
// length check.
func malformedCause(m any) (string, bool) {
	pm, ok := m.(gproto.Message)
	if !ok {
		return "", false
	}
	raw := pm.ProtoReflect().GetUnknown()
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return "", false
		}
		raw = raw[n:]
		if num == malformedField && typ == protowire.BytesType {
			v, n := protowire.ConsumeString(raw)
			return v, n >= 0
		}
		n = protowire.ConsumeFieldValue(num, typ, raw)
		if n < 0 {
			return "", false
		}
		raw = raw[n:]
	}
	return "", false
}

func malformedError(cause string) error {
	return status.Errorf(codes.InvalidArgument, "malformed request message: %s", cause)
}

// rejectMalformedUnary answers a request the codec could not decode with
// InvalidArgument naming the cause, before any handler sees the emptied
// message.
func rejectMalformedUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if cause, bad := malformedCause(req); bad {
		return nil, malformedError(cause)
	}
	return handler(ctx, req)
}

// rejectMalformedStream does the same for every message a stream receives:
// the stream ends with InvalidArgument (its batch id is unknown, so no
// per-batch answer is possible).
func rejectMalformedStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, malformedCheckingStream{ss})
}

type malformedCheckingStream struct{ grpc.ServerStream }

func (s malformedCheckingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if cause, bad := malformedCause(m); bad {
		return malformedError(cause)
	}
	return nil
}
