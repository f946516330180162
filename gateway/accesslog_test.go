package gateway

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/valyala/fasthttp"
)

// lockedBuffer is an access-log output the test reads after Close.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestAccessLogNamesTheAPIStageAndErrors(t *testing.T) {
	const src = `
apis:
  petstore:
    type: http
    stages: {prod: {}}
    authorizers:
      users: {type: jwt, issuer: "https://issuer.test/", audience: [petstore], jwks_url: "http://127.0.0.1:1/jwks"}
    integrations:
      up: {type: http_proxy, url: "http://upstream.test:80/pets/{id}"}
      broken: {type: http_proxy, url: "http://upstream.test:80/broken"}
    routes:
      "GET /pets/{id}": {integration: up}
      "GET /broken": {integration: broken}
      "GET /private": {integration: up, authorizer: users}
  shop:
    type: rest
    base_path: /shop
    stages: {prod: {}}
    integrations:
      m: {type: mock}
    routes:
      "GET /items": {integration: m}
`
	upstream := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/broken" {
			// Close the connection without an answer: an integration error.
			ctx.HijackSetNoResponse(true)
			ctx.Hijack(func(net.Conn) {})
			return
		}
		petUpstream(ctx)
	}
	g := newTestGateway(t, src, upstream)
	out := &lockedBuffer{}
	l, err := accesslog.New(accesslog.Options{Output: "test", Writer: out, Format: accesslog.FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	g.SetAccessLog(l)
	paths := []string{"/prod/nope", "/shop/prod/nope", "/prod/broken", "/prod/private", "/prod/pets/42"}
	for _, p := range paths {
		ctx := newCtx("GET", p)
		g.Handle(ctx)
		drain(ctx)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.b.String()), "\n")
	if len(lines) != len(paths) {
		t.Fatalf("%d lines for %d requests:\n%s", len(lines), len(paths), out.b.String())
	}
	for i, tc := range []struct {
		status                                        float64
		apiID, stage, errorMessage, integErr, authErr string
	}{
		// apiId is the API's id, not its name, as AWS logs it.
		{404, config.APIID("petstore"), "prod", "Not Found", "", ""},
		{403, config.APIID("shop"), "prod", "Missing Authentication Token", "", ""},
		{502, config.APIID("petstore"), "prod", "Bad Gateway", "EOF", ""},
		{401, config.APIID("petstore"), "prod", "Unauthorized", "", "?"},
		{200, config.APIID("petstore"), "prod", "", "", ""},
	} {
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &got); err != nil {
			t.Fatalf("line %d: %v\n%s", i, err, lines[i])
		}
		str := func(k string) string { s, _ := got[k].(string); return s }
		if got["status"] != tc.status || str("apiId") != tc.apiID || str("stage") != tc.stage || str("errorMessage") != tc.errorMessage {
			t.Errorf("%s: status %v apiId %q stage %q errorMessage %q, want %v %q %q %q\n%s", paths[i],
				got["status"], str("apiId"), str("stage"), str("errorMessage"), tc.status, tc.apiID, tc.stage, tc.errorMessage, lines[i])
		}
		if ie := str("integrationErrorMessage"); (tc.integErr == "") != (ie == "") || !strings.Contains(ie, tc.integErr) {
			t.Errorf("%s: integrationErrorMessage %q, want one containing %q\n%s", paths[i], ie, tc.integErr, lines[i])
		}
		if ae := str("authorizerError"); (tc.authErr == "") != (ae == "") {
			t.Errorf("%s: authorizerError %q, want it set: %v\n%s", paths[i], ae, tc.authErr != "", lines[i])
		}
	}
}
