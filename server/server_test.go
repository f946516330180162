package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/valyala/fasthttp"
)

// recorder is an upstream that answers with what it received.
type recorder struct {
	mu   sync.Mutex
	last http.Header
	path string
	addr string
}

// startServer serves h on a loopback port until the test ends and returns
// its address.
func startServer(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln) //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

func startUpstream(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		h := http.Header{}
		for k, v := range ctx.Request.Header.All() {
			h.Add(string(k), string(v))
		}
		r.mu.Lock()
		r.last, r.path = h, string(ctx.Request.RequestURI())
		r.mu.Unlock()
		switch string(ctx.Path()) {
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		case "/hop":
			ctx.Response.Header.Set("Keep-Alive", "timeout=5")
			ctx.Response.Header.Set("X-Kept", "yes")
		}
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"path":%q}`, ctx.Request.RequestURI())
	})
	return r
}

func (r *recorder) seen() (string, http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.path, r.last
}

// startGateway serves the config src (with {{UP}} replaced by the upstream
// address) on 127.0.0.1:0 and returns its base URL.
func startGateway(t *testing.T, src string, up string) string {
	t.Helper()
	return startGatewayOn(t, "127.0.0.1:0", strings.ReplaceAll(src, "{{UP}}", up))
}

// startGatewayOn serves src on addr.
func startGatewayOn(t *testing.T, addr, src string) string {
	t.Helper()
	cfg, _, err := config.Parse("test.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.http.Shutdown() })
	return "http://" + ln.Addr().String()
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, body io.Reader, headers ...string) result {
	t.Helper()
	r, err := tryDo(method, url, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for goroutines, which must not end the test: it returns
// the error instead.
func tryDo(method, url string, body io.Reader, headers ...string) (result, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return result{}, err
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}, nil
}

const priorityConfig = `
apis:
  petstore:
    integrations:
%s
    routes:
      "GET /pets/dog/1": {integration: r1}
      "GET /pets/dog/{id}": {integration: r2}
      "GET /pets/{proxy+}": {integration: r3}
      "ANY /{proxy+}": {integration: r4}
      "$default": {integration: r5}
      "GET /items": {integration: r6}
      "ANY /items": {integration: r7}
`

func mocks(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "      r%d: {type: mock, body: r%d}\n", i, i)
	}
	return b.String()
}

// The worked example of API Gateway's HTTP API routing, over TCP.
func TestRoutePriorityFollowsAPIGateway(t *testing.T) {
	base := startGateway(t, fmt.Sprintf(priorityConfig, mocks(7)), "")
	cases := []struct{ method, path, want string }{
		{"GET", "/pets/dog/1", "r1"},
		{"GET", "/pets/dog/2", "r2"},
		{"GET", "/pets/cat/1", "r3"},
		{"GET", "/pets/dog/1/toys", "r3"},
		{"GET", "/other", "r4"},
		{"POST", "/test/5", "r4"},
		{"POST", "/pets/dog/1", "r4"},
		{"GET", "/", "r5"},
		{"GET", "/items", "r6"},
		{"DELETE", "/items", "r7"},
	}
	for _, c := range cases {
		if r := do(t, c.method, base+c.path, nil); r.status != 200 || r.body != c.want {
			t.Errorf("%s %s = %d %q, want %s", c.method, c.path, r.status, r.body, c.want)
		}
	}
}

func TestParamsAndGreedyPathsReachTheUpstream(t *testing.T) {
	up := startUpstream(t)
	base := startGateway(t, `
apis:
  petstore:
    integrations:
      pet: {type: http_proxy, url: "http://{{UP}}/v2/pets/{id}"}
      files: {type: http_proxy, url: "http://{{UP}}/store/{proxy}?src=gw"}
      whole: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "GET /pets/{id}": {integration: pet}
      "ANY /files/{proxy+}": {integration: files}
      "$default": {integration: whole}
`, up.addr)
	cases := []struct{ path, want string }{
		{"/pets/42", "/v2/pets/42"},
		{"/pets/a%20b?x=1", "/v2/pets/a%20b?x=1"},
		{"/files/a/b/c.txt?v=2", "/store/a/b/c.txt?src=gw&v=2"},
		{"/any/where?q=1", "/any/where?q=1"},
	}
	for _, c := range cases {
		r := do(t, "GET", base+c.path, nil)
		got, _ := up.seen()
		if r.status != 200 || got != c.want {
			t.Errorf("GET %s reached upstream as %q (status %d), want %q", c.path, got, r.status, c.want)
		}
	}
	r := do(t, "POST", base+"/files/upload", strings.NewReader("hello"))
	if got, _ := up.seen(); r.status != 200 || got != "/store/upload?src=gw" {
		t.Errorf("POST reached upstream as %q", got)
	}
}

func TestStagePrefixSelectsStageAndIsStripped(t *testing.T) {
	up := startUpstream(t)
	base := startGateway(t, `
apis:
  shop:
    type: http
    base_path: /api
    stages:
      prod: {variables: {tag: live}}
      dev: {variables: {tag: test}}
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}/${stageVariables.tag}/{proxy}"}
    routes:
      "ANY /{proxy+}": {integration: up}
`, up.addr)
	for _, c := range []struct{ path, want string }{
		{"/api/prod/orders/1", "/live/orders/1"},
		{"/api/dev/orders/1", "/test/orders/1"},
	} {
		r := do(t, "GET", base+c.path, nil)
		if got, _ := up.seen(); r.status != 200 || got != c.want {
			t.Errorf("GET %s reached upstream as %q (%d), want %q", c.path, got, r.status, c.want)
		}
	}
	for _, p := range []string{"/api/staging/orders/1", "/api", "/elsewhere/prod/x"} {
		if r := do(t, "GET", base+p, nil); r.status != 404 || r.body != `{"message":"Not Found"}` {
			t.Errorf("GET %s = %d %s, want 404 Not Found", p, r.status, r.body)
		}
	}
}

func TestHopByHopHeadersAreDroppedAndForwardedHeadersSet(t *testing.T) {
	up := startUpstream(t)
	base := startGateway(t, `
apis:
  a:
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "$default": {integration: up}
`, up.addr)
	r := do(t, "GET", base+"/hop", nil,
		"Connection", "keep-alive, X-Secret-Hop",
		"X-Secret-Hop", "must not pass",
		"Keep-Alive", "timeout=9",
		"Proxy-Authorization", "Basic Zm9vOmJhcg==",
		"TE", "trailers",
		"X-Forwarded-For", "203.0.113.7",
		"X-End-To-End", "kept",
		"Host", "api.example.com",
	)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	_, h := up.seen()
	for _, k := range []string{"X-Secret-Hop", "Keep-Alive", "Proxy-Authorization", "Te"} {
		if v := h.Get(k); v != "" {
			t.Errorf("upstream received hop-by-hop %s: %q", k, v)
		}
	}
	if h.Get("X-End-To-End") != "kept" {
		t.Error("end-to-end header lost")
	}
	if got := h.Get("X-Forwarded-For"); got != "203.0.113.7, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", got)
	}
	if h.Get("X-Forwarded-Proto") != "http" || h.Get("X-Forwarded-Port") == "" {
		t.Errorf("X-Forwarded-Proto/Port = %q/%q", h.Get("X-Forwarded-Proto"), h.Get("X-Forwarded-Port"))
	}
	// The client's Host goes on as X-Forwarded-Host, whatever Host the
	// upstream request carries.
	if got := h.Get("X-Forwarded-Host"); got != "api.example.com" {
		t.Errorf("X-Forwarded-Host = %q, want the client's Host api.example.com", got)
	}
	if id := r.header.Get("apigw-requestid"); id == "" || h.Get("apigw-requestid") != id {
		t.Errorf("request id %q not forwarded upstream (%q)", id, h.Get("apigw-requestid"))
	}
	// The upstream learns which API the request came through by its id,
	// as API Gateway's x-amzn-apigateway-api-id tells it.
	if got := h.Get("X-Amzn-Apigateway-Api-Id"); got != config.APIID("a") {
		t.Errorf("X-Amzn-Apigateway-Api-Id = %q, want %q", got, config.APIID("a"))
	}
	if r.header.Get("Keep-Alive") != "" || r.header.Get("X-Kept") != "yes" {
		t.Errorf("response headers: Keep-Alive %q, X-Kept %q", r.header.Get("Keep-Alive"), r.header.Get("X-Kept"))
	}
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestGatewayErrorsFollowTheDialects(t *testing.T) {
	up := startUpstream(t)
	dead := closedPort(t)
	src := strings.ReplaceAll(`
server:
  max_body_bytes: 1KiB
apis:
  web:
    type: http
    base_path: /web
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}", timeout: 100ms}
      dead: {type: http_proxy, url: "http://DEAD"}
      notls: {type: http_proxy, url: "https://{{UP}}"}
    routes:
      "ANY /slow": {integration: up}
      "GET /dead": {integration: dead}
      "GET /notls": {integration: notls}
  shop:
    type: rest
    base_path: /shop
    stages: {v1: {}}
    integrations:
      up: {type: http_proxy, url: "http://{{UP}}", timeout: 100ms}
      dead: {type: http_proxy, url: "http://DEAD"}
      notls: {type: http_proxy, url: "https://{{UP}}"}
    routes:
      "ANY /slow": {integration: up}
      "GET /dead": {integration: dead}
      "GET /notls": {integration: notls}
`, "DEAD", dead)
	base := startGateway(t, src, up.addr)
	big := strings.Repeat("x", 2048)
	cases := []struct {
		name, method, path, body string
		status                   int
		msg, errorType, idHeader string
	}{
		{"http 404", "GET", "/web/nope", "", 404, `{"message":"Not Found"}`, "", "apigw-requestid"},
		{"no api 404", "GET", "/nothing", "", 404, `{"message":"Not Found"}`, "", "apigw-requestid"},
		{"http 413", "POST", "/web/slow", big, 413, `{"message":"Request Too Long"}`, "", "apigw-requestid"},
		{"http 502", "GET", "/web/dead", "", 502, `{"message":"Bad Gateway"}`, "", "apigw-requestid"},
		{"http 503 timeout", "GET", "/web/slow", "", 503, `{"message":"Service Unavailable"}`, "", "apigw-requestid"},
		{"rest 403 unknown route", "GET", "/shop/v1/nope", "", 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "x-amzn-RequestId"},
		{"rest 403 unknown stage", "GET", "/shop/v9/slow", "", 403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException", "x-amzn-RequestId"},
		{"rest 413", "POST", "/shop/v1/slow", big, 413, `{"message":"Request Too Long"}`, "RequestTooLongException", "x-amzn-RequestId"},
		// An unreachable origin is INTEGRATION_FAILURE, 504 by default; an
		// endpoint TLS fails on is a configuration error, 500.
		{"rest 504 unreachable", "GET", "/shop/v1/dead", "", 504, `{"message":"Network error communicating with endpoint"}`, "InternalServerErrorException", "x-amzn-RequestId"},
		{"rest 500 bad endpoint", "GET", "/shop/v1/notls", "", 500, `{"message":"Internal server error"}`, "InternalServerErrorException", "x-amzn-RequestId"},
		{"http 500 bad endpoint", "GET", "/web/notls", "", 500, `{"message":"Internal Server Error"}`, "", "apigw-requestid"},
		{"rest 504 timeout", "GET", "/shop/v1/slow", "", 504, `{"message":"Endpoint request timed out"}`, "InternalServerErrorException", "x-amzn-RequestId"},
		{"dot segments 400", "GET", "/web/a/%2e%2e/slow", "", 400, `{"message":"Bad Request"}`, "", "apigw-requestid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			r := do(t, c.method, base+c.path, body)
			if r.status != c.status || r.body != c.msg {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.msg)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("content-type %q", ct)
			}
			if et := r.header.Get("x-amzn-ErrorType"); et != c.errorType {
				t.Errorf("x-amzn-ErrorType %q, want %q", et, c.errorType)
			}
			if r.header.Get(c.idHeader) == "" {
				t.Errorf("missing %s", c.idHeader)
			}
		})
	}
}

func TestOversizedHeadersGet431AndTheServerKeepsServing(t *testing.T) {
	base := startGateway(t, "apis:\n  a:\n    integrations: {m: {type: mock, body: ok}}\n    routes: {$default: {integration: m}}\n", "")
	r := do(t, "GET", base+"/", nil, "X-Junk", strings.Repeat("j", 12000))
	if r.status != 431 || !strings.Contains(r.body, "Request Header Fields Too Large") {
		t.Errorf("got %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/", nil); r.status != 200 || r.body != "ok" {
		t.Errorf("after a bad request: %d %s", r.status, r.body)
	}
}

func TestMockAnswersFromConfig(t *testing.T) {
	base := startGateway(t, `
apis:
  a:
    integrations:
      m: {type: mock, status: 201, headers: {content-type: application/json, x-mock: "1"}, body: '{"ok":true}'}
    routes:
      "POST /things": {integration: m}
`, "")
	r := do(t, "POST", base+"/things", strings.NewReader("{}"))
	var v map[string]bool
	if r.status != 201 || r.header.Get("X-Mock") != "1" || json.Unmarshal([]byte(r.body), &v) != nil || !v["ok"] {
		t.Errorf("got %d %v %s", r.status, r.header, r.body)
	}
}

func TestKeepAliveConnectionsAreReusedUpstream(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		conns[ctx.RemoteAddr().String()] = true
		mu.Unlock()
		ctx.SetBody(bytes.Repeat([]byte("z"), 100))
	})
	base := startGateway(t, "apis:\n  a:\n    integrations: {u: {type: http_proxy, url: \"http://{{UP}}\"}}\n    routes: {$default: {integration: u}}\n", up)
	for i := 0; i < 50; i++ {
		if r := do(t, "GET", base+"/x", nil); r.status != 200 || len(r.body) != 100 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) > 2 {
		t.Errorf("50 sequential requests used %d upstream connections", len(conns))
	}
}
