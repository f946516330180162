package server

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

const uploadConfig = `
server:
  max_body_bytes: 10MiB
apis:
  a:
    integrations:
      m: {type: mock, body: ok}
    routes:
      "POST /upload": {integration: m}
`

func TestSlowBodiesHoldOnlyWhatHasArrived(t *testing.T) {
	const (
		conns    = 16
		declared = 10 << 20 // each declares the largest body allowed
		sent     = 20 << 10 // and sends this much of it
	)
	s, addr := startServerWith(t, uploadConfig, "", nil)
	base := liveHeap()

	slow := make([]*bufio.Reader, conns)
	closers := make([]func(), conns)
	head := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", declared)
	for i := range slow {
		c := dial(t, addr)
		if _, err := io.WriteString(c, head+strings.Repeat("x", sent)); err != nil {
			t.Fatal(err)
		}
		slow[i] = bufio.NewReader(c)
		closers[i] = func() { c.Close() }
	}
	waitFor(t, "the server to read what was sent", 10*time.Second, func() bool {
		return s.bodies.held() >= conns*sent
	})
	grown := int64(liveHeap()) - int64(base)
	t.Logf("%d connections declaring %d MiB each, %d KiB sent on each: the heap grew by %d KiB",
		conns, declared>>20, sent>>10, grown>>10)
	if grown > conns*(1<<20) {
		t.Errorf("the heap grew by %d MiB for %d KiB received: bodies are held for their declared size", grown>>20, conns*sent>>10)
	}

	// A well-behaved POST is answered meanwhile.
	resp, body := roundTrip(t, addr, "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
	if resp.StatusCode != 200 || body != "ok" {
		t.Errorf("a well-behaved POST got %d %q", resp.StatusCode, body)
	}

	for _, c := range closers {
		c()
	}
	waitFor(t, "the slow connections to close", 10*time.Second, func() bool {
		return s.metrics.OpenConnections().Value() == 0 && s.bodies.held() == 0
	})
	waitFor(t, "the heap to return near where it was", 10*time.Second, func() bool {
		return int64(liveHeap())-int64(base) < 4<<20
	})
}

// bodyUpstream answers with the digest and length of the body it got,
// and records the Expect header.
type bodyUpstream struct {
	addr   string
	mu     sync.Mutex
	expect string
}

func startBodyUpstream(t *testing.T) *bodyUpstream {
	u := &bodyUpstream{}
	u.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		u.mu.Lock()
		u.expect = string(ctx.Request.Header.Peek("Expect"))
		u.mu.Unlock()
		sum := sha256.Sum256(ctx.Request.Body())
		fmt.Fprintf(ctx, "%d %s", len(ctx.Request.Body()), hex.EncodeToString(sum[:8]))
	})
	return u
}

func (u *bodyUpstream) seenExpect() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.expect
}

func digest(body string) string {
	sum := sha256.Sum256([]byte(body))
	return fmt.Sprintf("%d %s", len(body), hex.EncodeToString(sum[:8]))
}

const proxyConfig = `
server:
  max_body_bytes: 1MiB
apis:
  a:
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "$default": {integration: up}
`

// chunked frames body in chunks of at most size bytes.
func chunked(body string, size int) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(size, len(body))
		fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.String()
}

func TestBodiesReachTheUpstreamWhole(t *testing.T) {
	up := startBodyUpstream(t)
	_, addr := startServerWith(t, proxyConfig, up.addr, nil)
	big := strings.Repeat("0123456789abcdef", 60<<10) // 960 KiB, under the 1 MiB limit
	cases := []struct{ name, headers, wire, body string }{
		{"empty", "Content-Length: 0\r\n", "", ""},
		{"small", "Content-Length: 5\r\n", "hello", "hello"},
		{"large", fmt.Sprintf("Content-Length: %d\r\n", len(big)), big, big},
		{"chunked", "Transfer-Encoding: chunked\r\n", chunked(big, 7000), big},
		{"chunked, one-byte chunks", "Transfer-Encoding: chunked\r\n", chunked("hello, world", 1), "hello, world"},
		{"chunked, empty", "Transfer-Encoding: chunked\r\n", chunked("", 1), ""},
		{"chunk extensions up to 4 KiB", "Transfer-Encoding: chunked\r\n", "5;ext=" + strings.Repeat("e", 4000) + "\r\nhello\r\n0\r\n\r\n", "hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, got := roundTrip(t, addr, "POST /x HTTP/1.1\r\nHost: a\r\n"+c.headers+"\r\n"+c.wire)
			if resp.StatusCode != 200 || got != digest(c.body) {
				t.Errorf("got %d %q, want 200 %q", resp.StatusCode, got, digest(c.body))
			}
		})
	}
}

func TestMalformedOrOversizedBodiesAreRefused(t *testing.T) {
	up := startBodyUpstream(t)
	s, addr := startServerWith(t, proxyConfig, up.addr, nil)
	huge := strings.Repeat("x", 2<<20)
	cases := []struct {
		name, wire string
		status     int
		message    string
	}{
		{"declared over max_body_bytes", "Content-Length: 2097152\r\n\r\n" + huge, 413, `{"message":"Request Too Long"}`},
		{"chunked over max_body_bytes", "Transfer-Encoding: chunked\r\n\r\n" + chunked(huge, 64<<10), 413, `{"message":"Request Too Long"}`},
		{"chunk size not hex", "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, `{"message":"Bad Request"}`},
		{"chunk without its line end", "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400, `{"message":"Bad Request"}`},
		{"64 KiB chunk extension", "Transfer-Encoding: chunked\r\n\r\n1;ext=" + strings.Repeat("e", 64<<10) + "\r\nx\r\n0\r\n\r\n", 400, `{"message":"Bad Request"}`},
		{"10 MB chunk extension", "Transfer-Encoding: chunked\r\n\r\n1;ext=" + strings.Repeat("e", 10<<20) + "\r\nx\r\n0\r\n\r\n", 400, `{"message":"Bad Request"}`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := dial(t, addr)
			if err := conn.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
				t.Fatal(err)
			}
			// The server may answer and close before the whole request is
			// sent: write from another goroutine, and ignore its error.
			go io.WriteString(conn, "POST /x HTTP/1.1\r\nHost: a\r\n"+c.wire) //nolint:errcheck
			resp, body := readResponse(t, bufio.NewReader(conn), "POST")
			if resp.StatusCode != c.status || body != c.message {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, c.status, c.message)
			}
			if !resp.Close {
				t.Error("the connection is kept open after a refused body")
			}
			want := fmt.Sprint(i + 1)
			waitFor(t, "the refusal to be counted", 5*time.Second, func() bool { return metric(s, "frontdesk_bad_requests_total") == want })
		})
	}
}

func TestBodiesPastTheInflightBudgetGet503(t *testing.T) {
	up := startBodyUpstream(t)
	s, addr := startServerWith(t, `
server:
  max_body_bytes: 64KiB
  max_inflight_body_bytes: 64KiB
apis:
  a:
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "$default": {integration: up}
`, up.addr, nil)
	const size = 60 << 10
	body := strings.Repeat("b", size)
	head := fmt.Sprintf("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", size)

	// One upload has most of its body in and holds the budget.
	holder := dial(t, addr)
	if _, err := io.WriteString(holder, head+body[:size-1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first body to take the budget", 10*time.Second, func() bool { return s.bodies.held() >= size })

	resp, got := roundTrip(t, addr, head+body)
	if resp.StatusCode != 503 || got != `{"message":"Service Unavailable"}` || !resp.Close {
		t.Errorf("past the budget: %d %s (close %v), want 503 Service Unavailable and the connection closed", resp.StatusCode, got, resp.Close)
	}
	// Small bodies, read with the request head, still pass.
	if resp, got := roundTrip(t, addr, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"); resp.StatusCode != 200 || got != digest("hello") {
		t.Errorf("a small body past the budget: %d %q", resp.StatusCode, got)
	}

	// The first upload completes, and the budget is free again.
	if _, err := io.WriteString(holder, body[size-1:]); err != nil {
		t.Fatal(err)
	}
	if resp, got := readResponse(t, bufio.NewReader(holder), "POST"); resp.StatusCode != 200 || got != digest(body) {
		t.Errorf("the first upload got %d %q", resp.StatusCode, got)
	}
	waitFor(t, "the budget to be free", 5*time.Second, func() bool { return s.bodies.held() == 0 })
	if resp, got := roundTrip(t, addr, head+body); resp.StatusCode != 200 || got != digest(body) {
		t.Errorf("with the budget free again: %d %q", resp.StatusCode, got)
	}
}

func TestExpectContinueIsAnsweredOnceAndNotForwarded(t *testing.T) {
	up := startBodyUpstream(t)
	_, addr := startServerWith(t, proxyConfig, up.addr, nil)

	c := dial(t, addr)
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim answer %q, %v; want 100 Continue", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	if _, err := io.WriteString(c, "hello"); err != nil {
		t.Fatal(err)
	}
	if resp, got := readResponse(t, br, "POST"); resp.StatusCode != 200 || got != digest("hello") {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
	if e := up.seenExpect(); e != "" {
		t.Errorf("the upstream was sent Expect: %s after frontdesk answered it", e)
	}

	// HTTP/1.0 has no 100-continue: the header is ignored, and dropped.
	if resp, got := roundTrip(t, addr, "POST /x HTTP/1.0\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"); resp.StatusCode != 200 || got != digest("hello") {
		t.Fatalf("HTTP/1.0: got %d %q", resp.StatusCode, got)
	}
	if e := up.seenExpect(); e != "" {
		t.Errorf("the upstream was sent Expect: %s from an HTTP/1.0 request", e)
	}

	// A body declared over the limit is refused before the client sends it.
	resp, got := roundTrip(t, addr, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2097152\r\nExpect: 100-continue\r\n\r\n")
	if resp.StatusCode != 413 || got != `{"message":"Request Too Long"}` {
		t.Errorf("Expect with an oversized body: %d %s, want 413 without 100 Continue", resp.StatusCode, got)
	}
}

func TestANULInThePathIsABadRequest(t *testing.T) {
	s, addr := startServerWith(t, `
apis:
  a:
    base_path: /a
    integrations: {m: {type: mock, body: ok}}
    routes: {$default: {integration: m}}
`, "", nil)
	for i, path := range []string{"/a/x%00y", "/a/%00", "/nowhere/%00.txt", "/a/x%2500y%00", "/a/x\x00y"} {
		resp, body := roundTrip(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp.StatusCode != http.StatusBadRequest || body != `{"message":"Bad Request"}` {
			t.Errorf("GET %s = %d %s, want 400 Bad Request", path, resp.StatusCode, body)
		}
		want := fmt.Sprint(i + 1)
		waitFor(t, "the bad request to be counted", 5*time.Second, func() bool { return metric(s, "frontdesk_bad_requests_total") == want })
	}
	for _, path := range []string{"/a/x%2500y", "/a/x?q=%00"} {
		if resp, body := roundTrip(t, addr, "GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"); resp.StatusCode != 200 || body != "ok" {
			t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, body)
		}
	}
}
