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
		if !p.usable(c, checkAfter, deadline) {
			b.Fatal("a fresh idle connection is not usable")
		}
	}
}

// A trusted pool skips the check on a connection reused within checkAfter,
// except every sampleEvery-th reuse of it; a connection idle longer, or
// any in a pool not yet trusted, is always checked.
func TestIdleCheckIsSkippedOnlyOnHotConnectionsOfATrustedOrigin(t *testing.T) {
	for _, tc := range []struct {
		name    string
		clean   int32
		idle    time.Duration
		checked int // of 2*sampleEvery reuses
	}{
		{"untrusted, reused at once", trustAfter - 1, 0, 2 * sampleEvery},
		{"trusted, reused at once", trustAfter, 0, 2},
		{"trusted, reused just under the threshold", trustAfter, checkAfter - 1, 2},
		{"trusted, idle for the threshold", trustAfter, checkAfter, 2 * sampleEvery},
		{"trusted, idle for seconds", trustAfter, 3 * time.Second, 2 * sampleEvery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Addr: "127.0.0.1:1"})
			p.clean.Store(tc.clean)
			c := &conn{}
			checked := 0
			for range 2 * sampleEvery {
				if !p.skipCheck(c, tc.idle) {
					checked++
				}
			}
			if checked != tc.checked {
				t.Errorf("checked %d of %d reuses, want %d", checked, 2*sampleEvery, tc.checked)
			}
		})
	}
}

// trust sends GETs over one connection of p until its pool trusts the
// origin: the first dials, each of the next trustAfter reuses is checked.
func trust(t *testing.T, p *Pool) {
	t.Helper()
	for i := range trustAfter + 1 {
		resp, err := get(t, p, "GET")
		if err != nil {
			t.Fatalf("GET %d: %v", i, err)
		}
		body(t, resp)
	}
	if n := p.clean.Load(); n != trustAfter {
		t.Fatalf("after %d clean exchanges the pool counts %d clean checks, want %d", trustAfter, n, trustAfter)
	}
}

// An origin trusted for a while that starts closing connections right
// after its answer, without saying so, costs at most the request that
// meets the closed connection (retried when idempotent): from then on
// every reuse is checked again, and a POST meets no closed connection.
func TestTrustedOriginThatStartsClosingIsCheckedAgain(t *testing.T) {
	var closing atomic.Bool
	var posts atomic.Int32
	p, _ := poolTo(t, false, func(_ int, c net.Conn, req *fasthttp.Request) bool {
		if req.Header.IsPost() {
			posts.Add(1)
		}
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
		return err == nil && !closing.Load()
	})
	trust(t, p)
	closing.Store(true)
	for i, method := range []string{"GET", "GET", "POST", "POST", "POST"} {
		resp, err := get(t, p, method)
		if err != nil {
			t.Fatalf("request %d (%s) after the origin began closing: %v", i, method, err)
		}
		if got := body(t, resp); got != "ok" {
			t.Fatalf("request %d answered %q", i, got)
		}
	}
	if n := p.clean.Load(); n >= trustAfter {
		t.Errorf("the pool still trusts the origin (%d clean checks)", n)
	}
	if n := posts.Load(); n != 3 {
		t.Errorf("origin saw %d POSTs, want 3 (each exactly once)", n)
	}
}

// Trust skips the check only on connections reused at once: bytes that
// reach a trusted origin's connection while it sits idle are still caught.
func TestTrustedOriginsStrayBytesOnAnIdleConnectionAreCaught(t *testing.T) {
	var stray atomic.Bool
	released, late := make(chan struct{}), make(chan struct{})
	p, _ := poolTo(t, false, func(_ int, c net.Conn, _ *fasthttp.Request) bool {
		if !stray.Load() {
			_, err := c.Write([]byte(victim))
			return err == nil
		}
		stray.Store(false)
		if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
			return false
		}
		<-released
		_, err := c.Write([]byte(smuggled))
		close(late)
		return err == nil
	})
	trust(t, p)
	stray.Store(true)
	if resp, err := get(t, p, "GET"); err != nil || body(t, resp) != "ok" {
		t.Fatalf("request before the stray bytes: %v", err)
	}
	close(released)
	<-late
	time.Sleep(2 * checkAfter) // idle, not reused at once
	resp, err := get(t, p, "GET")
	if err != nil {
		t.Fatalf("victim request: %v", err)
	}
	if got := body(t, resp); got != "victim" {
		t.Fatalf("victim request answered %q, want its own answer", got)
	}
}
