package server

import (
	"bufio"
	"io"
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
