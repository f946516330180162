package config

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// defaultsConfig leaves out every key that has a default.
const defaultsConfig = `
functions:
  local: {command: [./fn]}
  remote: {invoke_url: "http://127.0.0.1:9001"}
api_keys:
  - {name: k, value: "0123456789abcdefghij"}
apis:
  h:
    integrations:
      up: {type: http_proxy, url: "http://127.0.0.1:9000", health_check: {path: /health}}
      m: {type: mock}
      fn: {type: lambda, function: local}
    authorizers:
      req: {type: lambda, function: local}
      tok: {type: jwt, issuer: "https://issuer.example"}
    routes:
      "GET /a": {integration: up, cache: {}, throttle: {rate: 1, burst: 1}}
      "GET /b": {integration: fn, authorizer: req}
      "GET /c": {integration: m, authorizer: tok}
  r:
    type: rest
    base_path: /r
    integrations:
      fn: {type: lambda, function: remote}
    authorizers:
      req: {type: http, url: "http://127.0.0.1:9002/auth"}
    routes:
      "GET /a": {integration: fn, authorizer: req}
  w:
    type: websocket
    route_selection: $request.body.action
    integrations:
      be: {type: http, url: "http://127.0.0.1:9003"}
    authorizers:
      req: {type: lambda, function: local}
    routes:
      $connect: {integration: be, authorizer: req}
`

// TestDefaultsAreResolvedWhenLoaded checks that what compiles a config
// finds every defaulted key set: no pointer left nil, no kind left empty.
func TestDefaultsAreResolvedWhenLoaded(t *testing.T) {
	c, _, err := Parse("defaults.yaml", []byte(defaultsConfig), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	h, r, w := c.APIs["h"], c.APIs["r"], c.APIs["w"]
	ttl := func(rc *RouteCache) time.Duration {
		if rc.TTL == nil {
			return -1
		}
		return rc.TTL.D()
	}
	isTrue := func(b *bool) any {
		if b == nil {
			return nil
		}
		return *b
	}
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"server.rate_limit_headers", isTrue(c.Server.RateLimitHeaders), true},
		{"server.underscores_in_headers", isTrue(c.Server.UnderscoresInHeaders), false},
		{"access_log.format", c.AccessLog.Format, AccessLogJSON},
		{"cache.max_size", c.Cache.MaxSize, Size(DefaultCacheMaxSize)},
		{"cache.x_cache_header", isTrue(c.Cache.XCacheHeader), true},
		{"functions.remote.function_name", c.Functions["remote"].FunctionName, "remote"},
		{"functions.local.function_name", c.Functions["local"].FunctionName, ""},
		{"api_keys[0].enabled", isTrue(c.APIKeys[0].Enabled), true},
		{"apis.h.type", h.Type, APIHTTP},
		{"apis.h.integrations.up.balance", h.Integrations["up"].Balance, BalanceRoundRobin},
		{"apis.h.integrations.up.health_check.interval", h.Integrations["up"].HealthCheck.Interval.D(), DefaultHealthInterval},
		{"apis.h.integrations.up.payload_format", h.Integrations["up"].PayloadFormat, PayloadV2},
		{"apis.h.integrations.m.status", h.Integrations["m"].Status, DefaultMockStatus},
		{"apis.h.integrations.fn.payload_format", h.Integrations["fn"].PayloadFormat, PayloadV2},
		{"apis.h.authorizers.req.payload_format", h.Authorizers["req"].PayloadFormat, PayloadV2},
		{"apis.h.authorizers.req.simple_responses", isTrue(h.Authorizers["req"].SimpleResponses), true},
		{"apis.h.authorizers.tok.payload_format", h.Authorizers["tok"].PayloadFormat, PayloadFormat("")},
		{"apis.h.routes.GET /a.cache.ttl", ttl(h.Routes["GET /a"].Cache), DefaultCacheTTL},
		{"apis.h.routes.GET /a.cache.invalidate", h.Routes["GET /a"].Cache.Invalidate, InvalidateAuthorized},
		{"apis.h.routes.GET /a.throttle.per", h.Routes["GET /a"].Throttle.Per, PerRoute},
		{"apis.r.integrations.fn.payload_format", r.Integrations["fn"].PayloadFormat, PayloadV1},
		{"apis.r.authorizers.req.payload_format", r.Authorizers["req"].PayloadFormat, PayloadV1},
		{"apis.r.authorizers.req.simple_responses", isTrue(r.Authorizers["req"].SimpleResponses), false},
		{"apis.w.integrations.be.payload_format", w.Integrations["be"].PayloadFormat, PayloadFormat("")},
		{"apis.w.authorizers.req.payload_format", w.Authorizers["req"].PayloadFormat, PayloadV1},
		{"apis.w.authorizers.req.simple_responses", isTrue(w.Authorizers["req"].SimpleResponses), false},
		{"apis.w.backend_max_conns", w.BackendMaxConns, DefaultBackendMaxConns},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v (%T), want %v (%T)", tc.key, tc.got, tc.got, tc.want, tc.want)
		}
	}
}

// TestDefaultsKeepWhatTheFileSets checks that values a file gives,
// including the zero values that do not mean "default", stay as given.
func TestDefaultsKeepWhatTheFileSets(t *testing.T) {
	src := `
server: {rate_limit_headers: false, underscores_in_headers: true}
cache: {x_cache_header: false}
apis:
  h:
    integrations:
      fn: {type: lambda, function: f, payload_format: "1.0"}
    authorizers:
      req: {type: lambda, function: f, payload_format: "1.0"}
    routes:
      "GET /a": {integration: fn, authorizer: req, cache: {ttl: 0s, invalidate: anyone}}
functions:
  f: {command: [./fn]}
`
	c, _, err := Parse("set.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	h := c.APIs["h"]
	if *c.Server.RateLimitHeaders || !*c.Server.UnderscoresInHeaders || *c.Cache.XCacheHeader {
		t.Error("explicit booleans replaced by their defaults")
	}
	if rc := h.Routes["GET /a"].Cache; rc.TTL.D() != 0 || rc.Invalidate != InvalidateAnyone {
		t.Errorf("route cache %+v, want ttl 0 and invalidate anyone", rc)
	}
	if h.Integrations["fn"].PayloadFormat != PayloadV1 || h.Authorizers["req"].PayloadFormat != PayloadV1 {
		t.Error("explicit payload formats replaced")
	}
	if *h.Authorizers["req"].SimpleResponses {
		t.Error("a 1.0 authorizer defaults to IAM policy answers, not simple responses")
	}
}

// TestMaxItemSizeIsCheckedAgainstAGivenMaxSize: the default max_size does
// not bound max_item_size at validation (the cache sizes itself), a
// max_size the file sets does.
func TestMaxItemSizeIsCheckedAgainstAGivenMaxSize(t *testing.T) {
	const apis = `
apis:
  a:
    integrations: {m: {type: mock}}
    routes: {"GET /": {integration: m}}
`
	if _, _, err := Parse("default.yaml", []byte("cache: {max_item_size: 64MiB}\n"+apis), env(nil)); err != nil {
		t.Errorf("max_item_size with the default max_size: %v", err)
	}
	_, _, err := Parse("given.yaml", []byte("cache: {max_size: 256MiB, max_item_size: 64MiB}\n"+apis), env(nil))
	var list Errors
	if !errors.As(err, &list) || !slices.ContainsFunc(list, func(p Problem) bool { return p.Key == "cache.max_item_size" }) {
		t.Errorf("max_item_size over an eighth of a given max_size: %v", err)
	}
}

// Keys whose default is a library's constant are resolved in the one
// defaults pass too, so whatever compiles the config reads plain values.
func TestLibraryDefaultsAreResolvedWithTheRest(t *testing.T) {
	src := `
cache: {}
functions:
  local: {command: ["./fn"]}
  remote: {invoke_url: "http://127.0.0.1:3001"}
apis:
  chat:
    type: websocket
    route_selection: "$request.body.action"
    integrations: {be: {type: http, url: "http://127.0.0.1:9000"}}
    routes: {$default: {integration: be}}
  a:
    authorizers:
      j: {type: jwt, issuer: "https://issuer.test/", audience: [a], jwks_url: "https://issuer.test/jwks"}
      l: {type: lambda, function: local}
    integrations: {m: {type: mock}}
    routes: {$default: {integration: m}}
`
	c, _, err := Parse("d.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Functions["local"]; f.Concurrency != 4 || f.Timeout.D() != 3*time.Second {
		t.Errorf("local function: concurrency %d, timeout %v", f.Concurrency, f.Timeout.D())
	}
	if f := c.Functions["remote"]; f.Timeout.D() != 30*time.Second {
		t.Errorf("remote function: timeout %v", f.Timeout.D())
	}
	if w := c.APIs["chat"]; w.IdleTimeout.D() != 10*time.Minute || w.MaxMessageBytes != 128<<10 {
		t.Errorf("websocket API: idle %v, max message %d", w.IdleTimeout.D(), w.MaxMessageBytes)
	}
	if j := c.APIs["a"].Authorizers["j"]; j.JWKSMinRefetch.D() != 10*time.Second {
		t.Errorf("jwt authorizer: jwks_min_refetch %v", j.JWKSMinRefetch.D())
	}
	if l := c.APIs["a"].Authorizers["l"]; l.Timeout.D() != 10*time.Second {
		t.Errorf("lambda authorizer: timeout %v", l.Timeout.D())
	}
	if c.Cache.MaxWait.D() != 5*time.Second {
		t.Errorf("cache.max_wait %v", c.Cache.MaxWait.D())
	}
}
