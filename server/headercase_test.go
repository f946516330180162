package server

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawResponseHead sends raw to addr and returns the response's status line
// and header lines exactly as they came over the wire.
func rawResponseHead(t *testing.T, addr, raw string) []string {
	t.Helper()
	c := dial(t, addr)
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var lines []string
	for range 200 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the response head: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return lines
		}
		lines = append(lines, line)
	}
	t.Fatal("response head has more than 200 lines")
	return nil
}

// headerNamed returns the lines of head whose name is name in any case.
func headerNamed(head []string, name string) []string {
	var out []string
	for _, l := range head[1:] {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			out = append(out, l)
		}
	}
	return out
}

// A relayed response keeps the upstream's spelling of header names, as
// API Gateway relays them, and every case-insensitive rule still holds
// for names in any spelling: hop-by-hop headers are dropped, CORS replaces
// the upstream's Access-Control-* headers, and "cache-control: no-store"
// keeps an answer out of the cache.
func TestRelayedResponsesKeepHeaderNamesAsSpelledUpstream(t *testing.T) {
	var hits atomic.Int32
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		hits.Add(1)
		h := &ctx.Response.Header
		h.DisableNormalizing()
		h.Set("x-lower-case", "1")
		h.Set("X-MiXeD", "2")
		h.Set("keep-alive", "timeout=5")
		h.Set("cache-control", "no-store")
		h.Set("access-control-allow-origin", "https://evil.example")
		ctx.SetBodyString("ok")
	})
	_, addr := startServerWith(t, `
apis:
  a:
    cors: {allow_origins: ["https://good.example"], allow_methods: [GET]}
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes:
      "GET /x": {integration: up, cache: {ttl: 60s}}
`, up, nil)

	req := "GET /x HTTP/1.1\r\nHost: a.test\r\nOrigin: https://good.example\r\nConnection: close\r\n\r\n"
	head := rawResponseHead(t, addr, req)
	if !strings.Contains(head[0], " 200") {
		t.Fatalf("status line %q", head[0])
	}
	for _, want := range []string{"x-lower-case: 1", "X-MiXeD: 2"} {
		if got := headerNamed(head, strings.SplitN(want, ":", 2)[0]); len(got) != 1 || got[0] != want {
			t.Errorf("%s: got %q", want, got)
		}
	}
	if got := headerNamed(head, "Keep-Alive"); len(got) != 0 {
		t.Errorf("hop-by-hop keep-alive relayed: %q", got)
	}
	if got := headerNamed(head, "Access-Control-Allow-Origin"); len(got) != 1 || !strings.HasSuffix(got[0], "https://good.example") {
		t.Errorf("Access-Control-Allow-Origin lines %q, want only the policy's", got)
	}
	rawResponseHead(t, addr, req)
	if n := hits.Load(); n != 2 {
		t.Errorf("upstream reached %d times for two requests; a no-store answer was cached", n)
	}
}

// startFixedOrigin serves every request on 127.0.0.1 with the raw response
// resp, byte for byte, and closes the connection.
func startFixedOrigin(t *testing.T, resp string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for range 100 {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(c, resp)
			}()
		}
	}()
	return ln.Addr().String()
}

// relayedHead answers GET /p/x from origin through a one-route API of type
// typ and returns the response head the client gets, which must be a 200.
func relayedHead(t *testing.T, typ, origin string) []string {
	t.Helper()
	_, addr := startServerWith(t, `
apis:
  a:
    type: `+typ+`
    stages: {p: {}}
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes:
      "GET /x": {integration: up}
`, origin, nil)
	head := rawResponseHead(t, addr, "GET /p/x HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
	if !strings.Contains(head[0], " 200") {
		t.Fatalf("status line %q", head[0])
	}
	return head
}

// The headers the gateway writes itself are its own whatever the upstream
// sent: one Date and one request id. A REST API passes the upstream's
// Connection, Content-Length, Date and x-amzn-RequestId on as
// x-amzn-Remapped-*, as API Gateway does for HTTP proxy integrations.
func TestRESTRemapsTheUpstreamsConnectionLengthDateAndRequestID(t *testing.T) {
	up := startFixedOrigin(t, "HTTP/1.1 200 OK\r\ndate: Mon, 01 Jan 2024 00:00:00 GMT\r\nConnection: keep-alive\r\n"+
		"x-amzn-RequestId: backend-id\r\napigw-requestid: backend-short\r\nContent-Length: 2\r\n\r\nok")
	for _, tc := range []struct {
		typ      string
		remapped []string
		idHeader string
	}{
		{"rest", []string{"x-amzn-Remapped-Date: Mon, 01 Jan 2024 00:00:00 GMT", "x-amzn-Remapped-Connection: keep-alive",
			"x-amzn-Remapped-Content-Length: 2", "x-amzn-Remapped-x-amzn-RequestId: backend-id"}, "x-amzn-RequestId"},
		{"http", nil, "apigw-requestid"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			head := relayedHead(t, tc.typ, up)
			for _, want := range tc.remapped {
				name := strings.SplitN(want, ":", 2)[0]
				if got := headerNamed(head, name); len(got) != 1 || got[0] != want {
					t.Errorf("%s lines %q, want %q", name, got, want)
				}
			}
			if got := headerNamed(head, "x-amzn-Remapped-Date"); tc.remapped == nil && len(got) != 0 {
				t.Errorf("HTTP API remapped %q", got)
			}
			if got := headerNamed(head, "Date"); len(got) != 1 || strings.Contains(got[0], "2024") {
				t.Errorf("Date lines %q, want the gateway's one", got)
			}
			if got := headerNamed(head, tc.idHeader); len(got) != 1 || strings.Contains(got[0], "backend") {
				t.Errorf("%s lines %q, want the gateway's one", tc.idHeader, got)
			}
		})
	}
}

// TestTheUpstreamsDateIsReplacedInAnySpelling: the usual spelling, another
// one, and both at once all leave the client one Date, the gateway's.
func TestTheUpstreamsDateIsReplacedInAnySpelling(t *testing.T) {
	for _, tc := range []struct{ name, lines string }{
		{"Date", "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"},
		{"DATE", "DATE: Mon, 01 Jan 2024 00:00:00 GMT\r\n"},
		{"Date and date", "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\ndate: Tue, 02 Jan 2024 00:00:00 GMT\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := relayedHead(t, "http", startFixedOrigin(t, "HTTP/1.1 200 OK\r\n"+tc.lines+"Content-Length: 2\r\n\r\nok"))
			if got := headerNamed(head, "Date"); len(got) != 1 || strings.Contains(got[0], "2024") {
				t.Errorf("Date lines %q, want the gateway's one", got)
			}
		})
	}
}
