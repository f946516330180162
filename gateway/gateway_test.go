package gateway

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"github.com/frontdeskgw/frontdesk/exchange"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

const benchConfig = `
apis:
  petstore:
    type: http
    integrations:
      up:
        type: http_proxy
        url: "http://upstream.test:80/pets/{id}"
      ping:
        type: mock
        headers: {content-type: application/json}
        body: '{"pong":true}'
    routes:
      "GET /pets/{id}": {integration: up}
      "GET /ping": {integration: ping}
`

// newTestGateway compiles src with upstreams served in memory by h.
func newTestGateway(t testing.TB, src string, h fasthttp.RequestHandler) *Gateway {
	return newGateway(t, src, h, nil, nil)
}

// newTestGatewayWithCache is newTestGateway with a 64 MiB response cache.
func newTestGatewayWithCache(t testing.TB, src string, h fasthttp.RequestHandler) *Gateway {
	store, err := cache.New(cache.Config{MaxSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return newGateway(t, src, h, store, nil)
}

func newGateway(t testing.TB, src string, h fasthttp.RequestHandler, store *cache.Store, reg *metrics.Registry) *Gateway {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	t.Cleanup(func() { ln.Close() })
	go fasthttp.Serve(ln, h) //nolint:errcheck // ends when ln closes
	cfg, _, err := config.Parse("bench.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	regs := &Registries{Pools: &proxy.Pools{Dial: func(string) (net.Conn, error) { return ln.Dial() }}}
	p := regs.Begin()
	snap, err := Compile(cfg, Deps{Pending: p, Cache: store, XCache: true, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	p.Commit()
	return New(snap, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

var petBody = []byte(`{"id":42,"name":"Rex","kind":"dog"}`)

func petUpstream(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBody(petBody)
}

func newCtx(method, uri string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("gw.test")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5555}, nil)
	return ctx
}

// serveLoop serves ctx b.N times, checking each answer is a 200 and
// consuming it as the server would.
func serveLoop(b *testing.B, g *Gateway, ctx *fasthttp.RequestCtx) {
	// Steady state only: the first requests dial the upstream, fill the
	// pools and create metric series, once per process.
	for range 100 {
		g.Handle(ctx)
		drain(ctx)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode(), string(ctx.Response.Body()))
		}
		drain(ctx)
	}
}

// drain consumes the response as the server would after the handler.
func drain(ctx *fasthttp.RequestCtx) {
	_ = ctx.Response.BodyWriteTo(io.Discard)
	ctx.Response.Reset()
}

func TestPanicInRequestPathBecomes500AndServingGoesOn(t *testing.T) {
	g := newTestGateway(t, benchConfig, petUpstream)
	s := g.Snapshot()
	s.apis[0].def.integrations[1] = panicking{} // GET /ping
	ctx := newCtx("GET", "/ping")
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 500 || !strings.Contains(string(ctx.Response.Body()), "Internal Server Error") {
		t.Fatalf("panic answered %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if len(ctx.Response.Header.Peek("apigw-requestid")) == 0 {
		t.Error("the 500 must carry the request id")
	}
	ctx = newCtx("GET", "/pets/42")
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != string(petBody) {
		t.Fatalf("after a panic: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

type panicking struct{}

func (panicking) Serve(*exchange.Exchange) { panic("boom") }

func BenchmarkMockRoute(b *testing.B) {
	g := newTestGateway(b, benchConfig, petUpstream)
	serveLoop(b, g, newCtx("GET", "/ping"))
}

// BenchmarkProxyGET is a proxied GET through the whole handler to an
// upstream served in memory: route match, upstream request, response.
func BenchmarkProxyGET(b *testing.B) {
	g := newTestGateway(b, benchConfig, petUpstream)
	ctx := newCtx("GET", "/pets/42?verbose=1")
	ctx.Request.Header.Set("Accept", "application/json")
	ctx.Request.Header.Set("User-Agent", "bench/1.0")
	serveLoop(b, g, ctx)
}

const keyedConfig = `
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: basic}
usage_plans:
  basic: {throttle: {rate: 1e9, burst: 1000000}, quota: {limit: 1000000000000, period: month}, apis: [petstore]}
apis:
  petstore:
    type: http
    integrations:
      up: {type: http_proxy, url: "http://upstream.test:80/pets/{id}"}
    routes:
      "GET /pets/{id}": {integration: up, api_key: true, throttle: {rate: 1e9, burst: 1000000, per: client_ip}}
`

// BenchmarkProxyGETWithAPIKeyAndThrottle is the proxied GET through a route
// that checks an API key, its plan's throttle and quota, and a per-client
// throttle.
func BenchmarkProxyGETWithAPIKeyAndThrottle(b *testing.B) {
	g := newTestGateway(b, keyedConfig, petUpstream)
	ctx := newCtx("GET", "/pets/42")
	ctx.Request.Header.Set("X-API-Key", "alice-key-0123456789abcdef")
	serveLoop(b, g, ctx)
}

const cachedConfig = `
apis:
  petstore:
    type: http
    integrations:
      up: {type: http_proxy, url: "http://upstream.test:80/pets/{id}"}
    routes:
      "GET /pets/{id}": {integration: up, cache: {ttl: 3600s, key: [path.id]}}
`

// BenchmarkCacheHit serves a 1 KiB cached response through the whole
// handler.
func BenchmarkCacheHit(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	g := newTestGatewayWithCache(b, cachedConfig, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(body)
	})
	ctx := newCtx("GET", "/pets/42")
	g.Handle(ctx)
	drain(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) != 1024 {
			b.Fatal(ctx.Response.StatusCode())
		}
		drain(ctx)
	}
}

// BenchmarkProxyGETWithJWT is the proxied GET through a JWT-protected
// route, keys fetched and the token's verification cached.
func BenchmarkProxyGETWithJWT(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	jwks := fmt.Sprintf(`{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","n":%q,"e":"AQAB"}]}`,
		base64.RawURLEncoding.EncodeToString(key.N.Bytes()))
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(jwks) }}
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Shutdown()
	g := newTestGateway(b, fmt.Sprintf(`
apis:
  petstore:
    authorizers:
      users: {type: jwt, issuer: "https://issuer.test/", audience: [petstore], jwks_url: "http://%s/jwks"}
    integrations:
      up: {type: http_proxy, url: "http://upstream.test:80/pets/{id}"}
    routes:
      "GET /pets/{id}": {integration: up, authorizer: users, scopes: ["pets:read"]}
`, ln.Addr()), petUpstream)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://issuer.test/", "aud": "petstore",
		"sub": "u1", "scope": "pets:read", "exp": time.Now().Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	ctx := newCtx("GET", "/pets/42")
	ctx.Request.Header.Set("Authorization", "Bearer "+signed)
	serveLoop(b, g, ctx)
}

// BenchmarkProxyGETObserved is BenchmarkProxyGET with the access log (JSON,
// to a discarding writer) and metrics on.
func BenchmarkProxyGETObserved(b *testing.B) {
	reg, err := metrics.New(metrics.Options{})
	if err != nil {
		b.Fatal(err)
	}
	g := newGateway(b, benchConfig, petUpstream, nil, reg)
	// The logger's queue is allocated by New, so even a short run counts
	// no growth of it.
	l, err := accesslog.New(accesslog.Options{Output: "bench", Writer: io.Discard, Format: accesslog.FormatJSON})
	if err != nil {
		b.Fatal(err)
	}
	g.SetMetrics(reg)
	g.SetAccessLog(l)
	ctx := newCtx("GET", "/pets/42?verbose=1")
	ctx.Request.Header.Set("User-Agent", "bench/1.0")
	serveLoop(b, g, ctx)
	b.StopTimer()
	l.Close() // flushes, so the counts are final
	if st := l.Stats(); st.Lines+st.Dropped < uint64(b.N) {
		b.Fatalf("%d requests, %d lines logged, %d dropped", b.N, st.Lines, st.Dropped)
	}
}
