package upstream

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	smuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"
	victim   = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nvictim"
)

// After an answer followed by bytes it does not account for, the next
// request on the origin (the victim, possibly another client's) must get
// its own answer, never those bytes.
func TestLeftoverBytesNeverAnswerTheNextRequest(t *testing.T) {
	big := strings.Repeat("b", 4<<10) // streams: over the pools' BufferResponses below
	for _, tc := range []struct {
		name, method, first string
		wantErr             error // of the first request
	}{
		{"sized body with more data than its length", "GET",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + smuggled, nil},
		{"body on a HEAD answer", "HEAD",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + smuggled, nil},
		{"body on 204", "GET", "HTTP/1.1 204 No Content\r\n\r\n" + smuggled, nil},
		{"body on 304", "GET", "HTTP/1.1 304 Not Modified\r\n\r\n" + smuggled, nil},
		{"bytes after a streamed sized body", "GET",
			"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n" + big + smuggled, nil},
		{"bytes after a chunked body", "GET",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + smuggled, nil},
		{"101 to a request that asked for no upgrade", "GET",
			"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + smuggled, ErrUnexpectedUpgrade},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := startOrigin(t, func(i int, c net.Conn, _ *fasthttp.Request) bool {
				a := victim
				if i == 0 {
					a = tc.first
				}
				_, err := c.Write([]byte(a))
				return err == nil
			})
			p := New(Options{Addr: o.addr, BufferResponses: 1 << 10})
			resp, err := get(t, p, tc.method)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("first request: %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				body(t, resp)
			}
			resp, err = get(t, p, "GET")
			if err != nil {
				t.Fatalf("victim request: %v", err)
			}
			if got := body(t, resp); got != "victim" {
				t.Fatalf("victim request answered %q, want its own answer", got)
			}
		})
	}
}

// Bytes that reach the idle connection after the answer was read and the
// connection pooled are caught before the connection is used again.
func TestBytesArrivingOnAnIdleConnectionAreNotTakenForTheNextAnswer(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[useTLS], func(t *testing.T) {
			released, late := make(chan struct{}), make(chan struct{})
			handle := func(i int, c net.Conn, _ *fasthttp.Request) bool {
				if i != 1 {
					_, err := c.Write([]byte(victim))
					return err == nil
				}
				if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
					return false
				}
				select { // once the pool has read the answer and kept the connection
				case <-released:
				case <-time.After(5 * time.Second):
					return false
				}
				_, err := c.Write([]byte(smuggled))
				close(late)
				return err == nil
			}
			p, o := poolTo(t, useTLS, handle)
			// The first exchange shows the check keeps good connections.
			for i, want := range []string{"victim", "ok"} {
				resp, err := get(t, p, "GET")
				if err != nil || body(t, resp) != want {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			if n := o.conns.Load(); n != 1 {
				t.Fatalf("two exchanges used %d connections, want 1", n)
			}
			close(released)
			select {
			case <-late:
			case <-time.After(5 * time.Second):
				t.Fatal("origin did not send its late bytes")
			}
			resp, err := get(t, p, "GET")
			if err != nil {
				t.Fatalf("victim request: %v", err)
			}
			if got := body(t, resp); got != "victim" {
				t.Fatalf("victim request answered %q, want its own answer", got)
			}
		})
	}
}

// Leftover bytes are logged at most once a minute per origin, and never
// the bytes themselves (they may be another client's data).
func TestLeftoverBytesAreLoggedRarelyAndWithoutTheirContent(t *testing.T) {
	o := startOrigin(t, func(_ int, c net.Conn, _ *fasthttp.Request) bool {
		_, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + smuggled))
		return err == nil
	})
	var logs bytes.Buffer
	p := New(Options{Addr: o.addr, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 3 {
		if resp, err := get(t, p, "GET"); err != nil || body(t, resp) != "ok" {
			t.Fatalf("request: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("%d log lines for 3 leftovers within a minute, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "SMUGGLED") {
		t.Errorf("the leftover bytes were logged: %s", logs.String())
	}
	if n := o.conns.Load(); n != 3 {
		t.Errorf("origin saw %d connections, want 3 (none reused after leftovers)", n)
	}
}

// A 101 to a request that asked for an upgrade is the caller's, but the
// connection now speaks another protocol and is never pooled.
func TestRequestedUpgradeIsReturnedAndItsConnectionNotReused(t *testing.T) {
	o := startOrigin(t, func(i int, c net.Conn, _ *fasthttp.Request) bool {
		a := victim
		if i == 0 {
			a = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + smuggled
		}
		_, err := c.Write([]byte(a))
		return err == nil
	})
	p := New(Options{Addr: o.addr})
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("/ws")
	req.Header.SetHost(o.addr)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	resp := &fasthttp.Response{}
	if err := p.Do(req, resp, time.Now(), time.Now().Add(2*time.Second)); err != nil || resp.StatusCode() != 101 {
		t.Fatalf("upgrade: %v, status %d", err, resp.StatusCode())
	}
	resp, err := get(t, p, "GET")
	if err != nil || body(t, resp) != "victim" {
		t.Fatalf("victim request: %v", err)
	}
	if n := o.conns.Load(); n != 2 {
		t.Errorf("origin saw %d connections, want 2", n)
	}
}
