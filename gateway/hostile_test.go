package gateway

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// Paths an upstream could resolve outside the route's prefix once it
// decodes them (nginx decodes %2F before resolving dot segments, IIS and
// many frameworks take a backslash for a slash, Tomcat ends a segment at
// ';'), and paths with a NUL, are refused; harmless dots are not.
func TestUnsafePathsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/pets/../admin", true},
		{"/pets/./x", true},
		{"/pets/%2e%2e/admin", true},
		{"/pets/.%2E", true},
		{"/pets/..", true},
		{"/..", true},
		{"/.", true},
		{"/..%2fadmin", true},
		{"/..%2Fadmin", true},
		{"/x/..%2f..%2fadmin", true},
		{"/x%2f..%2fadmin", true},
		{"/x%2F.%2Fadmin", true},
		{"/%2e%2e%2fadmin", true},
		{"/..%5cadmin", true},
		{"/..%5Cadmin", true},
		{"/x%5c..%5cadmin", true},
		{`/..\admin`, true},
		{`/x\..\admin`, true},
		{`/x\.`, true},
		{"/x/..;/admin", true},
		{"/x/..;jsessionid=1/admin", true},
		{"/x/.%3b/admin", true},
		{"/pets/a%00b", true},
		{"/pets/%00", true},
		{"/%00/x", true},

		{"/pets/..x", false},
		{"/pets/a.b", false},
		{"/", false},
		{"", false},
		{"/pets/...", false},
		{"/.well-known/x", false},
		{"/pets/%2e%2e%2e", false},
		{"/pets/a%2fb", false},
		{"/pets/a%5cb", false},
		{"/pets/x..%2fy", false},
		{"/pets/%2", false},
		{"/pets/%", false},
		{"/pets/%zz", false},
		{"/pets/%2e%2", false},
		{"/pets/a;b", false},
		{"/pets/%01", false},
		{"/pets/100%25", false},
	} {
		if got := unsafePath([]byte(tc.path)); got != tc.want {
			t.Errorf("unsafePath(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// rawCtx parses a raw request (so repeated header lines stay as sent)
// arriving from 10.1.2.3.
func rawCtx(t testing.TB, target string, lines ...string) *fasthttp.RequestCtx {
	t.Helper()
	raw := "GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n"
	for _, l := range lines {
		raw += l + "\r\n"
	}
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw + "\r\n"))); err != nil {
		t.Fatal(err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5555}, nil)
	return ctx
}

const restMockConfig = benchConfig + `
  shop:
    type: rest
    base_path: /shop
    integrations:
      ping: {type: mock, body: pong}
    routes:
      "GET /ping": {integration: ping}
`

func TestRepeatedAuthorizationIsABadRequestOnEveryRoute(t *testing.T) {
	g := newTestGateway(t, restMockConfig, petUpstream)
	for _, c := range []struct {
		target string
		lines  []string
		status int
	}{
		{"/ping", nil, 200},
		{"/ping", []string{"Authorization: Bearer a"}, 200},
		{"/ping", []string{"Authorization: Bearer a", "Authorization: Bearer b"}, 400},
		{"/ping", []string{"authorization: Bearer a", "Accept: */*", "AUTHORIZATION: Basic eA=="}, 400},
		{"/ping", []string{"Authorization: a", "Authorization: b", "Authorization: c"}, 400},
		{"/nowhere", []string{"Authorization: a", "Authorization: b"}, 400},
		{"/shop/ping", []string{"Authorization: a"}, 200},
		{"/shop/ping", []string{"Authorization: a", "Authorization: b"}, 400},
	} {
		ctx := rawCtx(t, c.target, c.lines...)
		g.Handle(ctx)
		if got := ctx.Response.StatusCode(); got != c.status {
			t.Errorf("GET %s %q: %d %s, want %d", c.target, c.lines, got, ctx.Response.Body(), c.status)
		}
		if c.status == 400 && !strings.Contains(string(ctx.Response.Body()), "Bad Request") {
			t.Errorf("GET %s %q: body %s", c.target, c.lines, ctx.Response.Body())
		}
	}
}

// headerNames is an upstream that records the header names it received.
type headerNames struct {
	mu    sync.Mutex
	names []string
}

func (h *headerNames) serve(ctx *fasthttp.RequestCtx) {
	var names []string
	for k := range ctx.Request.Header.All() {
		names = append(names, string(k))
	}
	h.mu.Lock()
	h.names = names
	h.mu.Unlock()
	petUpstream(ctx)
}

func (h *headerNames) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.names
}

// Header names with '_' are dropped by default, as nginx does: a backend
// that maps '-' and '_' to one name (CGI, WSGI) would otherwise read the
// client's X_User_Sub as the X-User-Sub the gateway set.
func TestUnderscoreHeaderNamesAreDroppedUnlessAllowed(t *testing.T) {
	for _, allow := range []bool{false, true} {
		up := &headerNames{}
		g := newTestGateway(t, benchConfig, up.serve)
		g.SetOptions(Options{UnderscoresInHeaders: allow})
		ctx := rawCtx(t, "/pets/1", "X_User_Sub: admin", "Accept: */*", "x_a: 1", "X_User_Sub: root", "X-Kept: yes", "_: x")
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("status %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		var underscored []string
		kept := false
		for _, n := range up.seen() {
			if strings.Contains(n, "_") {
				underscored = append(underscored, n)
			}
			kept = kept || n == "X-Kept"
		}
		if !kept {
			t.Errorf("allow %v: X-Kept lost: %q", allow, up.seen())
		}
		if want := map[bool]int{false: 0, true: 4}[allow]; len(underscored) != want {
			t.Errorf("allow %v: upstream got %q, want %d names with '_'", allow, underscored, want)
		}
	}
}

func TestDroppingUnderscoreHeadersAllocatesNothing(t *testing.T) {
	ctx := rawCtx(t, "/pets/1", "Accept: */*", "X-Api-Key: k")
	if n := testing.AllocsPerRun(100, func() { screenHeaders(&ctx.Request.Header, false) }); n != 0 {
		t.Errorf("%v allocations a request without '_' names", n)
	}
}

// On an API without hosts the upstream sees the client's Host (as
// X-Forwarded-Host), so the Host is part of the cache key: one client's
// Host cannot decide what another is served.
func TestCacheKeyHoldsTheHostOfAnAPIWithoutHosts(t *testing.T) {
	g := newTestGatewayWithCache(t, cachedConfig, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.SetBody(ctx.Request.Header.Peek("X-Forwarded-Host"))
	})
	get := func(host string) string {
		ctx := newCtx("GET", "/pets/1")
		ctx.Request.Header.SetHost(host)
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("Host %s: %d %s", host, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		body := string(ctx.Response.Body())
		drain(ctx)
		return body
	}
	if got := get("evil.example"); got != "evil.example" {
		t.Fatalf("first answer %q", got)
	}
	if got := get("shop.example"); got != "shop.example" {
		t.Errorf("Host shop.example was served the entry Host evil.example stored: %q", got)
	}
	if got := get("SHOP.example"); got != "shop.example" {
		t.Errorf("Host SHOP.example: %q, want shop.example's entry", got)
	}
}
