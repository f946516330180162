package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// refusalSetup is what refusalConfig fills in: the addresses of the
// backends and the settings a refused reload changes.
type refusalSetup struct {
	invoke, authz, origin, backend string
	fnName, quota, ttl, rate, idle string
	selection, extraFns, extraAPIs string
}

func refusalConfig(c refusalSetup) string {
	return strings.NewReplacer(
		"INVOKE", c.invoke, "AUTHZ", c.authz, "ORIGIN", c.origin, "BACKEND", c.backend,
		"FNNAME", c.fnName, "QUOTA", c.quota, "TTL", c.ttl, "RATE", c.rate, "IDLE", c.idle,
		"SELECTION", c.selection, "EXTRAFNS", c.extraFns, "EXTRAAPIS", c.extraAPIs,
	).Replace(`
functions:
  fn: {invoke_url: "http://INVOKE", function_name: FNNAME}
EXTRAFNS
api_keys:
  - {name: k, value: "key-0123456789abcdef0123", plan: p}
usage_plans:
  p: {quota: {limit: QUOTA, period: day}, apis: [a]}
apis:
  a:
    authorizers:
      gate: {type: http, url: "http://AUTHZ/", identity_source: ["$request.header.X-Token"], ttl: TTL}
    integrations:
      up: {type: http_proxy, url: "http://ORIGIN"}
      fn: {type: lambda, function: fn}
      m: {type: mock, body: ok}
    routes:
      "GET /up": {integration: up, authorizer: gate}
      "GET /fn": {integration: fn}
      "GET /t": {integration: m, throttle: {rate: RATE, burst: 1}}
      "GET /keyed": {integration: m, api_key: true}
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "SELECTION"
    idle_timeout: IDLE
    integrations: {be: {type: http, url: "http://BACKEND/events"}}
    routes: {"$default": {integration: be, reply: true}}
EXTRAAPIS
`)
}

// registryState renders the live entries of every registry, by kind and
// key, with the identity of each resource.
func registryState(s *Server) string {
	var out []string
	add := func(kind string, m map[string]string) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, kind+" "+k+" "+m[k])
		}
	}
	id := func(v any) string { return fmt.Sprintf("%p", v) }
	pools := map[string]string{}
	for k, v := range s.reg.Pools.Live() {
		pools[k] = id(v)
	}
	add("pool", pools)
	checks := map[string]string{}
	for k, v := range s.reg.Pools.HealthChecks() {
		checks[k] = fmt.Sprint(v)
	}
	add("health check", checks)
	sets := map[string]string{}
	for k, v := range s.reg.State.Sets() {
		sets[k] = id(v)
	}
	add("throttle", sets)
	usage, quotas := s.reg.State.Usage()
	add("counters", map[string]string{"api keys": id(usage) + " " + id(quotas)})
	authz := map[string]string{}
	for k, v := range s.reg.Authorizers.Live() {
		authz[k] = fmt.Sprintf("%p", v)
	}
	add("authorizer", authz)
	fns := map[string]string{}
	for k, v := range s.reg.Functions.Live() {
		fns[k] = id(v)
	}
	add("function", fns)
	brs := map[string]string{}
	for k, v := range s.reg.Bridges.Live() {
		brs[k] = id(v)
	}
	add("bridge", brs)
	return strings.Join(out, "\n")
}

// A reload that is refused — an invalid file, a compile error after every
// registry was asked for something new, a function or a bridge that fails
// to start — leaves every registry exactly as it was: the same entries
// with the same resources, bucket state, cached decisions, counts, pooled
// connections and WebSocket connections.
func TestRefusedReloadLeavesEveryRegistryAsItWas(t *testing.T) {
	cases := []struct {
		name   string
		refuse func(changed refusalSetup) refusalSetup
	}{
		{"invalid config", func(c refusalSetup) refusalSetup {
			c.extraAPIs = "  broken:\n    routes: {\"GET /x\": {integration: nowhere}}\n"
			return c
		}},
		{"compile error after everything was asked for", func(c refusalSetup) refusalSetup {
			// zz compiles last: every registry has been asked for a
			// new entry by then.
			c.extraAPIs = `  zz:
    base_path: /zz
    authorizers:
      jwt: {type: jwt, issuer: "https://issuer.test", audience: [x], identity_source: ["$context.nope"]}
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /x": {integration: m, authorizer: jwt}}
`
			return c
		}},
		{"function fails to start", func(c refusalSetup) refusalSetup {
			// zz starts after fn, which was started anew.
			c.extraFns = `  zz: {command: ["frontdesk-no-such-command"]}`
			return c
		}},
		{"bridge fails to start", func(c refusalSetup) refusalSetup {
			c.selection = "${request.body.action"
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			invokeAPI, invokeConns := countConns(t, func(ctx *fasthttp.RequestCtx) {
				ctx.SetBodyString(`{"statusCode":200,"body":"fn"}`)
			})
			var authzCalls atomic.Int64
			authz := startServer(t, func(ctx *fasthttp.RequestCtx) {
				authzCalls.Add(1)
				ctx.SetBodyString(`{"isAuthorized":true}`)
			})
			origin, originConns := countConns(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("up") })
			be := startEventLog(t)
			base := refusalSetup{invoke: invokeAPI, authz: authz, origin: origin, backend: be.addr,
				fnName: "function", quota: "100", ttl: "300s", rate: "0.001", idle: "60s", selection: "$request.body.action"}
			// changed asks every registry for a new entry.
			changed := base
			changed.fnName, changed.quota, changed.ttl, changed.rate, changed.idle = "other", "50", "200s", "0.002", "30s"
			changed.origin = namedUpstream(t, "other")

			path := filepath.Join(t.TempDir(), "frontdesk.yaml")
			writeFile(t, path, refusalConfig(base))
			s, baseURL, adm := startFromFile(t, path)
			ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(baseURL, "http")+"/prod", nil)
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer ws.Close()
			expect := func(path string, status int, headers ...string) {
				t.Helper()
				if r := do(t, "GET", baseURL+path, nil, headers...); r.status != status {
					t.Fatalf("GET %s: %d %s, want %d", path, r.status, r.body, status)
				}
			}
			expect("/t", 200)
			expect("/up", 200, "X-Token", "same")
			expect("/keyed", 200, "X-API-Key", "key-0123456789abcdef0123")
			expect("/fn", 200)
			before := registryState(s)

			writeFile(t, path, refusalConfig(tc.refuse(changed)))
			if err := s.Reload(); err == nil {
				t.Fatal("reload accepted")
			}
			if after := registryState(s); after != before {
				t.Fatalf("registries changed by a refused reload:\nbefore:\n%s\nafter:\n%s", before, after)
			}

			// What the entries hold is what they held.
			expect("/t", 429) // the spent bucket
			expect("/up", 200, "X-Token", "same")
			if n := authzCalls.Load(); n != 1 {
				t.Errorf("%d authorizer calls, want 1: the cached decision was lost", n)
			}
			expect("/keyed", 200, "X-API-Key", "key-0123456789abcdef0123")
			var u struct {
				Admitted  uint64 `json:"admitted"`
				QuotaUsed int64  `json:"quotaUsed"`
			}
			if r := do(t, "GET", adm+"/usage/k", nil); json.Unmarshal([]byte(r.body), &u) != nil || u.Admitted != 2 || u.QuotaUsed != 2 {
				t.Errorf("usage after a refused reload: %s", r.body)
			}
			expect("/fn", 200)
			if n, m := invokeConns.Load(), originConns.Load(); n != 1 || m != 1 {
				t.Errorf("%d connections to the Invoke API and %d to the origin, want each kept alive", n, m)
			}
			ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`))
			ws.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "echo:true" {
				t.Errorf("WebSocket connection after a refused reload: %q %v", msg, err)
			}
		})
	}
}
