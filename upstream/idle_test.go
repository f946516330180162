package upstream

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// An origin with a short keep-alive (Node, Apache, gunicorn) closes idle
// connections; a POST after that must go on a new connection, not fail on
// the closed one, and reach the origin exactly once.
func TestPOSTAfterTheOriginClosedTheIdleConnection(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[useTLS], func(t *testing.T) {
			postAfterIdleClose(t, useTLS)
		})
	}
}

func postAfterIdleClose(t *testing.T, useTLS bool) {
	closed := make(chan struct{}, 1)
	var posts atomic.Int32
	handle := func(i int, c net.Conn, req *fasthttp.Request) bool {
		if req.Header.IsPost() {
			posts.Add(1)
		}
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
			return false
		}
		if i == 0 {
			// Keep-alive of 200 ms: the next request does not come in time.
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			go func() {
				var b [1]byte
				_, _ = c.Read(b[:])
				c.Close()
				closed <- struct{}{}
			}()
			return false
		}
		return true
	}
	p, _ := poolTo(t, useTLS, handle)
	if resp, err := get(t, p, "POST"); err != nil || body(t, resp) != "ok" {
		t.Fatalf("first POST: %v", err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("origin did not close the idle connection")
	}
	resp, err := get(t, p, "POST")
	if err != nil {
		t.Fatalf("POST after the origin closed the idle connection: %v", err)
	}
	if got := resp.StatusCode(); got != 200 || body(t, resp) != "ok" {
		t.Fatalf("status %d", got)
	}
	if n := posts.Load(); n != 2 {
		t.Errorf("origin saw %d POSTs, want 2 (each exactly once)", n)
	}
}

// Connections idle longer than IdleTimeout are not used again.
func TestConnectionIdleLongerThanIdleTimeoutIsNotReused(t *testing.T) {
	o := startOrigin(t, func(_ int, c net.Conn, _ *fasthttp.Request) bool {
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		return err == nil
	})
	p := New(Options{Addr: o.addr, IdleTimeout: 50 * time.Millisecond})
	if resp, err := get(t, p, "GET"); err != nil || body(t, resp) != "ok" {
		t.Fatalf("first: %v", err)
	}
	start := time.Now()
	waitUntil(t, func() bool { return time.Since(start) > 100*time.Millisecond })
	if resp, err := get(t, p, "GET"); err != nil || body(t, resp) != "ok" {
		t.Fatalf("second: %v", err)
	}
	if n := o.conns.Load(); n != 2 {
		t.Errorf("origin saw %d connections, want 2", n)
	}
}

func TestIdleTimeoutDefaultsBelowCommonUpstreamKeepAlives(t *testing.T) {
	if d := New(Options{}).o.IdleTimeout; d != DefaultIdleTimeout || d >= 5*time.Second {
		t.Errorf("default idle timeout %v, want %v (below a 5 s upstream keep-alive)", d, DefaultIdleTimeout)
	}
}

// BenchmarkIdleCheck is the check an idle loopback connection gets before
// reuse: one recv(MSG_PEEK|MSG_DONTWAIT) that finds nothing.
func BenchmarkIdleCheck(b *testing.B) {
	addr := echoServer(b)
	p := New(Options{Addr: addr})
	c, _, err := p.acquire(time.Now(), time.Now().Add(time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	defer p.closeConn(c)
	deadline := time.Now().Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if !p.usable(c, deadline) {
			b.Fatal("a fresh idle connection is not usable")
		}
	}
}
