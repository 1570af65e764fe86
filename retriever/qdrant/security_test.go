package qdrant_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cliprag/cliprag/retriever"
	"github.com/cliprag/cliprag/retriever/qdrant"
	"github.com/cliprag/cliprag/retriever/qdrant/qdranttest"
)

// TestAPIKey runs a private Qdrant that requires an API key.
func TestAPIKey(t *testing.T) {
	const key = "test-key-5b1c"
	srv := qdranttest.StartServer(t, "QDRANT__SERVICE__API_KEY="+key)
	tests := []struct {
		name    string
		key     string
		wantErr string
	}{
		{"right key", key, ""},
		{"wrong key", "nope", "Unauthenticated"},
		{"no key", "", "Unauthenticated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := srv.Config(t)
			cfg.APIKey = tc.key
			start := time.Now()
			s, err := qdrant.Open(t.Context(), cfg)
			if err == nil {
				defer s.Close()
				err = s.Ensure(t.Context(), retriever.Collection{Model: "m", Dim: 4})
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("an auth failure took %v: it must not be retried", d)
			}
		})
	}
}

// TestTLS runs a private Qdrant with TLS and a self-signed certificate,
// trusted through Config.CAFile.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := selfSigned(t, dir)
	srv := qdranttest.StartServer(t,
		"QDRANT__SERVICE__ENABLE_TLS=true",
		"QDRANT__TLS__CERT="+certFile,
		"QDRANT__TLS__KEY="+keyFile,
	)
	t.Run("CAFile", func(t *testing.T) {
		cfg := srv.Config(t)
		cfg.CAFile = certFile
		s, err := qdrant.Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if !strings.HasPrefix(s.String(), "qdrants://") {
			t.Errorf("String() = %q, want qdrants://", s)
		}
		if err := s.Ensure(t.Context(), retriever.Collection{Model: "m", Dim: 4}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		cfg := srv.Config(t)
		cfg.UseTLS = true
		cfg.ConnectTimeout = time.Second
		_, err := qdrant.Open(t.Context(), cfg)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("err = %v, want a certificate error", err)
		}
	})
	t.Run("plaintext to TLS server", func(t *testing.T) {
		cfg := srv.Config(t)
		cfg.ConnectTimeout = time.Second
		_, err := qdrant.Open(t.Context(), cfg)
		if err == nil {
			t.Fatal("plaintext Open of a TLS server succeeded")
		}
	})
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "cliprag test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
