package server

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// idp is an identity provider in the test: a JWKS endpoint whose keys
// can be rotated.
type idp struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey
	fetches atomic.Int64
	url     string
}

func startIDP(t *testing.T) *idp {
	p := &idp{keys: map[string]*rsa.PrivateKey{}}
	p.addKey(t, "k1")
	p.url = "http://" + startServer(t, func(ctx *fasthttp.RequestCtx) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		var keys []map[string]string
		for kid, k := range p.keys {
			keys = append(keys, map[string]string{"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes())})
		}
		ctx.SetContentType("application/json")
		json.NewEncoder(ctx).Encode(map[string]any{"keys": keys})
	})
	return p
}

func (p *idp) addKey(t *testing.T, kid string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = k
	p.mu.Unlock()
}

func (p *idp) sign(t *testing.T, kid string, claims jwt.MapClaims) string {
	p.mu.Lock()
	k := p.keys[kid]
	p.mu.Unlock()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "https://issuer.test/", "aud": "petstore", "sub": "user-7",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "scope": "pets:read openid"}
	if mod != nil {
		mod(c)
	}
	return c
}

func authConfig(jwks, upstream, fn string) string {
	return fmt.Sprintf(`
functions:
  authfn: {command: [%q], concurrency: 2, timeout: 1s}
apis:
  a:
    cors:
      allow_origins: ["https://app.example.com", "https://*.tenant.example"]
      allow_methods: [GET, POST]
      allow_headers: [authorization, x-token]
      expose_headers: [x-request-id]
      max_age: 600
      allow_credentials: true
    authorizers:
      users:
        type: jwt
        issuer: "https://issuer.test/"
        audience: [petstore]
        jwks_url: "%s/jwks"
        claims_to_headers: {sub: X-User-Id}
        jwks_min_refetch: 500ms
      gate:
        type: lambda
        function: authfn
        identity_source: ["$request.header.X-Token"]
        ttl: 60s
    integrations:
      up: {type: http_proxy, url: "http://%s"}
      fn: {type: lambda, function: authfn}
    routes:
      "GET /pets": {integration: up, authorizer: users}
      "GET /admin": {integration: up, authorizer: users, scopes: ["pets:admin"]}
      "GET /gated": {integration: fn, authorizer: gate}
      "GET /open": {integration: up, throttle: {rate: 1, burst: 1}}
  r:
    type: rest
    base_path: /r
    stages: {v1: {}}
    authorizers:
      users: {type: jwt, issuer: "https://issuer.test/", audience: [petstore], jwks_url: "%s/jwks"}
    integrations: {up: {type: http_proxy, url: "http://%s"}}
    routes: {"GET /pets": {integration: up, authorizer: users}}
`, fn, jwks, upstream, jwks, upstream)
}

func TestJWTAuthorizerThroughTheGateway(t *testing.T) {
	p := startIDP(t)
	up := startUpstream(t)
	base := startGateway(t, authConfig(p.url, up.addr, testFunction(t)), "")
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"https://issuer.test/","aud":"petstore","exp":9999999999}`)) + "."
	pubDER, _ := x509.MarshalPKIXPublicKey(&p.keys["k1"].PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hsTok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil)).SignedString(pubPEM)

	cases := []struct {
		name, path string
		headers    []string
		status     int
		body       string
	}{
		{"valid", "/pets", bearer(p.sign(t, "k1", claims(nil))), 200, ""},
		{"no Bearer prefix", "/pets", []string{"Authorization", p.sign(t, "k1", claims(nil))}, 200, ""},
		{"missing token", "/pets", nil, 401, `{"message":"Unauthorized"}`},
		{"expired", "/pets", bearer(p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }))), 401, `{"message":"Unauthorized"}`},
		{"not yet valid", "/pets", bearer(p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }))), 401, `{"message":"Unauthorized"}`},
		{"wrong issuer", "/pets", bearer(p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.test/" }))), 401, `{"message":"Unauthorized"}`},
		{"wrong audience", "/pets", bearer(p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["aud"] = "other" }))), 401, `{"message":"Unauthorized"}`},
		{"bad signature", "/pets", bearer(p.sign(t, "k1", claims(nil))[:100] + "x" + p.sign(t, "k1", claims(nil))[101:]), 401, `{"message":"Unauthorized"}`},
		{"alg none", "/pets", bearer(noneTok), 401, `{"message":"Unauthorized"}`},
		{"HS256 with the public key", "/pets", bearer(hsTok), 401, `{"message":"Unauthorized"}`},
		{"malformed", "/pets", bearer("not.a.jwt"), 401, `{"message":"Unauthorized"}`},
		{"missing scope", "/admin", bearer(p.sign(t, "k1", claims(nil))), 403, `{"message":"Forbidden"}`},
		{"scope present", "/admin", bearer(p.sign(t, "k1", claims(func(c jwt.MapClaims) { c["scope"] = "pets:admin" }))), 200, ""},
		{"rest dialect", "/r/v1/pets", nil, 401, `{"message":"Unauthorized"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, "GET", base+c.path, nil, c.headers...)
			if r.status != c.status || (c.body != "" && r.body != c.body) {
				t.Errorf("got %d %s", r.status, r.body)
			}
			if c.status == 401 && c.name != "rest dialect" && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without www-authenticate: %v", r.header)
			}
		})
	}
	// Claims reach the upstream as the configured header; a client-sent
	// one is replaced.
	do(t, "GET", base+"/pets", nil, append(bearer(p.sign(t, "k1", claims(nil))), "X-User-Id", "spoofed")...)
	if _, h := up.seen(); h.Get("X-User-Id") != "user-7" {
		t.Errorf("X-User-Id upstream = %q", h.Get("X-User-Id"))
	}
	// A rotated key is picked up with one refetch.
	p.addKey(t, "k2")
	time.Sleep(600 * time.Millisecond) // past jwks_min_refetch since the first fetch
	before := p.fetches.Load()
	for i := 0; i < 3; i++ {
		if r := do(t, "GET", base+"/pets", nil, bearer(p.sign(t, "k2", claims(nil)))...); r.status != 200 {
			t.Fatalf("rotated key: %d %s", r.status, r.body)
		}
	}
	if n := p.fetches.Load() - before; n != 1 {
		t.Errorf("%d JWKS fetches for a new kid, want 1", n)
	}
}

func TestLambdaAuthorizerThroughTheGateway(t *testing.T) {
	p := startIDP(t)
	up := startUpstream(t)
	base := startGateway(t, authConfig(p.url, up.addr, testFunction(t)), "")
	cases := []struct {
		token  string
		status int
		body   string
	}{
		{"let-me-in", 201, ""},
		{"", 401, `{"message":"Unauthorized"}`},
		{"wrong", 403, `{"message":"Forbidden"}`},
		{"crash", 500, `{"message":"Internal Server Error"}`},
		{"slow", 500, `{"message":"Internal Server Error"}`},
	}
	for _, c := range cases {
		var h []string
		if c.token != "" {
			h = []string{"X-Token", c.token}
		}
		r := do(t, "GET", base+"/gated", nil, h...)
		if r.status != c.status || (c.body != "" && r.body != c.body) {
			t.Errorf("token %q: %d %s", c.token, r.status, r.body)
		}
		if c.token == "let-me-in" {
			var e struct {
				Authorizer map[string]any `json:"authorizer"`
			}
			json.Unmarshal([]byte(r.body), &e)
			lam, _ := e.Authorizer["lambda"].(map[string]any)
			if lam["user"] != "u1" {
				t.Errorf("authorizer context did not reach the integration: %s", r.body)
			}
		}
	}
	// Decisions are cached per identity for the ttl: the authorizer's
	// context carries its process and that process's call number, so the
	// same context on every later request means no further call was made.
	var first map[string]any
	for i := 0; i < 20; i++ {
		r := do(t, "GET", base+"/gated", nil, "X-Token", "let-me-in")
		if r.status != 201 {
			t.Fatalf("cached allow: %d", r.status)
		}
		var e struct {
			Authorizer struct {
				Lambda map[string]any `json:"lambda"`
			} `json:"authorizer"`
		}
		if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Authorizer.Lambda["call"] == nil {
			t.Fatalf("no authorizer call number in %s (%v)", r.body, err)
		}
		if first == nil {
			first = e.Authorizer.Lambda
			continue
		}
		if e.Authorizer.Lambda["pid"] != first["pid"] || e.Authorizer.Lambda["call"] != first["call"] {
			t.Fatalf("request %d was authorized by call %v of process %v, not the cached call %v of %v",
				i, e.Authorizer.Lambda["call"], e.Authorizer.Lambda["pid"], first["call"], first["pid"])
		}
	}
}

func TestCORSHeadersOnEveryAnswer(t *testing.T) {
	p := startIDP(t)
	up := startUpstream(t)
	base := startGateway(t, authConfig(p.url, up.addr, testFunction(t)), "")
	preflight := func(origin, method string) result {
		return do(t, "OPTIONS", base+"/pets", nil, "Origin", origin, "Access-Control-Request-Method", method,
			"Access-Control-Request-Headers", "authorization")
	}
	r := preflight("https://app.example.com", "GET")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" || r.header.Get("Access-Control-Max-Age") != "600" ||
		!strings.Contains(r.header.Get("Vary"), "Origin") {
		t.Errorf("allowed preflight (before the authorizer): %d %v", r.status, r.header)
	}
	if r := preflight("https://x.tenant.example", "POST"); r.header.Get("Access-Control-Allow-Origin") != "https://x.tenant.example" {
		t.Errorf("wildcard origin: %v", r.header)
	}
	if r := preflight("https://evil.example", "GET"); r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("denied origin: %d %v", r.status, r.header)
	}
	// A 401 from the authorizer carries CORS headers, so the browser shows
	// the real error.
	r = do(t, "GET", base+"/pets", nil, "Origin", "https://app.example.com")
	if r.status != 401 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("401: %d %v", r.status, r.header)
	}
	do(t, "GET", base+"/open", nil)
	r = do(t, "GET", base+"/open", nil, "Origin", "https://app.example.com")
	if r.status != 429 || r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.header.Get("Access-Control-Expose-Headers") == "" {
		t.Errorf("429: %d %v", r.status, r.header)
	}
}

// One authorizer call serves every request of the same identity within the
// ttl; another identity is asked again.
func TestAuthorizerDecisionsAreCachedForTheTTL(t *testing.T) {
	var calls atomic.Int64
	authz := startServer(t, func(ctx *fasthttp.RequestCtx) {
		calls.Add(1)
		ctx.SetBodyString(`{"isAuthorized":true,"context":{"n":1}}`)
	})
	base := startGateway(t, fmt.Sprintf(`
apis:
  a:
    authorizers:
      gate: {type: http, url: "http://%s/", identity_source: ["$request.header.X-Token"], ttl: 60s}
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /x": {integration: m, authorizer: gate}}
`, authz), "")
	for i := 0; i < 10; i++ {
		if r := do(t, "GET", base+"/x", nil, "X-Token", "same"); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("10 requests with one identity made %d authorizer calls, want 1", n)
	}
	do(t, "GET", base+"/x", nil, "X-Token", "other")
	if n := calls.Load(); n != 2 {
		t.Errorf("a new identity made %d calls in all, want 2", n)
	}
}
