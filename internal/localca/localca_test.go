package localca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"
)

func TestEnsureCreatesTheCAOnceAndKeepsIt(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, err := Ensure(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Created {
		t.Error("first Ensure did not report creating the CA")
	}
	ca1, _ := os.ReadFile(a.CAFile)
	st, err := os.Stat(dir + "/ca-key.pem")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("ca-key.pem mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	b, err := Ensure(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(b.CAFile)
	if b.Created || !bytes.Equal(ca1, ca2) {
		t.Error("second Ensure replaced the CA")
	}
	if !bytes.Equal(a.Server.Leaf.Raw, b.Server.Leaf.Raw) {
		t.Error("a valid server certificate was replaced")
	}
	bundle, _ := os.ReadFile(b.BundleFile)
	if !bytes.HasSuffix(bytes.TrimSpace(bundle), bytes.TrimSpace(ca1)) {
		t.Error("ca-bundle.pem does not end with the CA")
	}
}

func TestServerCertificateIsRenewedBeforeItEnds(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	a, err := Ensure(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(serverValidity - renewBefore + time.Hour)
	b, err := Ensure(dir, later)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Server.Leaf.Raw, b.Server.Leaf.Raw) {
		t.Error("server certificate near its end was kept")
	}
	if !b.Server.Leaf.NotAfter.After(later.Add(renewBefore)) {
		t.Errorf("renewed certificate ends %v", b.Server.Leaf.NotAfter)
	}
}

func TestClientsTrustingTheCAFileReachTheLocalNames(t *testing.T) {
	a, err := Ensure(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{a.Server}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	pemBytes, _ := os.ReadFile(a.CAFile)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("CA file holds no certificate")
	}
	for _, name := range []string{"localhost", "abc.localhost", "k3x9z0pq7d.execute-api.localhost", "chat.execute-api.localhost", "127.0.0.1", "::1"} {
		t.Run(name, func(t *testing.T) {
			c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: name})
			if err != nil {
				t.Fatalf("handshake as %s: %v", name, err)
			}
			c.Close()
		})
	}
	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "example.com"}); err == nil {
		t.Error("certificate accepted for example.com")
	}
}
