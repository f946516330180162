package server

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA issues certificates for names, written as PEM files in dir.
type testCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "frontdesk test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{key: key, cert: cert, pool: pool}
}

func (ca *testCA) issue(t *testing.T, dir, name string, serial int64) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

func TestTLSServesACertificatePerSNIName(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	aCrt, aKey := ca.issue(t, dir, "a.test", 2)
	bCrt, bKey := ca.issue(t, dir, "b.test", 3)
	path := filepath.Join(dir, "frontdesk.yaml")
	src := fmt.Sprintf(`
server:
  tls:
    certs: [{cert: %q, key: %q}, {cert: %q, key: %q}]
apis:
  a:
    integrations: {m: {type: mock, body: secure}}
    routes: {"GET /": {integration: m}}
`, aCrt, aKey, bCrt, bKey)
	writeFile(t, path, src)
	s, base, _ := startFromFile(t, path)
	addr := strings.TrimPrefix(base, "http://")

	get := func(name string) (string, *x509.Certificate) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: name}}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.TLS.PeerCertificates[0]
	}
	for _, name := range []string{"a.test", "b.test"} {
		body, cert := get(name)
		if body != "secure" || cert.Subject.CommonName != name {
			t.Errorf("%s: body %q, certificate for %q", name, body, cert.Subject.CommonName)
		}
	}

	// TLS 1.1 is refused.
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, ServerName: "a.test", MaxVersion: tls.VersionTLS11})
	if err == nil {
		conn.Close()
		t.Error("TLS 1.1 handshake succeeded")
	}

	// Plaintext to the TLS port fails cleanly: the connection ends, no hang.
	raw, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(raw, "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
	if line, err := bufio.NewReader(raw).ReadString('\n'); err == nil && strings.Contains(line, "200") {
		t.Errorf("plaintext request answered: %q", line)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("plaintext request hung")
	}
	raw.Close()

	// A reload picks up a renewed certificate.
	ca.issue(t, dir, "a.test", 99) // rewrites a.test.crt and a.test.key
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, cert := get("a.test"); cert.SerialNumber.Int64() != 99 {
		t.Errorf("after reload the certificate has serial %d, want the renewed 99", cert.SerialNumber.Int64())
	}
}

// A request that came over TLS reaches the upstream with
// X-Forwarded-Proto: https (and its Host as X-Forwarded-Host).
func TestTLSRequestIsForwardedWithProtoHTTPS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	crt, key := ca.issue(t, dir, "a.test", 2)
	up := startUpstream(t)
	path := filepath.Join(dir, "frontdesk.yaml")
	writeFile(t, path, fmt.Sprintf(`
server:
  tls:
    certs: [{cert: %q, key: %q}]
apis:
  a:
    integrations: {up: {type: http_proxy, url: "http://%s"}}
    routes: {"$default": {integration: up}}
`, crt, key, up.addr))
	_, base, _ := startFromFile(t, path)
	addr := strings.TrimPrefix(base, "http://")
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool, ServerName: "a.test"}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	resp, err := c.Get("https://" + addr + "/over-tls")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_, h := up.seen()
	if got := h.Get("X-Forwarded-Proto"); got != "https" {
		t.Errorf("X-Forwarded-Proto = %q over TLS, want https", got)
	}
	if got := h.Get("X-Forwarded-Host"); got != addr {
		t.Errorf("X-Forwarded-Host = %q, want %q", got, addr)
	}
}
