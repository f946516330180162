package tracing_test

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/servertest"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// span is one span as the collector received it.
type span struct {
	traceID, spanID, parentID string
	name                      string
	kind                      tracepb.Span_SpanKind
	attrs                     map[string]string
	service                   string
}

// collector is an OTLP/HTTP trace receiver: it decodes each export with
// the OTLP protobuf definitions and keeps the spans.
type collector struct {
	url      string
	mu       sync.Mutex
	spans    []span
	requests int
	// failed holds the ids of spans with an error status.
	failed map[string]bool
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{failed: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(body, &req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.requests++
		for _, rs := range req.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					sp := span{traceID: hex.EncodeToString(s.GetTraceId()), spanID: hex.EncodeToString(s.GetSpanId()),
						parentID: hex.EncodeToString(s.GetParentSpanId()), name: s.GetName(), kind: s.GetKind(),
						attrs: map[string]string{}, service: service}
					for _, a := range s.GetAttributes() {
						v := a.GetValue()
						switch {
						case v.GetStringValue() != "":
							sp.attrs[a.GetKey()] = v.GetStringValue()
						default:
							sp.attrs[a.GetKey()] = strconv.FormatInt(v.GetIntValue(), 10)
						}
					}
					c.spans = append(c.spans, sp)
					if s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR {
						c.failed[sp.spanID] = true
					}
				}
			}
		}
		c.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out) //nolint:errcheck // the exporter reads it
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln) //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { srv.Close() })
	c.url = "http://" + ln.Addr().String()
	return c
}

// waitSpans waits until the collector holds spans that match, or fails
// after 15 seconds.
func (c *collector) waitSpans(t *testing.T, what string, match func([]span) bool) []span {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.mu.Lock()
		got := slices.Clone(c.spans)
		c.mu.Unlock()
		if match(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector: no %s within 15s; got %+v", what, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *collector) received() (requests, spans int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests, len(c.spans)
}

func find(spans []span, f func(span) bool) (span, bool) {
	for _, s := range spans {
		if f(s) {
			return s, true
		}
	}
	return span{}, false
}

// upstream records the trace headers it receives.
type upstream struct {
	addr string
	mu   sync.Mutex
	seen []http.Header
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		h := http.Header{}
		for _, k := range []string{"Traceparent", "Tracestate", "X-Amzn-Trace-Id"} {
			if v := ctx.Request.Header.Peek(k); len(v) > 0 {
				h.Set(k, string(v))
			}
		}
		u.mu.Lock()
		u.seen = append(u.seen, h)
		u.mu.Unlock()
		ctx.SetBodyString("ok")
	}}
	go s.Serve(ln)                     //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.Shutdown() }) //nolint:errcheck // ours
	u.addr = ln.Addr().String()
	return u
}

func (u *upstream) last(t *testing.T) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the upstream got no request")
	}
	return u.seen[len(u.seen)-1]
}

// frontdesk is a running server: data and adm are its base URLs, stop
// shuts it down, which sends the spans it holds.
type frontdesk struct {
	data, adm string
	in        *servertest.Instance
}

func (f *frontdesk) stop() { f.in.Stop() }

// start serves src (tracing section included) with an admin listener.
func start(t *testing.T, src string) *frontdesk {
	t.Helper()
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	in := servertest.Start(t, cfg)
	return &frontdesk{data: in.Data, adm: in.Admin, in: in}
}

func get(t *testing.T, url string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func tracedConfig(collector, up, extra string, ratio string) string {
	return fmt.Sprintf(`
tracing:
  otlp_endpoint: %s
  sample_ratio: %s
  service_name: edge-gw
  headers: {x-collector-key: secret-value}
%s
apis:
  shop:
    integrations:
      up: {type: http_proxy, url: "http://%s"}
    routes:
      "GET /items/{id}": {integration: up}
      "GET /cached": {integration: up, cache: {ttl: 60s}}
`, collector, ratio, extra, up)
}

// traceparent's fields: version-traceid-parentid-flags.
func traceparentParts(t *testing.T, v string) (traceID, parentID, flags string) {
	t.Helper()
	p := strings.Split(v, "-")
	if len(p) != 4 || len(p[1]) != 32 || len(p[2]) != 16 {
		t.Fatalf("traceparent %q is malformed", v)
	}
	return p[1], p[2], p[3]
}

const (
	clientTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientParent = "00f067aa0ba902b7"
)

// A request with a traceparent yields a server span in that trace, with
// the HTTP semantic conventions' attributes and the route, and a child
// client span for the upstream call; the upstream is called with a
// traceparent of the same trace whose parent is that client span; the
// access log names the trace.
func TestTraceparentContinuesTheTraceToTheUpstream(t *testing.T) {
	col := startCollector(t)
	up := startUpstream(t)
	logPath := filepath.Join(t.TempDir(), "access.log")
	f := start(t, tracedConfig(col.url, up.addr, "access_log: {output: "+logPath+"}", "1"))

	status, _ := get(t, f.data+"/items/42?color=red", "traceparent", "00-"+clientTrace+"-"+clientParent+"-01", "tracestate", "vendor=abc")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	spans := col.waitSpans(t, "server and upstream spans", func(s []span) bool { return len(s) >= 2 })
	srv, ok := find(spans, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_SERVER })
	if !ok {
		t.Fatalf("no server span: %+v", spans)
	}
	if srv.traceID != clientTrace || srv.parentID != clientParent {
		t.Errorf("server span trace %s parent %s, want %s %s", srv.traceID, srv.parentID, clientTrace, clientParent)
	}
	wantAttrs := map[string]string{
		"http.request.method": "GET", "http.response.status_code": "200", "url.path": "/items/42",
		"url.query": "color=red", "url.scheme": "http", "http.route": "/items/{id}",
		"frontdesk.api_id": config.APIID("shop"), "frontdesk.stage": "$default", "frontdesk.route_key": "GET /items/{id}",
	}
	for k, v := range wantAttrs {
		if srv.attrs[k] != v {
			t.Errorf("server span %s = %q, want %q", k, srv.attrs[k], v)
		}
	}
	if srv.name != "GET /items/{id}" || srv.service != "edge-gw" {
		t.Errorf("server span name %q service %q", srv.name, srv.service)
	}
	cl, ok := find(spans, func(s span) bool { return s.kind == tracepb.Span_SPAN_KIND_CLIENT })
	if !ok {
		t.Fatalf("no client span: %+v", spans)
	}
	if cl.traceID != clientTrace || cl.parentID != srv.spanID || cl.attrs["http.response.status_code"] != "200" {
		t.Errorf("client span %+v, want a child of %s with status 200", cl, srv.spanID)
	}
	h := up.last(t)
	tid, parent, flags := traceparentParts(t, h.Get("Traceparent"))
	if tid != clientTrace || parent != cl.spanID || flags != "01" {
		t.Errorf("upstream traceparent %q, want trace %s parent %s sampled", h.Get("Traceparent"), clientTrace, cl.spanID)
	}
	if h.Get("Tracestate") != "vendor=abc" {
		t.Errorf("upstream tracestate %q", h.Get("Tracestate"))
	}
	if want := "Root=1-" + clientTrace[:8] + "-" + clientTrace[8:] + ";Parent=" + cl.spanID + ";Sampled=1"; h.Get("X-Amzn-Trace-Id") != want {
		t.Errorf("upstream X-Amzn-Trace-Id %q, want %q", h.Get("X-Amzn-Trace-Id"), want)
	}

	// The cache's decision is a span of the request.
	get(t, f.data+"/cached", "traceparent", "00-"+clientTrace+"-"+clientParent+"-01")
	col.waitSpans(t, "a cache span", func(s []span) bool {
		_, ok := find(s, func(s span) bool { return s.name == "cache" && s.attrs["frontdesk.cache.result"] == "miss" })
		return ok
	})

	// The collector's key is masked in the effective config.
	if _, cfg := get(t, f.adm+"/config"); strings.Contains(cfg, "secret-value") || !strings.Contains(cfg, "secr****") {
		t.Errorf("tracing.headers in /config:\n%s", cfg)
	}

	f.stop() // writes the access log out
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var rec map[string]any
	if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["traceId"] != clientTrace {
		t.Errorf("access log line %s: traceId %v, want %s (%v)", line, rec["traceId"], clientTrace, err)
	}
}

// X-Amzn-Trace-Id alone starts the trace: with a Parent the server span
// is its child, with only a Root it is a root span of that trace.
func TestXAmznTraceIDAloneStartsTheTrace(t *testing.T) {
	col := startCollector(t)
	up := startUpstream(t)
	f := start(t, tracedConfig(col.url, up.addr, "", "1"))
	cases := []struct {
		name, header, wantTrace, wantParent string
	}{
		{"root, parent and sampled", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			"5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"},
		{"root only", "Root=1-6759e988-cd862e3fe1be46a994272794", "6759e988cd862e3fe1be46a994272794", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if status, _ := get(t, f.data+"/items/1", "X-Amzn-Trace-Id", c.header); status != 200 {
				t.Fatalf("status %d", status)
			}
			spans := col.waitSpans(t, "the server span", func(s []span) bool {
				_, ok := find(s, func(s span) bool { return s.traceID == c.wantTrace && s.kind == tracepb.Span_SPAN_KIND_SERVER })
				return ok
			})
			srv, _ := find(spans, func(s span) bool { return s.traceID == c.wantTrace && s.kind == tracepb.Span_SPAN_KIND_SERVER })
			if srv.parentID != c.wantParent {
				t.Errorf("server span parent %q, want %q", srv.parentID, c.wantParent)
			}
			if tid, _, _ := traceparentParts(t, up.last(t).Get("Traceparent")); tid != c.wantTrace {
				t.Errorf("upstream traceparent trace %s, want %s", tid, c.wantTrace)
			}
		})
	}
}

var (
	fnOnce sync.Once
	fnPath string
	fnErr  error
)

// traceFunction builds testdata/tracefn once per test binary.
func traceFunction(t *testing.T) string {
	t.Helper()
	fnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "frontdesk-tracefn")
		if err != nil {
			fnErr = err
			return
		}
		fnPath = filepath.Join(dir, "bootstrap")
		if out, err := exec.Command("go", "build", "-o", fnPath, "./testdata/tracefn").CombinedOutput(); err != nil {
			fnErr = fmt.Errorf("build the test function: %v\n%s", err, out)
		}
	})
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	return fnPath
}

// A Lambda handler (aws-lambda-go, run as a local function) sees
// _X_AMZN_TRACE_ID in the request's trace, as does its event's
// X-Amzn-Trace-Id header; the invocation is a span of the request.
func TestLambdaHandlerSeesTheTraceRoot(t *testing.T) {
	col := startCollector(t)
	f := start(t, fmt.Sprintf(`
tracing: {otlp_endpoint: %s, sample_ratio: 1}
functions:
  fn: {command: [%q], timeout: 5s}
apis:
  web:
    integrations: {fn: {type: lambda, function: fn}}
    routes: {"GET /fn": {integration: fn}}
`, col.url, traceFunction(t)))
	status, body := get(t, f.data+"/fn", "traceparent", "00-"+clientTrace+"-"+clientParent+"-01")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var got struct{ Env, Header string }
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	root := "Root=1-" + clientTrace[:8] + "-" + clientTrace[8:]
	if !strings.HasPrefix(got.Env, root+";") || !strings.HasSuffix(got.Env, ";Sampled=1") {
		t.Errorf("_X_AMZN_TRACE_ID %q, want %s;Parent=…;Sampled=1", got.Env, root)
	}
	if got.Header != got.Env {
		t.Errorf("event X-Amzn-Trace-Id %q, want the runtime's %q", got.Header, got.Env)
	}
	spans := col.waitSpans(t, "the invocation span", func(s []span) bool {
		_, ok := find(s, func(s span) bool { return s.name == "invoke fn" })
		return ok
	})
	inv, _ := find(spans, func(s span) bool { return s.name == "invoke fn" })
	if want := root + ";Parent=" + inv.spanID + ";Sampled=1"; got.Env != want {
		t.Errorf("_X_AMZN_TRACE_ID %q, want the invocation span as parent: %q", got.Env, want)
	}
}

// sample_ratio 0 records and sends nothing, even for a caller that
// sampled its trace; the context still reaches the upstream.
func TestSampleRatioZeroSendsNothing(t *testing.T) {
	col := startCollector(t)
	up := startUpstream(t)
	f := start(t, tracedConfig(col.url, up.addr, "", "0"))
	for i := range 20 {
		h := []string{}
		if i%2 == 0 {
			h = []string{"traceparent", "00-" + clientTrace + "-" + clientParent + "-01"}
		}
		if status, _ := get(t, f.data+"/items/"+strconv.Itoa(i), h...); status != 200 {
			t.Fatalf("status %d", status)
		}
	}
	if tid, _, flags := traceparentParts(t, up.last(t).Get("Traceparent")); tid == "" || flags != "00" {
		t.Errorf("upstream traceparent %q: want a trace, not sampled", up.last(t).Get("Traceparent"))
	}
	// Shutting down sends whatever the tracer holds: nothing.
	f.stop()
	if reqs, spans := col.received(); reqs != 0 || spans != 0 {
		t.Errorf("collector got %d exports, %d spans; want none", reqs, spans)
	}
}

// load sends n requests from 4 clients and returns the latencies, sorted.
func load(t *testing.T, url string, n int) []time.Duration {
	t.Helper()
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	var wg sync.WaitGroup
	per := n / 4
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second}
			for i := 0; i < per; i++ {
				start := time.Now()
				resp, err := client.Get(url)
				d := time.Since(start)
				mu.Lock()
				if err != nil || resp.StatusCode != 200 {
					failed++
				}
				lat = append(lat, d)
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body) //nolint:errcheck // load only
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Fatalf("%d of %d requests failed", failed, n)
	}
	slices.Sort(lat)
	return lat
}

func p99(lat []time.Duration) time.Duration { return lat[len(lat)*99/100] }

func metric(t *testing.T, adm, name string) float64 {
	t.Helper()
	resp, err := http.Get(adm + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// A collector that never answers slows no request: the same load with
// tracing to it has the p99 of the load without tracing, within noise,
// and the spans that did not fit the export queue are counted as dropped.
func TestUnreachableCollectorSlowsNoRequest(t *testing.T) {
	up := startUpstream(t)
	const n = 2000 // 4,000 spans: more than the queue (2,048) and a batch (512) hold
	plain := start(t, tracedConfig("", up.addr, "", "1"))
	load(t, plain.data+"/items/1", 200) // warm up
	base := load(t, plain.data+"/items/1", n)

	f := start(t, tracedConfig("http://"+testdeps.HangingAddr(t), up.addr, "", "1"))
	load(t, f.data+"/items/1", 200)
	traced := load(t, f.data+"/items/1", n)
	t.Logf("p50/p99 without tracing %v/%v, with a hung collector %v/%v",
		base[len(base)/2], p99(base), traced[len(traced)/2], p99(traced))
	// Noise on a shared machine is a few milliseconds; a request that
	// waited for the exporter would wait its 10 s timeout.
	if limit := 3*p99(base) + 50*time.Millisecond; p99(traced) > limit {
		t.Errorf("p99 with a hung collector %v, over %v (3× the p99 without tracing + 50ms)", p99(traced), limit)
	}
	if d := metric(t, f.adm, "frontdesk_tracing_spans_dropped_total"); d < 1 {
		t.Errorf("frontdesk_tracing_spans_dropped_total = %v, want drops", d)
	}
}

// jwks serves one RSA key's JSON Web Key Set and signs tokens with it.
func jwks(t *testing.T) (url string, sign func(jwt.MapClaims) string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(set) //nolint:errcheck // test server
	})}
	go srv.Serve(ln) //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/jwks.json", func(c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// The authorizer's call is a span of the request, failed when it refused.
func TestAuthorizerCallIsASpan(t *testing.T) {
	col := startCollector(t)
	up := startUpstream(t)
	jwksURL, sign := jwks(t)
	f := start(t, fmt.Sprintf(`
tracing: {otlp_endpoint: %s, sample_ratio: 1}
apis:
  shop:
    authorizers:
      users: {type: jwt, issuer: "https://issuer.test/", audience: [shop], jwks_url: %q}
    integrations: {up: {type: http_proxy, url: "http://%s"}}
    routes: {"GET /me": {integration: up, authorizer: users}}
`, col.url, jwksURL, up.addr))
	good := sign(jwt.MapClaims{"iss": "https://issuer.test/", "aud": "shop", "sub": "ada", "exp": time.Now().Add(time.Hour).Unix()})
	cases := []struct {
		name, token, trace string
		status             int
		failed             bool
	}{
		{"a valid token", good, "11111111111111111111111111111111", 200, false},
		{"a forged token", good[:len(good)-4] + "AAAA", "22222222222222222222222222222222", 401, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := get(t, f.data+"/me", "Authorization", "Bearer "+c.token, "traceparent", "00-"+c.trace+"-"+clientParent+"-01")
			if status != c.status {
				t.Fatalf("status %d: %s", status, body)
			}
			spans := col.waitSpans(t, "the authorizer span", func(s []span) bool {
				_, ok := find(s, func(s span) bool { return s.traceID == c.trace && s.name == "authorizer jwt" })
				return ok
			})
			auth, _ := find(spans, func(s span) bool { return s.traceID == c.trace && s.name == "authorizer jwt" })
			srv, _ := find(spans, func(s span) bool { return s.traceID == c.trace && s.kind == tracepb.Span_SPAN_KIND_SERVER })
			if auth.parentID != srv.spanID || auth.attrs["frontdesk.authorizer.type"] != "jwt" {
				t.Errorf("authorizer span %+v, want a child of the server span %s", auth, srv.spanID)
			}
			col.mu.Lock()
			failed := col.failed[auth.spanID]
			col.mu.Unlock()
			if failed != c.failed {
				t.Errorf("authorizer span failed: %v, want %v", failed, c.failed)
			}
		})
	}
}
