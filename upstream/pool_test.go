package upstream

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawServer answers the i-th request the server reads (from 0, over all
// connections) with replies[i], the last one repeating, written verbatim;
// see serveRaw.
func rawServer(t *testing.T, replies ...string) (string, *atomic.Int32) {
	return serveRaw(t, func(i int) string { return replies[min(i, len(replies)-1)] })
}

// serveRaw answers the i-th request the server reads (from 0, over all
// connections) with reply(i), written verbatim; the replies "CLOSE" and
// "RESET" end the connection instead, with a FIN or an RST. It returns the
// address and the count of connections.
func serveRaw(t *testing.T, reply func(i int) string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	var next atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					var req fasthttp.Request
					if err := req.Read(br); err != nil {
						return
					}
					switch r := reply(int(next.Add(1)) - 1); r {
					case "CLOSE":
						return
					case "RESET":
						c.(*net.TCPConn).SetLinger(0) // close with RST
						return
					default:
						if _, err := io.WriteString(c, r); err != nil {
							return
						}
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), &conns
}

func get(t *testing.T, p *Pool, method string) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod(method)
	req.SetRequestURI("/x")
	req.Header.SetHost(p.Addr())
	resp := &fasthttp.Response{}
	err := p.Do(req, resp, time.Now(), time.Now().Add(2*time.Second))
	return resp, err
}

func body(t *testing.T, resp *fasthttp.Response) string {
	t.Helper()
	var b strings.Builder
	if err := resp.BodyWriteTo(&b); err != nil {
		t.Fatal(err)
	}
	resp.CloseBodyStream()
	return b.String()
}

func TestSizedChunkedAndLargeBodiesAndKeepAlive(t *testing.T) {
	large := strings.Repeat("L", 300<<10)
	addr, conns := rawServer(t,
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nsmall",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 307200\r\n\r\n"+large,
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast",
	)
	p := New(Options{Addr: addr})
	for _, want := range []string{"small", "abcde", large, "", "last"} {
		resp, err := get(t, p, "GET")
		if err != nil {
			t.Fatal(err)
		}
		if got := body(t, resp); got != want {
			t.Fatalf("body %d bytes, want %d", len(got), len(want))
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("five keep-alive exchanges used %d connections", n)
	}
}

func TestIdempotentRequestIsRetriedWhenAReusedConnectionWasClosed(t *testing.T) {
	addr, conns := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "CLOSE", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	p := New(Options{Addr: addr})
	if _, err := get(t, p, "GET"); err != nil {
		t.Fatal(err)
	}
	resp, err := get(t, p, "GET")
	if err != nil || body(t, resp) != "ok" {
		t.Fatalf("retry on a fresh connection failed: %v", err)
	}
	if conns.Load() != 2 {
		t.Errorf("want 2 connections, got %d", conns.Load())
	}
}

func TestNonIdempotentRequestIsNotRetried(t *testing.T) {
	addr, _ := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "CLOSE", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	p := New(Options{Addr: addr})
	if _, err := get(t, p, "POST"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, p, "POST"); err == nil {
		t.Fatal("a POST that may have reached the upstream must not be sent twice")
	}
}

func TestTimeoutAndRefusedConnections(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answers
		}
	}()
	p := New(Options{Addr: ln.Addr().String()})
	req := fasthttp.AcquireRequest()
	req.SetRequestURI("/")
	req.Header.SetHost("x")
	err := p.Do(req, &fasthttp.Response{}, time.Now(), time.Now().Add(100*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("silent upstream: %v, want ErrTimeout", err)
	}
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := dead.Addr().String()
	dead.Close()
	p = New(Options{Addr: addr})
	if err := p.Do(req, &fasthttp.Response{}, time.Now(), time.Now().Add(time.Second)); err == nil || errors.Is(err, ErrTimeout) {
		t.Errorf("refused connection: %v", err)
	}
}

func TestSlowAnswerOnAReusedConnectionIsATimeoutNotARetry(t *testing.T) {
	var requests atomic.Int32
	addr, _ := serveRaw(t, func(int) string {
		if requests.Add(1) > 1 {
			time.Sleep(500 * time.Millisecond)
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	})
	p := New(Options{Addr: addr})
	if _, err := get(t, p, "GET"); err != nil {
		t.Fatal(err)
	}
	req := fasthttp.AcquireRequest()
	req.SetRequestURI("/")
	req.Header.SetHost("x")
	err := p.Do(req, &fasthttp.Response{}, time.Now(), time.Now().Add(100*time.Millisecond))
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2 (no retry after a timeout)", n)
	}
}

// A retired pool closes its idle connections at once, still serves the
// requests that reach it, and closes their connections after them.
func TestRetiredPoolKeepsNoConnectionOpen(t *testing.T) {
	addr, conns := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	p := New(Options{Addr: addr})
	if resp, err := get(t, p, "GET"); err != nil || body(t, resp) != "ok" {
		t.Fatalf("before: %v", err)
	}
	if n := len(p.sem); n != 1 {
		t.Fatalf("%d connections open after one exchange, want 1 kept idle", n)
	}
	p.Retire()
	if n := len(p.sem); n != 0 {
		t.Errorf("%d connections open after Retire, want 0", n)
	}
	if resp, err := get(t, p, "GET"); err != nil || body(t, resp) != "ok" {
		t.Fatalf("a request reaching the retired pool: %v", err)
	}
	if n := len(p.sem); n != 0 {
		t.Errorf("%d connections open after an exchange on the retired pool, want 0", n)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("origin saw %d connections, want 2", n)
	}
}
