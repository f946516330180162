package jwtauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// testKeys are generated once per test binary: RSA generation is slow
// under -race and every test can share them.
type testKeys struct {
	rsa1, rsa2 *rsa.PrivateKey
	ec256      *ecdsa.PrivateKey
	ed         ed25519.PrivateKey
}

var fixtures = sync.OnceValue(func() testKeys {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var k testKeys
	var err error
	k.rsa1, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	k.ec256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	_, k.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	return k
})

// jwk renders a public key as a JWK map.
func jwk(t testing.TB, kid string, pub any) map[string]string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": enc(pub.N.Bytes()), "e": enc(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		pt, err := pub.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		size := (len(pt) - 1) / 2
		return map[string]string{"kty": "EC", "kid": kid, "crv": pub.Curve.Params().Name, "x": enc(pt[1 : 1+size]), "y": enc(pt[1+size:])}
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": enc(pub)}
	}
	t.Fatalf("no JWK for %T", pub)
	return nil
}

// idp is an identity provider started in the test: discovery document and
// JWKS, with fetch counters and a switch to break it.
type idp struct {
	srv       *httptest.Server
	mu        sync.Mutex
	keys      []map[string]string
	status    int
	jwksHits  atomic.Int32
	discoHits atomic.Int32
}

func newIDP(t testing.TB, keys ...map[string]string) *idp {
	t.Helper()
	p := &idp{keys: keys, status: http.StatusOK}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			p.discoHits.Add(1)
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, p.issuer(), p.srv.URL+"/keys")
		case "/keys":
			p.jwksHits.Add(1)
			p.mu.Lock()
			status, body := p.status, map[string]any{"keys": p.keys}
			p.mu.Unlock()
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) issuer() string { return p.srv.URL + "/" }

func (p *idp) setKeys(keys ...map[string]string) {
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
}

func (p *idp) setStatus(s int) {
	p.mu.Lock()
	p.status = s
	p.mu.Unlock()
}

// clock is a settable time source.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time              { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration)     { c.offset.Add(int64(d)) }
func discardLogger() *slog.Logger            { return slog.New(slog.DiscardHandler) }
func unixIn(c *clock, d time.Duration) int64 { return c.Now().Add(d).Unix() }

func newAuthorizer(t testing.TB, p *idp, c *clock, edit func(*Options)) *Authorizer {
	t.Helper()
	o := Options{
		Name:     "users",
		Issuer:   p.issuer(),
		Audience: []string{"petstore"},
		JWKSURL:  p.srv.URL + "/keys",
		Logger:   discardLogger(),
		Now:      c.Now,
	}
	if edit != nil {
		edit(&o)
	}
	a, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

func goodClaims(p *idp, c *clock) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": p.issuer(),
		"aud": "petstore",
		"sub": "user-1",
		"exp": unixIn(c, time.Hour),
		"iat": unixIn(c, -time.Minute),
	}
}

func with(base jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func headerRequest(value string) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.SetRequestURI("/pets/1")
	if value != "" {
		req.Header.Set("Authorization", value)
	}
	return req
}

func standardIDP(t testing.TB) *idp {
	k := fixtures()
	return newIDP(t,
		jwk(t, "rsa1", &k.rsa1.PublicKey),
		jwk(t, "ec1", &k.ec256.PublicKey),
		jwk(t, "ed1", k.ed.Public()),
	)
}

func TestAuthorizeAcceptsValidTokens(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, func(o *Options) { o.CacheEntries = -1 })
	base := goodClaims(p, c)
	tests := []struct {
		name   string
		header string
	}{
		{"RS256 with Bearer prefix", "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", base)},
		{"RS384 without prefix", sign(t, jwt.SigningMethodRS384, k.rsa1, "rsa1", base)},
		{"RS512 with lower-case prefix", "bearer " + sign(t, jwt.SigningMethodRS512, k.rsa1, "rsa1", base)},
		{"ES256", sign(t, jwt.SigningMethodES256, k.ec256, "ec1", base)},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, k.ed, "ed1", base)},
		{"audience in an array", sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(base, "aud", []string{"other", "petstore"}))},
		{"client_id when there is no aud", sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(base, "aud", nil, "client_id", "petstore"))},
		{"expired within the clock skew", sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(base, "exp", unixIn(c, -10*time.Second)))},
		{"nbf within the clock skew", sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(base, "nbf", unixIn(c, 10*time.Second)))},
		{"nbf in the past", sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(base, "nbf", unixIn(c, -time.Hour)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := a.Authorize(context.Background(), headerRequest(tt.header), nil)
			if err != nil {
				t.Fatalf("Authorize: %v", err)
			}
			if sub, _ := r.Claim("sub"); sub != "user-1" {
				t.Fatalf("sub claim = %q, want user-1", sub)
			}
		})
	}
}

func TestAuthorizeReadsQueryStringSource(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, func(o *Options) { o.IdentitySource = "$request.querystring.access_token" })
	req := &fasthttp.Request{}
	req.SetRequestURI("/pets/1?access_token=" + sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", goodClaims(p, c)))
	if _, err := a.Authorize(context.Background(), req, nil); err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	if _, err := a.Authorize(context.Background(), headerRequest("Bearer x.y.z"), nil); !isStatus(err, 401) {
		t.Fatalf("header ignored by a query source: got %v, want 401", err)
	}
}

func isStatus(err error, status int) bool {
	var f *auth.Failure
	return errors.As(err, &f) && f.Status == status
}

func TestAuthorizeRejectsInvalidTokens(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, nil)
	base := goodClaims(p, c)
	pubDER, err := x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	rs := func(claims jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", claims) }

	tests := []struct {
		name     string
		header   string
		wantDesc string // error_description; "" = bare Bearer challenge
	}{
		{"missing token", "", ""},
		{"Bearer prefix only", "Bearer ", ""},
		{"expired", rs(with(base, "exp", unixIn(c, -2*time.Minute))), "the token has expired"},
		{"not yet valid", rs(with(base, "nbf", unixIn(c, 5*time.Minute))), "the token is not valid yet"},
		{"issued in the future", rs(with(base, "iat", unixIn(c, 5*time.Minute))), "the token was issued in the future"},
		{"no exp", rs(with(base, "exp", nil)), "the token is missing a required claim"},
		{"wrong issuer", rs(with(base, "iss", "https://evil.example.com/")), "the token does not have a valid issuer"},
		{"issuer without the trailing slash", rs(with(base, "iss", strings.TrimSuffix(p.issuer(), "/"))), "the token does not have a valid issuer"},
		{"wrong audience", rs(with(base, "aud", "other")), "the token does not have a valid audience"},
		{"aud wrong even though client_id matches", rs(with(base, "aud", "other", "client_id", "petstore")), "the token does not have a valid audience"},
		{"no aud and no client_id", rs(with(base, "aud", nil)), "the token does not have a valid audience"},
		{"signed by another key", sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa1", base), "the token signature is invalid"},
		{"tampered payload", tamper(t, rs(base)), "the token signature is invalid"},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "rsa1", base), "the token signature is invalid"},
		{"HS256 keyed with the RSA public key PEM", sign(t, jwt.SigningMethodHS256, pubPEM, "rsa1", base), "the token signature is invalid"},
		{"HS256 keyed with the RSA public key DER", sign(t, jwt.SigningMethodHS256, pubDER, "rsa1", base), "the token signature is invalid"},
		{"PS256 is not accepted", sign(t, jwt.SigningMethodPS256, k.rsa1, "rsa1", base), "the token signature is invalid"},
		{"ES256 token naming an RSA key", sign(t, jwt.SigningMethodES256, k.ec256, "rsa1", base), "the token signing key was not found"},
		{"no kid", sign(t, jwt.SigningMethodRS256, k.rsa1, "", base), "the token signing key was not found"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, k.rsa1, "nope", base), "the token signing key was not found"},
		{"two segments", "abc.def", "the token is malformed"},
		{"garbage", "Bearer not-a-token", "the token is malformed"},
		{"bad base64 header", "!!!.e30.sig", "the token is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := a.Authorize(context.Background(), headerRequest(tt.header), nil)
			if err == nil {
				t.Fatalf("Authorize accepted the token: %+v", r.Claims)
			}
			var f *auth.Failure
			if !errors.As(err, &f) || f.Status != fasthttp.StatusUnauthorized {
				t.Fatalf("error = %v, want a 401 *auth.Failure", err)
			}
			want := "Bearer"
			if tt.wantDesc != "" {
				want = `Bearer scope="" error="invalid_token" error_description="` + tt.wantDesc + `"`
			}
			if f.WWWAuthenticate != want {
				t.Fatalf("www-authenticate = %q, want %q (cause: %v)", f.WWWAuthenticate, want, f.Err)
			}
			resp := &fasthttp.Response{}
			f.WriteHTTP(resp)
			if string(resp.Body()) != `{"message":"Unauthorized"}` || string(resp.Header.Peek("WWW-Authenticate")) != want {
				t.Fatalf("response = %s / %q", resp.Body(), resp.Header.Peek("WWW-Authenticate"))
			}
		})
	}
}

// tamper changes the payload segment, keeping header and signature.
func tamper(t testing.TB, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = []byte(strings.Replace(string(payload), "user-1", "admin-1", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAuthorizeChecksRouteScopes(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, nil)
	base := goodClaims(p, c)
	rs := func(claims jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", claims) }
	read, err := NewScopes([]string{"pets:read", "pets:admin"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  string
		scopes *Scopes
		want   int // 0 = allowed
	}{
		{"scope string holds one of them", rs(with(base, "scope", "openid pets:read")), read, 0},
		{"scp array holds one of them", rs(with(base, "scp", []string{"pets:admin"})), read, 0},
		{"scp string holds one of them", rs(with(base, "scp", "x pets:admin")), read, 0},
		{"scopes present but none required", rs(with(base, "scope", "other")), nil, 0},
		{"no scope claim", rs(base), read, 403},
		{"other scopes only", rs(with(base, "scope", "pets:write", "scp", []string{"x"})), read, 403},
		{"scope prefix is not the scope", rs(with(base, "scope", "pets:reader")), read, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Authorize(context.Background(), headerRequest("Bearer "+tt.token), tt.scopes)
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				return
			}
			var f *auth.Failure
			if !errors.As(err, &f) || f.Status != tt.want {
				t.Fatalf("error = %v, want status %d", err, tt.want)
			}
			wantHeader := `Bearer scope="pets:read pets:admin" error="insufficient_scope" error_description="the token does not have the required scope"`
			if f.Message != "Forbidden" || f.WWWAuthenticate != wantHeader {
				t.Fatalf("failure = %q / %q", f.Message, f.WWWAuthenticate)
			}
		})
	}
	// The cached result of a token must be checked against each route.
	tok := rs(with(base, "scope", "pets:write"))
	if _, err := a.Authorize(context.Background(), headerRequest(tok), nil); err != nil {
		t.Fatalf("route without scopes: %v", err)
	}
	if _, err := a.Authorize(context.Background(), headerRequest(tok), read); !isStatus(err, 403) {
		t.Fatalf("same token, route with scopes: %v, want 403", err)
	}
}

func TestResultRendersClaimsAsStrings(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, nil)
	claims := jwt.MapClaims{
		"iss":    p.issuer(),
		"aud":    []string{"petstore"},
		"exp":    1_999_999_999,
		"iat":    1_700_000_000,
		"groups": []string{"admin", "users"},
		"n":      1.5,
		"ok":     true,
		"none":   nil,
		"obj":    map[string]any{"a": 1},
		"url":    "https://x.test/?a=1&b=<2>",
		"scp":    []string{"pets:read", "pets:write"},
	}
	c.offset.Store(int64(time.Until(time.Unix(1_800_000_000, 0))))
	r, err := a.Authorize(context.Background(), headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", claims)), nil)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	iss := p.issuer()
	wantClaims := `{"claims":{"aud":"[petstore]","exp":"1999999999","groups":"[admin users]","iat":"1700000000","iss":"` + iss +
		`","n":"1.5","none":"null","obj":"{\"a\":1}","ok":"true","scp":"[pets:read pets:write]","url":"https://x.test/?a=1&b=<2>"},"scopes":["pets:read","pets:write"]}`
	if got := string(r.AppendV1(nil)); got != wantClaims {
		t.Fatalf("AppendV1 =\n%s\nwant\n%s", got, wantClaims)
	}
	if got, want := string(r.AppendV2([]byte("x"))), "x"+`{"jwt":`+wantClaims+"}"; got != want {
		t.Fatalf("AppendV2 =\n%s\nwant\n%s", got, want)
	}
	var decoded map[string]any
	if err := json.Unmarshal(r.AppendV2(nil), &decoded); err != nil {
		t.Fatalf("AppendV2 is not JSON: %v", err)
	}

	noScopes, err := a.Authorize(context.Background(), headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(claims, "scp", nil))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(noScopes.AppendV1(nil)); !strings.HasSuffix(got, `},"scopes":null}`) {
		t.Fatalf("token without scopes rendered %s, want scopes null", got)
	}
}

func TestKeyRotationIsPickedUpWithOneRefetch(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := newIDP(t, jwk(t, "old", &k.rsa1.PublicKey))
	a := newAuthorizer(t, p, c, func(o *Options) { o.CacheEntries = -1 })
	ctx := context.Background()

	if _, err := a.Authorize(ctx, headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, "old", goodClaims(p, c))), nil); err != nil {
		t.Fatalf("old key: %v", err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for the first token, want 1", n)
	}

	p.setKeys(jwk(t, "old", &k.rsa1.PublicKey), jwk(t, "new", &k.rsa2.PublicKey))
	c.Advance(DefaultRefetchInterval + time.Second)

	// Many requests with the new kid at once share one refetch.
	tokens := make([]string, 16)
	for i := range tokens {
		tokens[i] = sign(t, jwt.SigningMethodRS256, k.rsa2, "new", with(goodClaims(p, c), "n", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(tokens))
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := a.Authorize(ctx, headerRequest(tok), nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("new key: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after rotation, want 2", n)
	}
	if _, err := a.Authorize(ctx, headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, "old", goodClaims(p, c))), nil); err != nil {
		t.Fatalf("old key after rotation: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times for known kids, want 2", n)
	}
}

func TestUnknownKidRefetchIsRateLimited(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, nil)
	ctx := context.Background()
	junk := func(i int) *fasthttp.Request {
		return headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, fmt.Sprintf("junk-%d", i), goodClaims(p, c)))
	}
	for i := range 50 {
		if _, err := a.Authorize(ctx, junk(i), nil); !isStatus(err, 401) {
			t.Fatalf("junk kid %d: %v, want 401", i, err)
		}
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("50 junk kids fetched the JWKS %d times, want 1", n)
	}
	c.Advance(DefaultRefetchInterval)
	for i := range 50 {
		_, _ = a.Authorize(ctx, junk(100+i), nil)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("after one interval the JWKS was fetched %d times, want 2", n)
	}
}

func TestKeysAreFoundByOIDCDiscovery(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, func(o *Options) { o.JWKSURL = "" })
	ctx := context.Background()
	for range 3 {
		if _, err := a.Authorize(ctx, headerRequest(sign(t, jwt.SigningMethodEdDSA, k.ed, "ed1", goodClaims(p, c))), nil); err != nil {
			t.Fatalf("Authorize: %v", err)
		}
	}
	c.Advance(DefaultRefetchInterval)
	_, _ = a.Authorize(ctx, headerRequest(sign(t, jwt.SigningMethodEdDSA, k.ed, "other", goodClaims(p, c))), nil)
	if d, j := p.discoHits.Load(), p.jwksHits.Load(); d != 1 || j != 2 {
		t.Fatalf("discovery fetched %d times and JWKS %d times, want 1 and 2", d, j)
	}
}

func TestUnreachableKeySetFailsFastWith401(t *testing.T) {
	k := fixtures()
	refusedURL := "http://" + testdeps.RefusingAddr(t)
	huge := `{"keys":[` + strings.Repeat(`{"kty":"oct","kid":"x"},`, 100) + `{"kty":"oct","kid":"y"}]}`
	bigSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, huge) }))
	t.Cleanup(bigSrv.Close)
	broken := newIDP(t)
	broken.setStatus(http.StatusInternalServerError)
	empty := newIDP(t, map[string]string{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"})

	tests := []struct {
		name    string
		jwksURL string
		maxSize int
	}{
		{"connection refused", refusedURL + "/keys", 0},
		{"server never answers", "http://" + testdeps.HangingAddr(t) + "/keys", 0},
		{"server error", broken.srv.URL + "/keys", 0},
		{"key set too large", bigSrv.URL, 1000},
		{"no usable keys", empty.srv.URL + "/keys", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{}
			p := standardIDP(t)
			a := newAuthorizer(t, p, c, func(o *Options) {
				o.JWKSURL = tt.jwksURL
				o.FetchTimeout = 300 * time.Millisecond
				o.MaxKeySetBytes = tt.maxSize
			})
			tok := sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", goodClaims(p, c))
			for i := range 3 { // later attempts are rate-limited: no wait at all
				start := time.Now()
				_, err := a.Authorize(context.Background(), headerRequest(tok), nil)
				if !isStatus(err, 401) {
					t.Fatalf("attempt %d: %v, want 401", i, err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("attempt %d took %v, want it bounded by the fetch timeout", i, d)
				}
			}
		})
	}
}

func TestStaleKeysServeWhileTheProviderIsDown(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, func(o *Options) { o.CacheEntries = -1 })
	ctx := context.Background()
	if _, err := a.Authorize(ctx, headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", goodClaims(p, c))), nil); err != nil {
		t.Fatal(err)
	}
	p.setStatus(http.StatusServiceUnavailable)
	c.Advance(DefaultKeysTTL + time.Minute)
	for range 3 {
		if _, err := a.Authorize(ctx, headerRequest(sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", goodClaims(p, c))), nil); err != nil {
			t.Fatalf("known kid with a stale key set: %v", err)
		}
	}
	// The background refresh was tried once (rate limit), and failed.
	deadline := time.Now().Add(2 * time.Second)
	for p.jwksHits.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (one background refresh)", n)
	}
}

func TestVerifiedTokenCache(t *testing.T) {
	k := fixtures()
	c := &clock{}
	p := standardIDP(t)
	a := newAuthorizer(t, p, c, nil)
	ctx := context.Background()
	tok := sign(t, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(goodClaims(p, c), "exp", unixIn(c, 90*time.Second)))

	r1, err := a.Authorize(ctx, headerRequest(tok), nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := a.Authorize(ctx, headerRequest("Bearer "+tok), nil)
	if err != nil || r1 != r2 {
		t.Fatalf("repeat token: %v, same result %v; want the cached result", err, r1 == r2)
	}
	req := headerRequest(tok)
	if allocs := testing.AllocsPerRun(50, func() { _, _ = a.Authorize(ctx, req, nil) }); allocs != 0 {
		t.Fatalf("cached Authorize allocates %.0f times, want 0", allocs)
	}

	c.Advance(DefaultCacheTTL + time.Second) // cache entry gone, token still valid
	r3, err := a.Authorize(ctx, headerRequest(tok), nil)
	if err != nil || r3 == r1 {
		t.Fatalf("after the cache TTL: %v, same result %v; want a fresh verification", err, r3 == r1)
	}
	c.Advance(DefaultCacheTTL) // token now past exp+skew: neither cache nor verification accepts it
	if _, err := a.Authorize(ctx, headerRequest(tok), nil); !isStatus(err, 401) {
		t.Fatalf("expired token: %v, want 401", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no issuer", Options{Audience: []string{"a"}}, "issuer is required"},
		{"no audience", Options{Issuer: "https://i.test/"}, "audience"},
		{"context identity source", Options{Issuer: "https://i.test/", Audience: []string{"a"}, IdentitySource: "$context.routeKey"}, "header or query"},
		{"malformed identity source", Options{Issuer: "https://i.test/", Audience: []string{"a"}, IdentitySource: "Authorization"}, "identity source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "two words", `quo"te`} {
		if _, err := NewScopes([]string{bad}); err == nil {
			t.Errorf("NewScopes(%q) accepted an invalid scope", bad)
		}
	}
	if s, err := NewScopes(nil); s != nil || err != nil {
		t.Errorf("NewScopes(nil) = %v, %v; want nil, nil", s, err)
	}
}

func benchmarkAuthorize(b *testing.B, cacheEntries int) {
	k := fixtures()
	c := &clock{}
	p := newIDP(b, jwk(b, "rsa1", &k.rsa1.PublicKey))
	a := newAuthorizer(b, p, c, func(o *Options) { o.CacheEntries = cacheEntries })
	req := headerRequest("Bearer " + sign(b, jwt.SigningMethodRS256, k.rsa1, "rsa1", with(goodClaims(p, c), "scope", "pets:read", "email", "u@example.com")))
	scopes, err := NewScopes([]string{"pets:read"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := a.Authorize(ctx, req, scopes); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authorize(ctx, req, scopes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRS256 is a full verification: parse, RSA-2048 signature,
// claims, result building.
func BenchmarkVerifyRS256(b *testing.B) { benchmarkAuthorize(b, -1) }

// BenchmarkVerifyCached is the same token found in the verified cache.
func BenchmarkVerifyCached(b *testing.B) { benchmarkAuthorize(b, DefaultCacheEntries) }
