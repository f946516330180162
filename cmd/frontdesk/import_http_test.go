package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"
)

// An HTTP API export with a JWT authorizer (keys found by OpenID
// discovery at the issuer, as AWS does) and CORS, served as it is.
func TestServeImportedHTTPAPIWithJWTAndCORSOverTCP(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var issuer string
	idp := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		switch string(ctx.Path()) {
		case "/.well-known/openid-configuration":
			json.NewEncoder(ctx).Encode(map[string]string{"issuer": issuer, "jwks_uri": issuer + "jwks"})
		case "/jwks":
			json.NewEncoder(ctx).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
		default:
			ctx.SetStatusCode(404)
		}
	})
	issuer = "http://" + idp + "/"
	token := func(aud, scope string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": issuer, "aud": aud, "sub": "u1", "scope": scope,
			"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyString("upstream " + string(ctx.Path()))
	})
	src, err := os.ReadFile(testdata + "http-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.ReplaceAll(src, []byte("https://issuer.example.com/"), []byte(issuer))
	src = bytes.ReplaceAll(src, []byte("backend.example.com"), []byte(up))
	src = bytes.ReplaceAll(src, []byte("files.example.com"), []byte(up))
	dir := t.TempDir()
	spec := filepath.Join(dir, "items.json")
	os.WriteFile(spec, src, 0o600)

	addr, _, _ := serveFile(t, spec, "--functions", abs(t, testdata+"functions.yaml"))
	call := caller(t, addr)

	if code, body, _ := call("GET", "/items/7"); code != 401 || !strings.Contains(body, `"Unauthorized"`) {
		t.Errorf("no token: %d %s, want 401 Unauthorized", code, body)
	}
	if code, body, _ := call("GET", "/items/7", "Authorization", token("someone-else", "")); code != 401 {
		t.Errorf("wrong audience: %d %s, want 401", code, body)
	}
	if code, body, _ := call("GET", "/items/7", "Authorization", token("items-client", "")); code != 200 || body != "upstream /items/7" {
		t.Errorf("valid token: %d %q", code, body)
	}
	if code, body, _ := call("GET", "/items", "Authorization", token("items-client", "other:scope")); code != 403 || !strings.Contains(body, `"Forbidden"`) {
		t.Errorf("token without items:read: %d %s, want 403 Forbidden", code, body)
	}
	if code, body, _ := call("GET", "/files/a/b.txt"); code != 200 || body != "upstream /files/a/b.txt" {
		t.Errorf("ANY /files/{proxy+}: %d %q", code, body)
	}
	code, _, h := call("OPTIONS", "/items/7", "Origin", "https://app.example.com", "Access-Control-Request-Method", "GET")
	if code != 204 || string(h.Peek("Access-Control-Allow-Origin")) != "https://app.example.com" || string(h.Peek("Access-Control-Allow-Credentials")) != "true" {
		t.Errorf("CORS preflight: %d allow-origin %q credentials %q", code, h.Peek("Access-Control-Allow-Origin"), h.Peek("Access-Control-Allow-Credentials"))
	}
	if _, _, h := call("GET", "/items/7", "Origin", "https://app.example.com", "Authorization", token("items-client", "")); string(h.Peek("Access-Control-Allow-Origin")) != "https://app.example.com" {
		t.Errorf("CORS on the answer: allow-origin %q", h.Peek("Access-Control-Allow-Origin"))
	}
}
