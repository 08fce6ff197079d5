package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// writeCert writes a certificate for 127.0.0.1 signed by ca (and its key) to
// certFile and keyFile, each replaced by a rename, as a renewal tool does.
func writeCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64, certFile, keyFile string) {
	t.Helper()
	writeLeaf(t, ca, caKey, serial, x509.ExtKeyUsageServerAuth, certFile, keyFile)
}

// writeLeaf is writeCert for any key usage (a client certificate for mTLS).
func writeLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64, usage x509.ExtKeyUsage, certFile, keyFile string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "computescale"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "EC PRIVATE KEY", Bytes: keyDER}} {
		if err := os.WriteFile(file+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
}

// testCA is a CA for the TLS tests, with its certificate also in caFile.
func testCA(t *testing.T, caFile string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	return ca, caKey
}

// TestMutualTLSReloading: with --client-ca, the reloading configuration still
// requires a client certificate of that CA: without one the call fails, with
// one it passes.
func TestMutualTLSReloading(t *testing.T) {
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	ca, caKey := testCA(t, caFile)
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeCert(t, ca, caKey, 2001, certFile, keyFile)
	clientCert, clientKey := filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	writeLeaf(t, ca, caKey, 2002, x509.ExtKeyUsageClientAuth, clientCert, clientKey)
	cfg := serveConfig{db: filepath.Join(dir, "m.db"), listen: "127.0.0.1:0", logFormat: "text", logLevel: "error",
		shutdownGrace: time.Second, maxBatch: 1000, maxRecv: 32 << 20, tlsCert: certFile, tlsKey: keyFile, clientCA: caFile, tlsReload: time.Minute}
	m, err := startServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	check := func(withCert bool) error {
		tc, err := clientTLS(caFile, "", "", "")
		if withCert {
			tc, err = clientTLS(caFile, clientCert, clientKey, "")
		}
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(m.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(false); err == nil {
		t.Error("a client without a certificate got through")
	}
	if err := check(true); err != nil {
		t.Errorf("a client with a certificate of the CA: %v", err)
	}
}

// TestTLSReload: a server started with --tls-cert/--tls-key serves a renewed
// certificate to new connections within --tls-reload-interval, without a
// restart; a connection made before keeps working.
func TestTLSReload(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := testCA(t, filepath.Join(dir, "ca.pem"))
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeCert(t, ca, caKey, 1001, certFile, keyFile)
	cfg := serveConfig{db: filepath.Join(dir, "t.db"), listen: "127.0.0.1:0", logFormat: "text", logLevel: "error",
		shutdownGrace: time.Second, maxBatch: 1000, maxRecv: 32 << 20, tlsCert: certFile, tlsKey: keyFile, tlsReload: 50 * time.Millisecond}
	m, err := startServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	// serial dials afresh and returns the serial number the server showed.
	serial := func() (int64, *grpc.ClientConn) {
		var got int64
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, VerifyConnection: func(cs tls.ConnectionState) error {
			got = cs.PeerCertificates[0].SerialNumber.Int64()
			return nil
		}}
		conn, err := grpc.NewClient(m.Addr(), grpc.WithTransportCredentials(credentials.NewTLS(tc)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		return got, conn
	}
	first, old := serial()
	defer old.Close()
	if first != 1001 {
		t.Fatalf("serial %d, want 1001", first)
	}
	writeCert(t, ca, caKey, 1002, certFile, keyFile)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, conn := serial()
		conn.Close()
		if got == 1002 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving serial %d 10 s after the renewal", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(old).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("the connection made before the renewal: %v", err)
	}
}
