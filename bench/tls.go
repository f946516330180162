package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TLSServerName is the name the suite's certificate is issued for and the
// load generator asks for (SNI and verification).
const TLSServerName = "localhost"

// CertFiles are the PEM files of the certificate the TLS scenarios serve.
type CertFiles struct {
	Cert, Key string
}

// WriteCertificate generates the certificate every TLS scenario serves —
// ECDSA P-256, self-signed, for localhost and 127.0.0.1, valid for a day —
// into dir. The same files go to frontdesk and nginx, and the certificate
// is the load generator's only root, so the handshakes compare like with
// like.
func WriteCertificate(dir string) (CertFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: TLSServerName, Organization: []string{"frontdesk benchmark suite"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // its own root, trusted by the load generator
		DNSNames:              []string{TLSServerName},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return CertFiles{}, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return CertFiles{}, fmt.Errorf("certificate key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return CertFiles{}, fmt.Errorf("certificate dir: %w", err)
	}
	f := CertFiles{Cert: filepath.Join(dir, "bench-cert.pem"), Key: filepath.Join(dir, "bench-key.pem")}
	if err := os.WriteFile(f.Cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return CertFiles{}, fmt.Errorf("write certificate: %w", err)
	}
	if err := os.WriteFile(f.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return CertFiles{}, fmt.Errorf("write certificate key: %w", err)
	}
	return f, nil
}

// ClientTLSConfig is the load generator's TLS configuration: TLS 1.3
// only, the given PEM file as the only root (the system's roots when
// empty), and X25519 as the only key exchange. Go offers the hybrid
// X25519MLKEM768 first, which OpenSSL 3.0's nginx does not speak: pinning
// X25519 keeps both servers on the same, cheaper, exchange. A session
// cache makes handshakes after the first resume.
func ClientTLSConfig(caFile, serverName string, cache tls.ClientSessionCache) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		ServerName:         serverName,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		NextProtos:         []string{"http/1.1"},
		ClientSessionCache: cache,
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("tls roots: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls roots: no certificate in %s", caFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// frontdeskTLSBlock continues the generated server block with the suite's
// certificate.
func frontdeskTLSBlock(c CertFiles) string {
	return fmt.Sprintf("  tls:\n    cert: %q\n    key: %q\n", c.Cert, c.Key)
}

// tlsScenarios are frontdesk terminating TLS beside nginx with the same
// certificate: kept-alive clients (the cost of encrypting the exchange),
// and a new connection per request resuming a cached session (the cost of
// a resumed handshake, which is what a client returning after its idle
// connection closed pays).
func tlsScenarios(proxy []Profile) []Scenario {
	return []Scenario{
		{Name: "nginx-tls", Proxy: Nginx, TLS: true, Path: SmallPath, Group: "tls",
			About: "nginx terminating TLS 1.3 (ECDSA P-256, session tickets and cache) for kept-alive clients, proxying ~100 B JSON"},
		{Name: "frontdesk-tls", Proxy: Frontdesk, TLS: true, Path: SmallPath, Reference: "nginx-tls", Group: "tls", Config: proxyAPI, Profiles: proxy,
			About: "frontdesk terminating TLS 1.3 (same certificate) for kept-alive clients, plain http_proxy route"},
		{Name: "nginx-tls-handshake", Proxy: Nginx, TLS: true, NewConn: true, Path: SmallPath, Group: "tls-handshake",
			About: "nginx, TLS 1.3 with a new connection per request resuming the session (Connection: close)"},
		{Name: "frontdesk-tls-handshake", Proxy: Frontdesk, TLS: true, NewConn: true, Path: SmallPath, Reference: "nginx-tls-handshake", Group: "tls-handshake", Config: proxyAPI, Profiles: proxy,
			About: "frontdesk, TLS 1.3 with a new connection per request resuming the session (Connection: close)"},
	}
}

// tlsLoadArgs are the load generator's flags for a TLS scenario.
func tlsLoadArgs(sc Scenario, cert CertFiles) []string {
	var args []string
	if sc.TLS {
		args = append(args, "-tls", "-tls-ca", cert.Cert, "-tls-server-name", TLSServerName)
	}
	if sc.NewConn {
		args = append(args, "-new-conn")
	}
	return args
}

// handshakeNote lists the TLS handshakes per second (and the share
// resumed) of every median round that made any.
func (r *Report) handshakeNote() string {
	var parts []string
	for _, s := range r.Scenarios {
		if s.Median == nil || s.Median.Load == nil || s.Median.Load.Handshakes == 0 {
			continue
		}
		l := s.Median.Load
		parts = append(parts, fmt.Sprintf("%s %.0f/s (%.1f%% resumed)", s.Name, l.HandshakesPerS, 100*float64(l.Resumed)/float64(l.Handshakes)))
	}
	if len(parts) == 0 {
		return ""
	}
	return "TLS handshakes in the median rounds: " + strings.Join(parts, ", ") + "."
}
