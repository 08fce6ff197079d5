package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/computescale/computescale/store"
)

const chainReaderToken = "chain-reader-token-0123456789"

// chainServer is a Server on a fresh store whose logs go to w.
func chainServer(tb testing.TB, w io.Writer, limits Limits) *Server {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "chain.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tokens := NewTokens()
	tokens.Add(chainReaderToken, Identity{Name: "reader-1", Role: RoleReader})
	s, err := New(Config{Store: db, Tokens: tokens, Logger: slog.New(slog.NewJSONHandler(w, nil)), Limits: limits})
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(); db.Close() })
	return s
}

type methodStream struct {
	grpc.ServerTransportStream
	method string
}

func (m methodStream) Method() string { return m.method }

// callCtx is what grpc-go gives a unary handler: the method, the incoming
// metadata and the peer.
func callCtx(method, token string) context.Context {
	ctx := grpc.NewContextWithServerTransportStream(context.Background(), methodStream{method: method})
	if token != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
	}
	return peer.NewContext(ctx, &peer.Peer{Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 50123}})
}

// chained runs the server's unary interceptors around h, as grpc-go does.
func chained(s *Server, method string, h grpc.UnaryHandler) grpc.UnaryHandler {
	ints := s.unaryInterceptors()
	info := &grpc.UnaryServerInfo{Server: s, FullMethod: method}
	for i := len(ints) - 1; i >= 0; i-- {
		next, ic := h, ints[i]
		h = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
	}
	return h
}
