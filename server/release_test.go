package server

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// reloadTo writes src to path and reloads s from it.
func reloadTo(t *testing.T, s *Server, path, src string) {
	t.Helper()
	writeFile(t, path, src)
	if err := s.Reload(); err != nil {
		t.Fatalf("reload: %v", err)
	}
}

// An authorizer the config no longer names is released with its decision
// cache: when the same authorizer comes back later it is a new one, which
// asks again for an identity the old one had cached.
func TestReloadReleasesARemovedAuthorizer(t *testing.T) {
	var calls atomic.Int64
	authz := startServer(t, func(ctx *fasthttp.RequestCtx) {
		calls.Add(1)
		ctx.SetBodyString(`{"isAuthorized":true}`)
	})
	gated := fmt.Sprintf(`
apis:
  a:
    authorizers:
      gate: {type: http, url: "http://%s/", identity_source: ["$request.header.X-Token"], ttl: 300s}
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /x": {integration: m, authorizer: gate}}
`, authz)
	open := `
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /x": {integration: m}}
`
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, gated)
	s, base, _ := startFromFile(t, path)
	get := func() {
		t.Helper()
		if r := do(t, "GET", base+"/x", nil, "X-Token", "same"); r.status != 200 {
			t.Fatalf("GET /x: %d %s", r.status, r.body)
		}
	}
	get()
	get()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d authorizer calls for one identity, want 1 (cached)", n)
	}

	reloadTo(t, s, path, open)
	get()
	if n := len(s.reg.Authorizers.Live()); n != 0 {
		t.Errorf("%d authorizers live after the config dropped its only one", n)
	}
	reloadTo(t, s, path, gated)
	get()
	if n := calls.Load(); n != 2 {
		t.Errorf("%d authorizer calls in all, want 2: the removed authorizer's cached decision outlived it", n)
	}
}

// countConns serves h on a loopback port and counts its open connections.
func countConns(t *testing.T, h fasthttp.RequestHandler) (string, *atomic.Int32) {
	t.Helper()
	var open atomic.Int32
	srv := &fasthttp.Server{Handler: h, ConnState: func(_ net.Conn, st fasthttp.ConnState) {
		switch st {
		case fasthttp.StateNew:
			open.Add(1)
		case fasthttp.StateClosed, fasthttp.StateHijacked:
			open.Add(-1)
		}
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String(), &open
}

// A function the config no longer names is stopped once requests that
// started before the reload have had their grace: a remote function's
// client closes its connections to the Invoke API.
func TestReloadStopsARemovedFunction(t *testing.T) {
	invokeAPI, open := countConns(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString(`{"statusCode":200,"body":"remote"}`)
	})
	withFunction := fmt.Sprintf(`
functions:
  remote: {invoke_url: "http://%s", function_name: function}
apis:
  a:
    integrations: {fn: {type: lambda, function: remote}, m: {type: mock, body: ok}}
    routes: {"GET /fn": {integration: fn}, "GET /m": {integration: m}}
`, invokeAPI)
	without := `
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /m": {integration: m}}
`
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, withFunction)
	s, base, _ := startFromFile(t, path)
	if r := do(t, "GET", base+"/fn", nil); r.status != 200 || r.body != "remote" {
		t.Fatalf("GET /fn: %d %s", r.status, r.body)
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections to the Invoke API, want 1 kept alive", n)
	}
	s.fns.retireAfter = 0
	reloadTo(t, s, path, without)
	waitFor(t, "the removed function's connections closed", 5*time.Second, func() bool { return open.Load() == 0 })
}

// A WebSocket API the config no longer names has its bridge closed: its
// clients get 1001 and their $disconnect runs.
func TestReloadClosesARemovedBridge(t *testing.T) {
	be := startEventLog(t)
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, wsConfig(be.addr))
	s, base, _ := startFromFile(t, path)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	reloadTo(t, s, path, `
apis:
  web:
    integrations: {m: {type: mock, body: plain-http}}
    routes: {"GET /prod/hello": {integration: m}}
`)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after the reload: %v, want close 1001", err)
	}
	waitFor(t, "$disconnect", 5*time.Second, func() bool { return strings.Join(be.routeKeys(), ",") == "$connect,$disconnect" })
}

// A throttle the config no longer names has its bucket set dropped: when
// it comes back it starts with full buckets.
func TestReloadDropsARemovedThrottleSet(t *testing.T) {
	throttled := `
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /x": {integration: m, throttle: {rate: 0.001, burst: 1}}}
`
	open := `
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /x": {integration: m}}
`
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeFile(t, path, throttled)
	s, base, _ := startFromFile(t, path)
	status := func() int { t.Helper(); return do(t, "GET", base+"/x", nil).status }
	if a, b := status(), status(); a != 200 || b != 429 {
		t.Fatalf("burst of 1: %d then %d, want 200 then 429", a, b)
	}
	if n := len(s.reg.State.Sets()); n != 1 {
		t.Fatalf("%d live bucket sets, want 1", n)
	}

	reloadTo(t, s, path, open)
	if n := len(s.reg.State.Sets()); n != 0 {
		t.Errorf("%d live bucket sets after the throttle was removed, want 0", n)
	}
	reloadTo(t, s, path, throttled)
	if got := status(); got != 200 {
		t.Errorf("the throttle back: %d, want 200 from a full bucket", got)
	}
}
