package server

import (
	"bufio"
	"fmt"
	"github.com/golang-jwt/jwt/v5"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// rawDo sends raw (a whole HTTP/1.1 request, written as it is, so that
// paths, repeated headers and request targets reach the gateway
// unnormalised) to the gateway at base and reads the answer.
func rawDo(t *testing.T, base, raw string) result {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

// proxyEverything is an API that sends every request to the upstream
// {{UP}}.
const proxyEverything = `
apis:
  a:
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes: {"$default": {integration: up}}
`

// get is a raw GET of target with extra header lines ("Name: value").
func get(target string, lines ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// resolvingUpstream records every path it is asked for the way nginx
// resolves it: percent-decoded (so %2F and %5C become separators), a
// backslash taken for a slash, then dot segments removed.
type resolvingUpstream struct {
	mu       sync.Mutex
	resolved []string
	headers  []*fasthttp.RequestHeader
	addr     string
}

func startResolvingUpstream(t *testing.T) *resolvingUpstream {
	t.Helper()
	u := &resolvingUpstream{}
	u.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		raw := string(ctx.Request.Header.RequestURI())
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			raw = raw[:i]
		}
		dec, err := url.PathUnescape(raw)
		if err != nil {
			dec = raw
		}
		dec = path.Clean(strings.ReplaceAll(dec, `\`, "/"))
		h := &fasthttp.RequestHeader{}
		ctx.Request.Header.CopyTo(h)
		u.mu.Lock()
		u.resolved = append(u.resolved, dec)
		u.headers = append(u.headers, h)
		u.mu.Unlock()
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(dec)
	})
	return u
}

func (u *resolvingUpstream) paths() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.resolved...)
}

// last is the header of the last request the upstream received.
func (u *resolvingUpstream) last(t *testing.T) *fasthttp.RequestHeader {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		t.Fatal("the upstream received nothing")
	}
	return u.headers[len(u.headers)-1]
}

const prefixConfig = `
apis:
  a:
    integrations:
      pets: {type: http_proxy, url: "http://{{UP}}/pets/{id}"}
      files: {type: http_proxy, url: "http://{{UP}}/files/{proxy}"}
    routes:
      "GET /npets/{id}": {integration: pets}
      "GET /x/{proxy+}": {integration: files}
`

// However a path is encoded, an upstream that decodes and resolves it never
// sees a path outside the prefix of the route's integration URL.
func TestEncodedDotSegmentsNeverLeaveTheRoutePrefix(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, prefixConfig, up.addr)
	for _, p := range []string{
		"/npets/..%2fadmin",
		"/npets/..%2Fadmin",
		"/npets/%2e%2e%2fadmin",
		"/npets/..%5cadmin",
		`/npets/..\admin`,
		"/npets/.%2e%2F.%2E%2Fadmin",
		"/x/..%2f..%2fadmin",
		"/x/a/..%2f..%2f..%2fadmin",
		"/x/a%2f..%2f..%2fadmin",
		"/x/..%5C..%5Cadmin",
		"/x/../../admin",
		"/x/..;/..;/admin",
		"/npets/a%00b",
	} {
		r := rawDo(t, base, get(p))
		if r.status != 400 || r.body != `{"message":"Bad Request"}` {
			t.Errorf("GET %s = %d %s, want 400 Bad Request", p, r.status, r.body)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/npets/a.b", "/pets/a.b"},
		{"/npets/...", "/pets/..."},
		{"/x/a/b.txt", "/files/a/b.txt"},
		{"/x/a%2fb", "/files/a/b"},
	} {
		r := rawDo(t, base, get(c.path))
		if r.status != 200 || r.body != c.want {
			t.Errorf("GET %s = %d %q, want 200 %q", c.path, r.status, r.body, c.want)
		}
	}
	for _, p := range up.paths() {
		if !strings.HasPrefix(p, "/pets/") && !strings.HasPrefix(p, "/files/") {
			t.Errorf("the upstream resolved a request to %s, outside the routes' prefixes", p)
		}
	}
}

// values lists every line of header name in h, in order.
func values(h *fasthttp.RequestHeader, name string) []string {
	var out []string
	for k, v := range h.All() {
		if strings.EqualFold(string(k), name) {
			out = append(out, string(v))
		}
	}
	return out
}

// Behind a trusted proxy that appends its own X-Forwarded-For line
// (HAProxy's option forwardfor), a line the client sent first cannot
// choose the client address; the upstream gets one line, in order, with
// the peer appended.
func TestForgedForwardedForLineDoesNotChooseTheClient(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, `
server:
  trusted_proxies: ["127.0.0.1/32"]
apis:
  a:
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "GET /limited": {integration: up, throttle: {rate: 0.001, burst: 1, per: client_ip}}
`, up.addr)
	first := rawDo(t, base, get("/limited", "X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 203.0.113.5"))
	if first.status != 200 {
		t.Fatalf("first request: %d %s", first.status, first.body)
	}
	if got := values(up.last(t), "X-Forwarded-For"); len(got) != 1 || got[0] != "198.51.100.1, 203.0.113.5, 127.0.0.1" {
		t.Errorf("upstream X-Forwarded-For lines %q, want one: 198.51.100.1, 203.0.113.5, 127.0.0.1", got)
	}
	// The same client (203.0.113.5, as the proxy saw it) with another
	// forged first line is still the same client.
	again := rawDo(t, base, get("/limited", "X-Forwarded-For: 198.51.100.2", "X-Forwarded-For: 203.0.113.5"))
	if again.status != 429 {
		t.Errorf("a forged first X-Forwarded-For line escaped the per-client throttle: %d %s", again.status, again.body)
	}
	other := rawDo(t, base, get("/limited", "X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 203.0.113.6"))
	if other.status != 200 {
		t.Errorf("another client throttled: %d %s", other.status, other.body)
	}
}

// Without trusted proxies the client's X-Forwarded-For lines are passed on
// joined into one, with the peer appended, as API Gateway does.
func TestForwardedForLinesAreJoinedWithThePeerAppended(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, `
apis:
  a:
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "$default": {integration: up}
`, up.addr)
	r := rawDo(t, base, get("/", "X-Forwarded-For: 198.51.100.1", "Accept: */*", "X-Forwarded-For: 203.0.113.5, 192.0.2.1"))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := values(up.last(t), "X-Forwarded-For"); len(got) != 1 || got[0] != "198.51.100.1, 203.0.113.5, 192.0.2.1, 127.0.0.1" {
		t.Errorf("upstream X-Forwarded-For lines %q", got)
	}
	rawDo(t, base, get("/"))
	if got := values(up.last(t), "X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("without X-Forwarded-For the upstream got %q, want the peer alone", got)
	}
}

// Every client line of a header frontdesk sets toward the upstream is
// dropped, not only the first, and so is Forwarded: the upstream sees the
// one frontdesk wrote.
func TestClientCopiesOfGatewayHeadersNeverReachTheUpstream(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, `
apis:
  web:
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "$default": {integration: up}
  shop:
    type: rest
    base_path: /shop
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "$default": {integration: up}
`, up.addr)
	var forged []string
	for _, name := range []string{"X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-Host", "Apigw-Requestid", "X-Amzn-Requestid", "Forwarded"} {
		forged = append(forged, name+": forged-1", strings.ToLower(name)+": forged-2")
	}
	for _, c := range []struct{ path, idHeader, otherID string }{
		{"/", "Apigw-Requestid", "X-Amzn-Requestid"},
		{"/shop/", "X-Amzn-Requestid", "Apigw-Requestid"},
	} {
		r := rawDo(t, base, get(c.path, forged...))
		if r.status != 200 {
			t.Fatalf("GET %s: %d %s", c.path, r.status, r.body)
		}
		h := up.last(t)
		want := map[string]string{
			"X-Forwarded-Proto": "http",
			"X-Forwarded-Port":  base[strings.LastIndexByte(base, ':')+1:],
			"X-Forwarded-Host":  "gw.test",
			c.idHeader:          r.header.Get(c.idHeader),
		}
		for name, v := range want {
			if got := values(h, name); len(got) != 1 || got[0] != v || v == "" {
				t.Errorf("GET %s: upstream %s lines %q, want one: %q", c.path, name, got, v)
			}
		}
		for _, name := range []string{"Forwarded", c.otherID} {
			if got := values(h, name); len(got) != 0 {
				t.Errorf("GET %s: the client's %s reached the upstream: %q", c.path, name, got)
			}
		}
	}
}

// hostileAuthConfig has a JWT-protected route (its sub claim passed on as
// X-User-Sub), an open route and a REST API.
func hostileAuthConfig(jwks, up, server string) string {
	return fmt.Sprintf(`
server: {%s}
apis:
  a:
    authorizers:
      users:
        type: jwt
        issuer: "https://issuer.test/"
        audience: [petstore]
        jwks_url: "%s/jwks"
        claims_to_headers: {sub: X-User-Sub}
    integrations:
      up: {type: http_proxy, url: "http://%s"}
    routes:
      "GET /pets": {integration: up, authorizer: users}
      "GET /open": {integration: up}
  r:
    type: rest
    base_path: /r
    integrations: {up: {type: http_proxy, url: "http://%s"}}
    routes: {"GET /open": {integration: up}}
`, server, jwks, up, up)
}

// A second Authorization line would ride along unverified after the one
// the authorizer checked: a request with more than one is refused with
// 400 on every route, before any authorizer or upstream sees it.
func TestRepeatedAuthorizationIsRefused(t *testing.T) {
	p := startIDP(t)
	up := startResolvingUpstream(t)
	base := startGateway(t, hostileAuthConfig(p.url, up.addr, ""), "")
	valid := "Authorization: Bearer " + p.sign(t, "k1", claims(nil))
	forged := "Authorization: Bearer forged.token.here"
	if r := rawDo(t, base, get("/pets", valid)); r.status != 200 {
		t.Fatalf("one valid token: %d %s", r.status, r.body)
	}
	seen := len(up.paths())
	for _, c := range []struct {
		path, body string
		lines      []string
	}{
		{"/pets", `{"message":"Bad Request"}`, []string{valid, forged}},
		{"/pets", `{"message":"Bad Request"}`, []string{forged, valid}},
		{"/pets", `{"message":"Bad Request"}`, []string{valid, "authorization: Basic Zm9vOmJhcg=="}},
		{"/open", `{"message":"Bad Request"}`, []string{forged, forged}},
		{"/r/open", `{"message":"Bad Request"}`, []string{forged, forged}},
	} {
		r := rawDo(t, base, get(c.path, c.lines...))
		if r.status != 400 || r.body != c.body {
			t.Errorf("GET %s with %d Authorization lines: %d %s, want 400 %s", c.path, len(c.lines), r.status, r.body, c.body)
		}
		if strings.HasPrefix(c.path, "/r/") && r.header.Get("x-amzn-ErrorType") != "BadRequestException" {
			t.Errorf("REST 400 without BadRequestException: %v", r.header)
		}
	}
	if n := len(up.paths()); n != seen {
		t.Errorf("%d requests with repeated Authorization reached the upstream", n-seen)
	}
}

// cgiNames maps header lines to the names a CGI/WSGI backend reads them
// under (HTTP_X_USER_SUB for both X-User-Sub and X_User_Sub).
func cgiNames(h *fasthttp.RequestHeader) map[string][]string {
	out := map[string][]string{}
	for k, v := range h.All() {
		name := "HTTP_" + strings.ToUpper(strings.ReplaceAll(string(k), "-", "_"))
		out[name] = append(out[name], string(v))
	}
	return out
}

// A client's X_User_Sub cannot shadow the X-User-Sub a JWT authorizer sets:
// names with '_' are dropped unless server.underscores_in_headers is true.
func TestUnderscoreHeadersCannotShadowGatewayHeaders(t *testing.T) {
	p := startIDP(t)
	token := "Authorization: Bearer " + p.sign(t, "k1", claims(nil))
	for _, c := range []struct {
		server string
		want   []string
	}{
		{"", []string{"user-7"}},
		{"underscores_in_headers: false", []string{"user-7"}},
		{"underscores_in_headers: true", []string{"admin", "user-7"}},
	} {
		up := startResolvingUpstream(t)
		base := startGateway(t, hostileAuthConfig(p.url, up.addr, c.server), "")
		r := rawDo(t, base, get("/pets", token, "X_User_Sub: admin"))
		if r.status != 200 {
			t.Fatalf("%q: %d %s", c.server, r.status, r.body)
		}
		got := cgiNames(up.last(t))["HTTP_X_USER_SUB"]
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("server {%s}: the backend reads HTTP_X_USER_SUB as %q, want %q", c.server, got, c.want)
		}
	}
}

// On an API without hosts the first requester's Host must not decide what
// every later client is served from the cache: two Hosts, two entries.
func TestCachedAnswersAreKeptPerHost(t *testing.T) {
	var hits sync.Map
	addr := startServer(t, func(ctx *fasthttp.RequestCtx) {
		host := string(ctx.Request.Header.Peek("X-Forwarded-Host"))
		n, _ := hits.LoadOrStore(host, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		ctx.SetContentType("text/html")
		ctx.SetBodyString(`<a href="http://` + host + `/next">`)
	})
	base := startGateway(t, `
apis:
  a:
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes:
      "GET /page": {integration: up, cache: {ttl: 60s}}
`, addr)
	poisoned := rawDo(t, base, "GET /page HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
	for i := 0; i < 2; i++ {
		r := rawDo(t, base, "GET /page HTTP/1.1\r\nHost: Shop.Example\r\nConnection: close\r\n\r\n")
		if r.status != 200 || r.body != `<a href="http://shop.example/next">` && r.body != `<a href="http://Shop.Example/next">` {
			t.Errorf("Host Shop.Example answered %d %s (the other Host's entry: %s)", r.status, r.body, poisoned.body)
		}
	}
	for _, host := range []string{"evil.example", "Shop.Example"} {
		if n, ok := hits.Load(host); !ok || n.(*atomic.Int64).Load() != 1 {
			t.Errorf("Host %s reached the upstream other than once (%v)", host, n)
		}
	}
}

// A forwarded body keeps the Content-Type it came with, and gets none
// when it had none (fasthttp would add application/octet-stream).
func TestForwardedBodiesGetNoDefaultContentType(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, proxyEverything, up.addr)
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{"POST /x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", nil},
		{"POST /x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", nil},
		{"PUT /x HTTP/1.1\r\nHost: gw.test\r\nContent-Type: text/csv\r\nContent-Length: 3\r\nConnection: close\r\n\r\na,b", []string{"text/csv"}},
	} {
		if r := rawDo(t, base, c.raw); r.status != 200 {
			t.Fatalf("%q: %d %s", c.raw, r.status, r.body)
		}
		if got := values(up.last(t), "Content-Type"); !slices.Equal(got, c.want) {
			t.Errorf("%q: upstream Content-Type %q, want %q", c.raw, got, c.want)
		}
	}
}

// An absolute-form request target names the authority the request is for
// (RFC 9112 §3.2.2): it picks the API, and replaces the Host header.
func TestAbsoluteFormTargetsAreRoutedByTheirAuthority(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, `
apis:
  other:
    hosts: [other.example]
    integrations: {up: {type: http_proxy, url: "http://{{UP}}/other"}}
    routes: {"GET /x": {integration: up}}
  main:
    integrations: {m: {type: mock, body: main}}
    routes: {"GET /x": {integration: m}}
`, up.addr)
	for _, c := range []struct{ raw, want, host string }{
		{"GET http://other.example/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n", "/other", "other.example"},
		{"GET http://OTHER.example:80/x?q=1 HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n", "/other", "other.example:80"},
		{"GET http://gw.test/x HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n", "main", ""},
		{"GET /x HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n", "/other", "other.example"},
	} {
		if r := rawDo(t, base, c.raw); r.status != 200 || r.body != c.want {
			t.Errorf("%q: %d %q, want %q", c.raw, r.status, r.body, c.want)
			continue
		}
		if c.host == "" {
			continue
		}
		if got := values(up.last(t), "X-Forwarded-Host"); len(got) != 1 || got[0] != c.host {
			t.Errorf("%q: X-Forwarded-Host %q, want %q", c.raw, got, c.host)
		}
	}
}

// stalledGet sends a GET for target from client (an X-Forwarded-For
// address; the gateway trusts the loopback peer) and reads the answer's
// status line, then stops reading. The connection closes at the end of the
// test, or when the caller closes it.
func stalledGet(t *testing.T, base, target, client string) (net.Conn, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: "+client+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	return conn, strings.TrimSpace(line)
}

// One client that opens large responses and never reads them can hold at
// most upstream.max_streams_per_client of them; past that its requests get
// 429, other clients are served, and a slot frees when a stream closes.
func TestStalledReadersHoldAtMostTheirShareOfUpstreamStreams(t *testing.T) {
	addr := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/octet-stream")
		ctx.SetBodyStream(&zeros{n: 256 << 20}, -1)
	})
	base := startGateway(t, `
server:
  trusted_proxies: ["127.0.0.1/32"]
upstream:
  max_streams_per_client: 2
apis:
  a:
    integrations: {up: {type: http_proxy, url: "http://{{UP}}"}}
    routes: {"GET /big": {integration: up}}
`, addr)
	const slow = "198.51.100.7"
	first, status := stalledGet(t, base, "/big", slow)
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("first stream: %s", status)
	}
	if _, status := stalledGet(t, base, "/big", slow); status != "HTTP/1.1 200 OK" {
		t.Fatalf("second stream: %s", status)
	}
	if _, status := stalledGet(t, base, "/big", slow); status != "HTTP/1.1 429 Too Many Requests" {
		t.Errorf("third stream of one client: %s, want 429", status)
	}
	if _, status := stalledGet(t, base, "/big", "198.51.100.8"); status != "HTTP/1.1 200 OK" {
		t.Errorf("another client: %s, want 200", status)
	}
	first.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, status := stalledGet(t, base, "/big", slow)
		conn.Close()
		if status == "HTTP/1.1 200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot of a closed stream never freed: %s", status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A head that declares a body over max_body_bytes is answered 413 at once,
// though no byte of the body has come; fasthttp would first wait for some.
func TestOversizedDeclaredBodyIsRefusedBeforeAnyOfItArrives(t *testing.T) {
	_, addr := startServerWith(t, `
server:
  max_body_bytes: 1KiB
  read_timeout: 30s
apis:
  a:
    type: rest
    integrations:
      m: {type: mock, status: 200, body: ok}
    routes:
      $default: {integration: m}
`, "", nil)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds the test; read_timeout is 30 s
	resp, err := io.ReadAll(conn)
	if !strings.HasPrefix(string(resp), "HTTP/1.1 413 ") || !strings.Contains(string(resp), "RequestTooLongException") {
		t.Fatalf("got %q, %v; want the REST API's 413 before read_timeout, then the connection closed", resp, err)
	}
}

// Fields in a chunked body's trailer section are not headers: they never
// reach the upstream as headers, however they are named.
func TestTrailerFieldsNeverReachTheUpstreamAsHeaders(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, proxyEverything, up.addr)
	for _, trailer := range []string{
		"X-Trailer-Injected: 1\r\n",
		"Trailer-Announced: 1\r\n",
	} {
		raw := "POST /x HTTP/1.1\r\nHost: gw.test\r\nTrailer: Trailer-Announced\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
			"5\r\nhello\r\n0\r\n" + trailer + "\r\n"
		if r := rawDo(t, base, raw); r.status != 200 {
			t.Fatalf("%q: %d %s", trailer, r.status, r.body)
		}
		h := up.last(t)
		for _, name := range []string{"X-Trailer-Injected", "Trailer-Announced", "Trailer"} {
			if got := values(h, name); len(got) > 0 {
				t.Errorf("trailer %q: upstream got header %s: %q", trailer, name, got)
			}
		}
	}
}

// A header name that is not an RFC 9110 token is a malformed request, as
// nginx answers it: it is never passed on.
func TestHeaderNamesThatAreNotTokensAreBadRequests(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, proxyEverything, up.addr)
	for _, line := range []string{"X A: b", "X(A): b", "X\"A: b", "X/A: b", "X@A: b", "X{A}: b"} {
		if r := rawDo(t, base, get("/x", line)); r.status != 400 {
			t.Errorf("%q: %d %s, want 400", line, r.status, r.body)
		}
	}
	if n := len(up.paths()); n != 0 {
		t.Errorf("the upstream received %d of those requests", n)
	}
	if r := rawDo(t, base, get("/x", "X-Fine_Name.1~!#$%&'*+^`|: b")); r.status != 200 {
		t.Errorf("a name made of token characters: %d %s", r.status, r.body)
	}
}

// An upstream answer without a Content-Type reaches the client without one:
// fasthttp would label it text/plain.
func TestUpstreamAnswersGetNoDefaultContentType(t *testing.T) {
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetNoDefaultContentType(true)
		ctx.SetBodyString("raw bytes")
	})
	base := startGateway(t, proxyEverything, up)
	r := rawDo(t, base, get("/x"))
	if r.status != 200 || r.body != "raw bytes" {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if got := r.header.Values("Content-Type"); len(got) != 0 {
		t.Errorf("client got Content-Type %q on a body the upstream sent without one", got)
	}
}

// A claim whose value holds a control character (NUL, CR, LF) is not
// copied into its claims_to_headers header: it would be a malformed header
// line upstream. The request goes on without that header.
func TestClaimsWithControlCharactersAreNotCopiedIntoHeaders(t *testing.T) {
	p := startIDP(t)
	up := startResolvingUpstream(t)
	base := startGateway(t, hostileAuthConfig(p.url, up.addr, ""), "")
	for _, sub := range []string{"x\x00X-Injected: 1", "x\r\nX-Injected: 1", "x\nX-Injected: 1"} {
		tok := p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["sub"] = sub }))
		if r := rawDo(t, base, get("/pets", "Authorization: Bearer "+tok)); r.status != 200 {
			t.Fatalf("sub %q: %d %s", sub, r.status, r.body)
		}
		h := up.last(t)
		if got := values(h, "X-User-Sub"); len(got) != 0 {
			t.Errorf("sub %q: upstream got X-User-Sub %q", sub, got)
		}
		if got := values(h, "X-Injected"); len(got) != 0 {
			t.Errorf("sub %q: upstream got X-Injected %q", sub, got)
		}
	}
	tok := p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["sub"] = "alice\tsmith" }))
	if r := rawDo(t, base, get("/pets", "Authorization: Bearer "+tok)); r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := values(up.last(t), "X-User-Sub"); len(got) != 1 || got[0] != "alice\tsmith" {
		t.Errorf("a tab is a valid header value character: X-User-Sub %q", got)
	}
}

// A Transfer-Encoding other than chunked makes the body's length unknown
// (RFC 9112 §6.3): 400, whatever Content-Length says (the attack suite
// checks that the connection closes). fasthttp would take "identity" as
// absent.
func TestTransferEncodingsOtherThanChunkedAreBadRequests(t *testing.T) {
	up := startResolvingUpstream(t)
	base := startGateway(t, proxyEverything, up.addr)
	for _, te := range []string{"identity", "IDENTITY", "Identity"} {
		raw := "POST /x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: " + te + "\r\nContent-Length: 5\r\n\r\nhello"
		if r := rawDo(t, base, raw); r.status != 400 {
			t.Errorf("Transfer-Encoding: %s: %d %s, want 400", te, r.status, r.body)
		}
	}
	if n := len(up.paths()); n != 0 {
		t.Errorf("the upstream received %d of those requests", n)
	}
	if r := rawDo(t, base, "POST /x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"); r.status != 200 {
		t.Errorf("chunked: %d %s", r.status, r.body)
	}
}
