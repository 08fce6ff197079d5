package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/computescale/computescale/client"
)

func TestHealthFollowsLifecycle(t *testing.T) {
	e := newEnv(t)
	h := healthpb.NewHealthClient(e.reader.Conn())
	check := func(svc string) healthpb.HealthCheckResponse_ServingStatus {
		resp, err := h.Check(ctx(t), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil {
			t.Fatalf("health %q: %v", svc, err)
		}
		return resp.GetStatus()
	}
	if check("") != healthpb.HealthCheckResponse_SERVING || check("computescale.v1.IngestService") != healthpb.HealthCheckResponse_SERVING {
		t.Fatal("not SERVING after start")
	}
	e.srv.SetServing(false) // what Close does first when draining
	if check("") != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Error("still SERVING while draining")
	}
}

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, generated per test.
type testPKI struct {
	pool           *x509.CertPool
	server, client tls.Certificate
	strangerCert   tls.Certificate // signed by another CA
	strangerCAPool *x509.CertPool
}

func newPKI(t *testing.T) testPKI {
	t.Helper()
	caCert, caKey := selfSigned(t, "computescale test CA")
	otherCA, otherKey := selfSigned(t, "someone else's CA")
	p := testPKI{pool: x509.NewCertPool(), strangerCAPool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	p.strangerCAPool.AddCert(otherCA)
	p.server = leaf(t, caCert, caKey, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.client = leaf(t, caCert, caKey, "vendor-a", x509.ExtKeyUsageClientAuth)
	p.strangerCert = leaf(t, otherCA, otherKey, "intruder", x509.ExtKeyUsageClientAuth)
	return p
}

func selfSigned(t *testing.T, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert, key
}

func leaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func tlsEnv(t *testing.T, p testPKI, mutual bool) *env {
	cfg := &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if mutual {
		cfg.ClientCAs, cfg.ClientAuth = p.pool, tls.RequireAndVerifyClientCert
	}
	return newEnvWith(t, func(e *env) { e.serverOpts = []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))} })
}

// tlsClient dials with cfg; a handshake that fails makes wait-for-ready
// calls wait out their deadline, so failing cases use a short one.
func tlsClient(t *testing.T, e *env, cfg *tls.Config, timeout time.Duration) *client.Client {
	c, err := client.New(e.addr, client.WithToken(readerToken), client.WithTLS(cfg), client.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	e := tlsEnv(t, p, false)
	t.Run("OK", func(t *testing.T) {
		c := tlsClient(t, e, &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}, 10*time.Second)
		if _, err := c.NationalCompute(ctx(t), 2024, 0); err != nil {
			t.Fatalf("over TLS: %v", err)
		}
	})
	t.Run("ErrUntrustedServer", func(t *testing.T) {
		c := tlsClient(t, e, &tls.Config{RootCAs: p.strangerCAPool, MinVersion: tls.VersionTLS12}, time.Second)
		if _, err := c.NationalCompute(ctx(t), 2024, 0); status.Code(err) != codes.Unavailable && status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("untrusted server accepted: %v", err)
		}
	})
	t.Run("ErrPlaintextClient", func(t *testing.T) {
		c, _ := client.New(e.addr, client.WithToken(readerToken), client.WithTimeout(time.Second))
		defer c.Close()
		if _, err := c.NationalCompute(ctx(t), 2024, 0); err == nil {
			t.Fatal("plaintext client talked to a TLS server")
		}
	})
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	e := tlsEnv(t, p, true)
	for _, c := range []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"OK", []tls.Certificate{p.client}, true},
		{"ErrNoClientCert", nil, false},
		{"ErrClientCertOfOtherCA", []tls.Certificate{p.strangerCert}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			timeout := time.Second
			if c.ok {
				timeout = 10 * time.Second
			}
			cl := tlsClient(t, e, &tls.Config{RootCAs: p.pool, Certificates: c.certs, MinVersion: tls.VersionTLS12}, timeout)
			_, err := cl.NationalCompute(ctx(t), 2024, 0)
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
}
