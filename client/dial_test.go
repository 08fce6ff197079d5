package client_test

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
)

// TestDialTimeoutReportsConnectionFailureAtOnce: with WithDialTimeout, New
// connects first and returns the transport's reason (Unavailable: refused,
// TLS handshake failed) as soon as the attempt fails. The dial timeout is a
// minute, so a client that waited it out would fail with a timeout message
// instead of the reason.
func TestDialTimeoutReportsConnectionFailureAtOnce(t *testing.T) {
	// A plaintext gRPC server on 127.0.0.1, dialled with TLS.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	go g.Serve(lis)
	defer g.Stop()
	_, err = client.New(lis.Addr().String(), client.WithTLS(&tls.Config{ServerName: "localhost"}), client.WithDialTimeout(time.Minute))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "handshake") {
		t.Errorf("TLS to a plaintext server: %v, want Unavailable naming the handshake", err)
	}

	// A port nobody listens on.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	_, err = client.New(addr, client.WithDialTimeout(time.Minute))
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("a closed port: %v, want Unavailable, connection refused", err)
	}

	// The same server in plaintext: New connects and the client works.
	c, err := client.New(lis.Addr().String(), client.WithDialTimeout(time.Minute))
	if err != nil {
		t.Fatalf("a listening server: %v", err)
	}
	c.Close()
	// Without a dial timeout New stays lazy: no error before the first call.
	c, err = client.New(addr)
	if err != nil {
		t.Errorf("lazy New on a closed port: %v", err)
	}
	c.Close()
}
