package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/credentials/tls/certprovider"
	"google.golang.org/grpc/credentials/tls/certprovider/pemfile"
)

// reloadingTLS serves the key pair (and client CA) that grpc-go's pemfile
// provider re-reads every interval, so that a renewed certificate is used
// by new connections without a restart (established ones keep theirs). The
// files are first loaded by serverTLS, so that a bad file stops the server
// at start with a clear message; later, a file that does not parse is
// logged by the provider and the previous key pair stays. pemfile requires
// the certificate and key in one directory (so that a renewal can replace
// both at once); the returned stop ends its polling.
func reloadingTLS(certFile, keyFile, clientCA string, every time.Duration) (*tls.Config, func(), error) {
	base, err := serverTLS(certFile, keyFile, clientCA)
	if err != nil {
		return nil, nil, err
	}
	prov, err := pemfile.NewProvider(pemfile.Options{CertFile: certFile, KeyFile: keyFile, RootFile: clientCA, RefreshDuration: every})
	if err != nil {
		return nil, nil, fmt.Errorf("TLS reload: %w", err)
	}
	cfg := &tls.Config{MinVersion: base.MinVersion, GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		return configFor(hello.Context(), base, prov)
	}}
	return cfg, prov.Close, nil
}

// configFor is base with the provider's current key material.
func configFor(ctx context.Context, base *tls.Config, prov certprovider.Provider) (*tls.Config, error) {
	km, err := prov.KeyMaterial(ctx)
	if err != nil {
		return nil, fmt.Errorf("TLS key material: %w", err)
	}
	cfg := base.Clone()
	if len(km.Certs) > 0 {
		cfg.Certificates = km.Certs
	}
	if base.ClientCAs != nil && km.Roots != nil {
		cfg.ClientCAs = km.Roots
	}
	return cfg, nil
}

// serverTLS loads a certificate and, with a client CA, requires and
// verifies client certificates (mTLS). TLS 1.2 is the floor.
func serverTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pool, err := loadPool(clientCA)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// clientTLS builds the client side: a CA to trust (else the system roots), an
// optional client certificate for mTLS, and the name to verify.
func clientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pool, err := loadPool(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client key pair: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
