package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"
)

// startFromFile serves the config file at path with an admin listener, both
// on 127.0.0.1:0.
func startFromFile(t *testing.T, path string) (*Server, string, string) {
	t.Helper()
	cfg, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Admin.Listen = "127.0.0.1:0"
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	aln, _ := net.Listen("tcp", "127.0.0.1:0")
	s.UseListener(ln)
	s.UseAdminListener(aln)
	go s.Serve() //nolint:errcheck
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	for !s.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	return s, "http://" + ln.Addr().String(), "http://" + aln.Addr().String()
}

func versionConfig(v int, upstream string) string {
	return fmt.Sprintf(`
apis:
  a:
    integrations:
      version: {type: mock, body: "%d"}
      only: {type: mock, body: "only-%d"}
      up: {type: http_proxy, url: "http://%s"}
    routes:
      "GET /version": {integration: version}
      "GET /only-%d": {integration: only}
      "GET /up": {integration: up}
`, v, v, upstream, v)
}

func writeFile(t *testing.T, path, src string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func namedUpstream(t *testing.T, name string) string {
	return startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(name) })
}

func TestBrokenReloadIsRefusedAndTheOldConfigKeepsServing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	up := namedUpstream(t, "A")
	writeFile(t, path, versionConfig(1, up))
	_, base, adm := startFromFile(t, path)

	writeFile(t, path, "apis:\n  a:\n    routes:\n      \"GET /x\": {integration: nowhere}\n      \"BREW /x\": {integration: nowhere}\n")
	resp, err := http.Post(adm+"/reload", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 400 || len(body.Errors) != 3 {
		t.Fatalf("reload answered %d %+v", resp.StatusCode, body)
	}
	for _, e := range body.Errors {
		if !strings.Contains(e, "frontdesk.yaml:") {
			t.Errorf("error without file:line: %s", e)
		}
	}
	if r := do(t, "GET", base+"/version", nil); r.body != "1" {
		t.Errorf("after a refused reload: %d %s", r.status, r.body)
	}

	writeFile(t, path, versionConfig(2, up))
	if r := do(t, "POST", adm+"/reload", nil); r.status != 200 {
		t.Fatalf("valid reload: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/version", nil); r.body != "2" {
		t.Errorf("after reload: %s", r.body)
	}
	if r := do(t, "GET", base+"/only-1", nil); r.status != 404 {
		t.Errorf("removed route still served: %d", r.status)
	}
	m := do(t, "GET", adm+"/metrics", nil)
	if !strings.Contains(m.body, `frontdesk_config_reloads_total{result="success"} 1`) ||
		!strings.Contains(m.body, `frontdesk_config_reloads_total{result="failure"} 1`) ||
		!strings.Contains(m.body, "frontdesk_config_last_reload_successful 1") {
		t.Errorf("metrics:\n%s", m.body)
	}
}

func TestConfigFileChangeIsPickedUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	up := namedUpstream(t, "A")
	writeFile(t, path, versionConfig(1, up))
	s, base, _ := startFromFile(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Watch(ctx); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, versionConfig(7, up))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r := do(t, "GET", base+"/version", nil); r.body == "7" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("file change not applied within 5 s")
}

func TestAdminEndpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, versionConfig(1, namedUpstream(t, "A"))+`
api_keys:
  - {name: alice, value: "abcdefghijklmnopqrstuvwxyz"}
`)
	_, _, adm := startFromFile(t, path)
	for _, c := range []struct {
		path string
		want string
	}{
		{"/healthz", `"ok"`},
		{"/readyz", `"ready"`},
		{"/routes", `"routeKey": "GET /version"`},
		{"/config", "abcd****"},
	} {
		r := do(t, "GET", adm+c.path, nil)
		if r.status != 200 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %s", c.path, r.status, r.body)
		}
		if strings.Contains(r.body, "abcdefghijklmnop") {
			t.Errorf("%s leaks an API key", c.path)
		}
	}
}

// Steady load while the config is reloaded 50 times: routes added and
// removed, the upstream changed. No request may fail, and each response
// must come from a snapshot that was current at some point while the
// request was in flight.
func TestReloadUnderLoadDropsNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("load test; runs in make test")
	}
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	ups := []string{namedUpstream(t, "A"), namedUpstream(t, "B")}
	writeFile(t, path, versionConfig(0, ups[0]))
	s, base, _ := startFromFile(t, path)

	var committed atomic.Int64 // highest version whose Reload returned
	var sent, failed, stale atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			c := &fasthttp.Client{MaxConnsPerHost: 4}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := "/version"
				if i%2 == 1 {
					path = "/up"
				}
				req.SetRequestURI(base + path)
				before := committed.Load()
				err := c.DoTimeout(req, resp, 5*time.Second)
				after := committed.Load()
				sent.Add(1)
				if err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
					t.Errorf("%s: %v %d %s", path, err, resp.StatusCode(), resp.Body())
					continue
				}
				if path == "/version" {
					v, _ := strconv.ParseInt(string(resp.Body()), 10, 64)
					// The version may be one ahead of `after`: Reload swaps
					// before it returns.
					if v < before || v > after+1 {
						stale.Add(1)
						t.Errorf("response from version %d, current was %d..%d", v, before, after)
					}
				}
			}
		}(w)
	}
	// Reloads are paced by answered requests, not by time, so that each
	// one meets traffic however slowly the machine runs.
	const reloads, between = 50, 20
	defer func() { close(stop); wg.Wait() }()
	for v := 1; v <= reloads; v++ {
		mark := sent.Load()
		waitFor(t, fmt.Sprintf("%d requests before reload %d", between, v), 30*time.Second, func() bool {
			return sent.Load() >= mark+between
		})
		writeFile(t, path, versionConfig(v, ups[v%2]))
		if err := s.Reload(); err != nil {
			t.Fatalf("reload %d: %v", v, err)
		}
		committed.Store(int64(v))
	}
	mark := sent.Load()
	waitFor(t, "requests after the last reload", 30*time.Second, func() bool { return sent.Load() >= mark+between })
	t.Logf("requests %d, failed %d, stale %d, reloads %d", sent.Load(), failed.Load(), stale.Load(), s.Reloads())
}

// /metrics parses with Prometheus's own text parser and counts what was
// sent.
func TestMetricsCountWhatWasSent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	dead := closedPort(t)
	writeFile(t, path, fmt.Sprintf(`
apis:
  a:
    integrations:
      m: {type: mock, body: ok}
      dead: {type: http_proxy, url: "http://%s"}
    routes:
      "GET /ok": {integration: m}
      "GET /dead": {integration: dead}
      "GET /limited": {integration: m, throttle: {rate: 1, burst: 1}}
`, dead))
	_, base, adm := startFromFile(t, path)
	for i := 0; i < 7; i++ {
		do(t, "GET", base+"/ok", nil)
	}
	for i := 0; i < 3; i++ {
		do(t, "POST", base+"/nowhere", nil)
	}
	do(t, "GET", base+"/dead", nil)
	do(t, "GET", base+"/limited", nil)
	do(t, "GET", base+"/limited", nil)
	r := do(t, "GET", adm+"/metrics", nil)
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, r.body)
	}
	count := func(family string, labels map[string]string) float64 {
		f := families[family]
		if f == nil {
			t.Fatalf("no %s in /metrics", family)
		}
		var sum float64
		for _, m := range f.GetMetric() {
			match := true
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					match = false
				}
			}
			if match && m.GetCounter() != nil {
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	reqFamily := "frontdesk_requests_total"
	if families[reqFamily] == nil {
		t.Fatalf("no %s among %v", reqFamily, names)
	}
	if got := count(reqFamily, map[string]string{"api": "a", "route": "GET /ok", "method": "GET", "status": "2xx"}); got != 7 {
		t.Errorf("GET /ok 2xx = %v, want 7", got)
	}
	if got := count(reqFamily, map[string]string{"api": "a", "route": "-", "method": "POST", "status": "4xx"}); got != 3 {
		t.Errorf("unmatched POST 4xx = %v, want 3", got)
	}
	if got := count(reqFamily, map[string]string{"api": "a", "route": "GET /dead", "status": "5xx"}); got != 1 {
		t.Errorf("GET /dead 5xx = %v, want 1", got)
	}
	if got := count("frontdesk_throttled_requests_total", map[string]string{"api": "a", "level": "route"}); got != 1 {
		t.Errorf("throttled by route = %v, want 1", got)
	}
	if got := count("frontdesk_upstream_errors_total", map[string]string{"api": "a", "kind": "connect"}); got != 1 {
		t.Errorf("upstream connect errors = %v, want 1", got)
	}
	for _, want := range []string{"frontdesk_requests_in_flight", "go_goroutines", "frontdesk_request_duration_seconds"} {
		if families[want] == nil && !strings.Contains(r.body, want) {
			t.Errorf("missing %s", want)
		}
	}
	t.Logf("families: %d", len(families))
}

func TestAccessLogLinesCarryContextFields(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	path := filepath.Join(dir, "frontdesk.yaml")
	writeFile(t, path, fmt.Sprintf(`
access_log: {output: %q, format: json}
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: p}
usage_plans:
  p: {apis: [a]}
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /pets/{id}": {integration: m, api_key: true}
`, logPath))
	s, base, _ := startFromFile(t, path)
	r := do(t, "GET", base+"/pets/7?x=1", nil, "X-API-Key", "alice-key-0123456789abcdef", "User-Agent", "test-agent")
	if r.status != 200 {
		t.Fatal(r.status)
	}
	do(t, "GET", base+"/nope", nil)
	s.gw.AccessLog().Close() // flush
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got:\n%s", b)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"requestId": r.header.Get("apigw-requestid"), "ip": "127.0.0.1", "httpMethod": "GET",
		"routeKey": "GET /pets/{id}", "path": "/pets/7", "status": float64(200), "protocol": "HTTP/1.1",
		"responseLength": float64(2), "apiId": config.APIID("a"), "stage": "$default", "userAgent": "test-agent"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %v, want %v", k, first[k], v)
		}
	}
	if strings.Contains(string(b), "alice-key-0123456789abcdef") || !strings.HasPrefix(fmt.Sprint(first["apiKey"]), "alic") {
		t.Errorf("API key not masked: %v", first["apiKey"])
	}
	if _, ok := first["requestTime"].(string); !ok {
		t.Error("requestTime missing")
	}
}

// access_log.format: clf reaches the logger: the server writes API
// Gateway's CLF preset (ip - - [time] "method routeKey protocol" status
// length requestId), not JSON.
func TestAccessLogFormatCLFWritesCommonLogLines(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	path := filepath.Join(dir, "frontdesk.yaml")
	writeFile(t, path, fmt.Sprintf(`
access_log: {output: %q, format: clf}
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /pets/{id}": {integration: m}
`, logPath))
	s, base, _ := startFromFile(t, path)
	r := do(t, "GET", base+"/pets/7", nil)
	if r.status != 200 {
		t.Fatal(r.status)
	}
	s.gw.AccessLog().Close() // flush
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	line := string(b)
	clf := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET GET /pets/\{id\} HTTP/1\.1" 200 2 (\S+)\n$`)
	m := clf.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("access log is not one CLF line:\n%q", line)
	}
	if id := r.header.Get("apigw-requestid"); m[1] != id {
		t.Errorf("CLF line ends with request id %q, want %q", m[1], id)
	}
}

// An origin that leaves the config keeps no connection from frontdesk
// open: its pool is retired when the new config is in use.
func TestReloadClosesConnectionsToARemovedOrigin(t *testing.T) {
	var open atomic.Int32
	old := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("old") },
		ConnState: func(_ net.Conn, st fasthttp.ConnState) {
			switch st {
			case fasthttp.StateNew:
				open.Add(1)
			case fasthttp.StateClosed:
				open.Add(-1)
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go old.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { old.Shutdown() })

	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, versionConfig(1, ln.Addr().String()))
	_, base, adm := startFromFile(t, path)
	if r := do(t, "GET", base+"/up", nil); r.body != "old" {
		t.Fatalf("before reload: %d %s", r.status, r.body)
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections to the origin, want 1 kept alive", n)
	}
	writeFile(t, path, versionConfig(2, namedUpstream(t, "new")))
	if r := do(t, "POST", adm+"/reload", nil); r.status != 200 {
		t.Fatalf("reload: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/up", nil); r.body != "new" {
		t.Fatalf("after reload: %d %s", r.status, r.body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the removed origin still open", open.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
