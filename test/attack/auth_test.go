package attack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/golang-jwt/jwt/v5"
)

// otherKey signs tokens the JWKS does not vouch for.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func signWith(t testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	c := jwt.MapClaims{"iss": issuer, "aud": audience, "sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tk := jwt.NewWithClaims(m, c)
	tk.Header["kid"] = "k1"
	for k, v := range header {
		tk.Header[k] = v
	}
	s, err := tk.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withHeader replaces a token's header, keeping payload and signature.
func withHeader(tok, header string) string {
	parts := strings.SplitN(tok, ".", 3)
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + parts[1] + "." + parts[2]
}

// withPayload replaces a token's payload, keeping header and signature.
func withPayload(tok, payload string) string {
	parts := strings.SplitN(tok, ".", 3)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + parts[2]
}

type authCase struct {
	name   string
	target string
	lines  string // header lines, each ending in CRLF
	want   []int
}

func jwtCases(t *testing.T) []authCase {
	valid := token(t, nil, nil)
	exp := time.Now().Add(time.Hour).Unix()
	bearer := func(tok string) string { return "Authorization: Bearer " + tok + "\r\n" }
	refused := []int{401}
	return []authCase{
		{name: "valid token", lines: bearer(valid), want: []int{200}},
		{name: "lower-case bearer prefix", lines: "Authorization: bearer " + valid + "\r\n", want: []int{200}},
		{name: "alg none", lines: bearer(signWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, nil)), want: refused},
		{name: "alg none keeping the signature", lines: bearer(withHeader(valid, `{"alg":"none","kid":"k1","typ":"JWT"}`)), want: refused},
		{name: "alg NONE", lines: bearer(withHeader(valid, `{"alg":"NONE","kid":"k1"}`)), want: refused},
		{name: "HS256 with the RSA public key as secret", lines: bearer(signWith(t, jwt.SigningMethodHS256, publicKeyPEM(), nil, nil)), want: refused},
		{name: "signed by another key", lines: bearer(signWith(t, jwt.SigningMethodRS256, otherKey(), nil, nil)), want: refused},
		{name: "jku pointing elsewhere", lines: bearer(signWith(t, jwt.SigningMethodRS256, otherKey(), nil,
			map[string]any{"jku": "http://127.0.0.1:9/evil.json", "x5u": "http://127.0.0.1:9/evil.pem"})), want: refused},
		{name: "unknown kid", lines: bearer(token(t, nil, map[string]any{"kid": "nope"})), want: refused},
		{name: "kid path traversal", lines: bearer(token(t, nil, map[string]any{"kid": "../../../../../dev/null"})), want: refused},
		{name: "kid SQL", lines: bearer(token(t, nil, map[string]any{"kid": "' OR '1'='1"})), want: refused},
		{name: "kid missing", lines: bearer(token(t, nil, map[string]any{"kid": nil})), want: refused},
		{name: "kid a number", lines: bearer(token(t, nil, map[string]any{"kid": 1})), want: refused},
		{name: "kid 4 KB", lines: bearer(token(t, nil, map[string]any{"kid": strings.Repeat("k", 4096)})), want: refused},
		{name: "tampered payload", lines: bearer(withPayload(valid, fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"admin","exp":%d}`, issuer, audience, exp))), want: refused},
		{name: "empty signature", lines: bearer(strings.Join(strings.SplitN(valid, ".", 3)[:2], ".") + "."), want: refused},
		{name: "expired", lines: bearer(token(t, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}, nil)), want: refused},
		{name: "not valid yet", lines: bearer(token(t, jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()}, nil)), want: refused},
		{name: "foreign issuer", lines: bearer(token(t, jwt.MapClaims{"iss": "https://evil.example"}, nil)), want: refused},
		{name: "foreign audience", lines: bearer(token(t, jwt.MapClaims{"aud": "someone-else"}, nil)), want: refused},
		{name: "garbage token", lines: bearer("not.a.jwt"), want: refused},
		{name: "huge invalid token", lines: bearer(strings.Repeat("A", 3000) + "." + strings.Repeat("B", 3000) + "." + strings.Repeat("C", 3000)), want: refused},
		{name: "token over max_header_bytes", lines: bearer(strings.Repeat("A", 100<<10)), want: []int{431}},
		{name: "two Authorization headers, valid first", lines: bearer(valid) + "Authorization: Bearer junk\r\n", want: []int{400, 401}},
		{name: "two Authorization headers, valid last", lines: "Authorization: Bearer junk\r\n" + bearer(valid), want: []int{400, 401}},
		{name: "two Authorization headers on a route without authorizer", target: "/api/twoauth?t=x", lines: bearer(valid) + "Authorization: Basic YTpi\r\n", want: []int{400, 401}},
		{name: "API key missing", target: "/key/a?t=x", want: []int{403}},
		{name: "API key wrong", target: "/key/a?t=x", lines: "X-Api-Key: " + strings.ToLower(apiKey) + "\r\n", want: []int{403}},
		{name: "API key header in mixed case", target: "/key/a?t=x", lines: "x-API-kEY: " + apiKey + "\r\n", want: []int{200}},
	}
}

func TestAuth(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{})
	const class = "auth"
	for _, c := range jwtCases(t) {
		f.run(t, class, c.name, func(t *testing.T) {
			target := c.target
			if target == "" {
				target = "/jwt/a?t=x"
			}
			out, reqs := f.do(get(target, "a.example", c.lines))
			if !slices.Contains(c.want, out.status()) {
				t.Errorf("want %v, got %s", c.want, out)
			}
			if out.status() != 200 && len(reqs) > 0 {
				t.Errorf("a refused request reached the origin: %s", targets(reqs))
			}
			for _, r := range reqs {
				if n := len(r.values("Authorization")); n > 1 {
					t.Errorf("origin received %d Authorization headers", n)
				}
			}
		})
	}

	f.run(t, class, "unknown kids do not hammer the JWKS", func(t *testing.T) {
		before := f.jwks.fetches.Load()
		for i := range 30 {
			out, _ := f.do(get("/jwt/kids?t=x", "a.example", "Authorization: Bearer "+token(t, nil, map[string]any{"kid": fmt.Sprintf("kid-%d", i)})+"\r\n"))
			if out.status() != 401 {
				t.Errorf("unknown kid %d: want 401, got %s", i, out)
			}
		}
		if n := f.jwks.fetches.Load() - before; n > 1 {
			t.Errorf("30 unknown kids caused %d JWKS fetches, want at most 1 (jwks_min_refetch)", n)
		}
	})

	for _, c := range sigv4Cases() {
		f.run(t, class, c.name, func(t *testing.T) {
			out, _ := f.do(c.payload)
			if out.status() != c.want {
				t.Errorf("want %d, got %s", c.want, out)
			}
		})
	}

	f.run(t, class, "no secret in the logs", func(t *testing.T) {
		logs := f.fd.logs.String()
		for _, s := range []string{apiKey, sigv4Secret, strings.SplitN(token(t, nil, nil), ".", 3)[2]} {
			if strings.Contains(logs, s) {
				t.Errorf("frontdesk's log holds a secret: %s…", s[:8])
			}
		}
	})
}

type sigv4Case struct {
	name    string
	payload string
	want    int
}

// signed is an @connections request signed as an AWS SDK would sign it;
// change lets a case alter the request after signing (a replay).
func signed(method, path string, body []byte, secret, service string, at time.Time, hashHeader bool, change func(path string, body []byte) (string, []byte)) string {
	const host = "a.example"
	req, _ := http.NewRequest(method, "http://"+host+path, bytes.NewReader(body))
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if hashHeader {
		req.Header.Set("X-Amz-Content-Sha256", hash)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: sigv4Key, SecretAccessKey: secret},
		req, hash, service, "us-east-1", at); err != nil {
		panic(err)
	}
	if change != nil {
		path, body = change(path, body)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range req.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	return b.String()
}

func sigv4Cases() []sigv4Case {
	const path = "/wss/prod/@connections/AAAAAAAAAAAAAAAA"
	now := time.Now().UTC()
	body := []byte(`{"hello":"world"}`)
	return []sigv4Case{
		{name: "SigV4 valid, unknown connection", payload: signed("POST", path, body, sigv4Secret, "execute-api", now, false, nil), want: 410},
		{name: "SigV4 missing", payload: "POST " + path + " HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi", want: 403},
		{name: "SigV4 forged with another secret", payload: signed("POST", path, body, "not-the-secret", "execute-api", now, false, nil), want: 403},
		{name: "SigV4 replayed on another connection", payload: signed("POST", path, body, sigv4Secret, "execute-api", now, false,
			func(string, []byte) (string, []byte) { return "/wss/prod/@connections/BBBBBBBBBBBBBBBB", body }), want: 403},
		{name: "SigV4 replayed with another body", payload: signed("POST", path, body, sigv4Secret, "execute-api", now, false,
			func(p string, _ []byte) (string, []byte) { return p, []byte(`{"hello":"evil!"}`) }), want: 403},
		{name: "SigV4 replayed with another body and the old hash", payload: signed("POST", path, body, sigv4Secret, "execute-api", now, true,
			func(p string, _ []byte) (string, []byte) { return p, []byte(`{"hello":"evil!"}`) }), want: 403},
		{name: "SigV4 replayed after 6 minutes", payload: signed("POST", path, body, sigv4Secret, "execute-api", now.Add(-6*time.Minute), false, nil), want: 403},
		{name: "SigV4 signed for another service", payload: signed("POST", path, body, sigv4Secret, "s3", now, false, nil), want: 403},
		{name: "SigV4 DELETE replayed as POST", payload: strings.Replace(signed("DELETE", path, nil, sigv4Secret, "execute-api", now, false, nil), "DELETE", "POST", 1), want: 403},
	}
}
