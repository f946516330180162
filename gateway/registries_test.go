package gateway

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
)

// needsConfig names something of every registry: servingConfig's, a
// function and a WebSocket bridge.
const needsConfig = servingConfig + `
  b:
    base_path: /b
    integrations: {fn: {type: lambda, function: fn}}
    routes: {"GET /fn": {integration: fn}}
  ws:
    type: websocket
    route_selection: "$request.body.action"
    integrations: {be: {type: http, url: "http://backend.test/events"}}
    routes: {"$default": {integration: be}}
functions:
  fn: {command: ["/nonexistent/bootstrap"]}
`

// servingConfig names origins, throttles, key counters and an authorizer.
const servingConfig = `
api_keys:
  - {name: k, value: "0123456789abcdefghij", plan: p}
usage_plans:
  p: {throttle: {rate: 10, burst: 5}, quota: {limit: 100, period: day}, apis: [a]}
apis:
  a:
    authorizers:
      gate: {type: jwt, issuer: "https://issuer.test", audience: [x]}
    integrations:
      up: {type: http_proxy, url: "http://origin.test:8080/x", health_check: {path: /health}}
    routes:
      "GET /up": {integration: up, throttle: {rate: 1, burst: 1}, authorizer: gate}
`

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("t.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// needs renders what a snapshot needs as "type key", in order.
func needs(s *Snapshot) []string {
	var out []string
	for _, n := range s.Needs() {
		out = append(out, fmt.Sprintf("%T %v", n.Spec, n.Key))
	}
	return out
}

// A dry compile (validate, routes) lists what the snapshot needs of every
// registry and starts nothing: the function's command does not even
// exist.
func TestDryCompileListsNeedsAndStartsNothing(t *testing.T) {
	s, err := Compile(parse(t, needsConfig), Deps{})
	if err != nil {
		t.Fatal(err)
	}
	got := needs(s)
	want := []string{
		"config.Function fn",
		"pipeline.ThrottleSpec plan:p",
		"pipeline.CountersSpec api keys",
		"gateway.BridgeSpec ws",
		"proxy.Origin http://origin.test:8080",
		"proxy.HealthCheck http://origin.test:8080",
		"gateway.AuthorizerSpec a/gate",
		"pipeline.ThrottleSpec route:a/$default/GET /up",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("needs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A dry compile still reports what building a resource would refuse.
func TestDryCompileChecksSpecs(t *testing.T) {
	src := strings.Replace(servingConfig, `audience: [x]}`, `audience: [x], identity_source: ["$context.nope"]}`, 1)
	_, err := Compile(parse(t, src), Deps{})
	if err == nil || !strings.Contains(err.Error(), "authorizer gate") {
		t.Fatalf("a JWT authorizer with a context identity source compiled dry: %v", err)
	}
}

// Compiling in a pending generation changes nothing live: what it
// resolved becomes live at Commit, and an aborted generation leaves the
// registries empty.
func TestCompileHasNoEffectUntilCommit(t *testing.T) {
	cfg := parse(t, servingConfig)
	regs := &Registries{}
	live := func() string {
		return fmt.Sprintf("pools %d, throttles %d, authorizers %d", len(regs.Pools.Live()), len(regs.State.Sets()), len(regs.Authorizers.Live()))
	}
	p := regs.Begin()
	if _, err := Compile(cfg, Deps{Pending: p}); err != nil {
		t.Fatal(err)
	}
	if got := live(); got != "pools 0, throttles 0, authorizers 0" {
		t.Fatalf("before commit: %s", got)
	}
	p.Abort()
	if got := live(); got != "pools 0, throttles 0, authorizers 0" {
		t.Fatalf("after abort: %s", got)
	}
	p = regs.Begin()
	if _, err := Compile(cfg, Deps{Pending: p}); err != nil {
		t.Fatal(err)
	}
	p.Commit()
	if got := live(); got != "pools 1, throttles 2, authorizers 1" {
		t.Fatalf("after commit: %s", got)
	}
	// A second compile of the same config reuses every entry.
	before := regs.Pools.Live()
	p = regs.Begin()
	if _, err := Compile(cfg, Deps{Pending: p}); err != nil {
		t.Fatal(err)
	}
	p.Commit()
	for k, pool := range regs.Pools.Live() {
		if before[k] != pool {
			t.Errorf("pool of %s replaced by an unchanged config", k)
		}
	}
}
