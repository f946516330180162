package upstream

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// origin is a raw test origin: handle writes the answer to the i-th request
// it reads (from 0, over all connections) and returns false to end the
// connection instead of reading the next one.
type origin struct {
	addr     string
	conns    atomic.Int32
	requests atomic.Int32
}

func startOrigin(t *testing.T, handle func(i int, c net.Conn, req *fasthttp.Request) bool) *origin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOrigin(t, ln, handle)
}

// startTLSOrigin is startOrigin over TLS; its certificate is for
// 127.0.0.1 and trusted by the returned config.
func startTLSOrigin(t *testing.T, handle func(i int, c net.Conn, req *fasthttp.Request) bool) (*origin, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	return serveOrigin(t, ln, handle), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

func serveOrigin(t *testing.T, ln net.Listener, handle func(i int, c net.Conn, req *fasthttp.Request) bool) *origin {
	o := &origin{addr: ln.Addr().String()}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				go func() { <-done; c.Close() }() // unblocks a handler stuck writing
				br := bufio.NewReader(c)
				for {
					var req fasthttp.Request
					if err := req.Read(br); err != nil {
						return
					}
					if !handle(int(o.requests.Add(1))-1, c, &req) {
						return
					}
				}
			}(c)
		}
	}()
	return o
}

// waitUntil polls cond for up to 5 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// poolTo starts an origin answering with handle, over TLS when useTLS, and
// returns a pool to it.
func poolTo(t *testing.T, useTLS bool, handle func(i int, c net.Conn, req *fasthttp.Request) bool) (*Pool, *origin) {
	t.Helper()
	var o *origin
	opts := Options{}
	if useTLS {
		o, opts.TLS = startTLSOrigin(t, handle)
	} else {
		o = startOrigin(t, handle)
	}
	opts.Addr = o.addr
	return New(opts), o
}
