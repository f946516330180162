package server

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
)

// pipeConn is a client connection held in memory: it sends the same
// request n times, pipelined, then EOF, and throws the answers away. It
// lets a benchmark measure the whole server path (fasthttp's parsing, the
// listener's connection wrapper, the gateway) without the network.
type pipeConn struct {
	req     []byte
	left    int // requests still to send
	off     int // offset in req of the next byte
	written int
	closed  chan struct{}
	once    sync.Once
}

func (c *pipeConn) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && c.left > 0 {
		m := copy(p[n:], c.req[c.off:])
		n += m
		c.off += m
		if c.off == len(c.req) {
			c.off = 0
			c.left--
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (c *pipeConn) Write(p []byte) (int, error) { c.written += len(p); return len(p), nil }
func (c *pipeConn) Close() error                { c.once.Do(func() { close(c.closed) }); return nil }
func (c *pipeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080} }
func (c *pipeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *pipeConn) SetDeadline(time.Time) error { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error {
	return nil
}
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// pipeListener hands out the connections sent on it.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error   { return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080} }

// benchServer serves src through the real listener path of a Server.
func benchServer(b *testing.B, src string) *pipeListener {
	b.Helper()
	cfg, _, err := config.Parse("bench.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	s.UseListener(ln)
	go s.Serve() //nolint:errcheck // ends at cleanup
	b.Cleanup(func() {
		close(ln.done)
		s.http.Shutdown() //nolint:errcheck // best effort
	})
	return ln
}

// BenchmarkServeSmallPOST is one keep-alive POST with a 64-byte JSON body
// to a mock route, from the request's first byte to its answer.
func BenchmarkServeSmallPOST(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 64)
	benchServe(b, append([]byte("POST /things HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"), body...))
}

// BenchmarkServeGET is the same without a body.
func BenchmarkServeGET(b *testing.B) {
	benchServe(b, []byte("GET /things HTTP/1.1\r\nHost: api.example.com\r\n\r\n"))
}

func benchServe(b *testing.B, req []byte) {
	ln := benchServer(b, "apis:\n  a:\n    integrations: {m: {type: mock, body: ok}}\n    routes: {\"ANY /things\": {integration: m}}\n")
	// One warm-up connection fills the pools.
	for _, n := range []int{1000, b.N} {
		c := &pipeConn{req: req, left: n, closed: make(chan struct{})}
		if n == b.N {
			b.ReportAllocs()
			b.ResetTimer()
		}
		ln.conns <- c
		<-c.closed
		if c.written < n*len("HTTP/1.1 200 OK\r\n") {
			b.Fatalf("%d requests answered with %d bytes", n, c.written)
		}
	}
}
