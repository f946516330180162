package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// A REST API export with request validators and models, an HTTP
// integration with a request template and a selectionPattern response, a
// templated mock, and a DEFAULT_4XX gateway response adding CORS headers,
// served as it is: each answers as API Gateway would.
func TestServeImportedRESTTransformsOverTCP(t *testing.T) {
	type seenReq struct{ method, path, body string }
	seen := make(chan seenReq, 16)
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case seen <- seenReq{string(ctx.Method()), string(ctx.Path()), string(ctx.PostBody())}:
		default:
		}
		ctx.SetContentType("application/json")
		if bytes.Contains(ctx.PostBody(), []byte(`"fail"`)) {
			ctx.SetStatusCode(500)
			ctx.SetBodyString(`{"message":"out of stock"}`)
			return
		}
		ctx.Response.Header.Set("X-Order-Id", "77")
		ctx.SetBodyString(`{"ok":true}`)
	})
	src, err := os.ReadFile(testdata + "rest-transform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "orders.yaml")
	os.WriteFile(spec, bytes.ReplaceAll(src, []byte("orders.example.com"), []byte(up)), 0o600)

	addr, logs, _ := serveFile(t, spec, "--functions", abs(t, testdata+"functions.yaml"))

	call := func(method, path, ct, body string, headers ...string) (int, string, *fasthttp.ResponseHeader) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI("http://" + addr + path)
		if ct != "" {
			req.Header.SetContentType(ct)
		}
		req.SetBodyString(body)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		var h fasthttp.ResponseHeader
		resp.Header.CopyTo(&h)
		return resp.StatusCode(), string(resp.Body()), &h
	}
	message := func(body string) string {
		var m struct {
			Message string `json:"message"`
		}
		json.Unmarshal([]byte(body), &m)
		return m.Message
	}
	const order = `{"customer": "ann", "lines": [{"sku": "a", "n": 2}, {"sku": "b", "n": 1}]}`

	// The validator "all" checks the model Order (and LineItem in it).
	for _, bad := range []string{`{"customer": "ann", "lines": []}`, `{"customer": "ann", "lines": [{"sku": "a", "n": 0}]}`, `not json`} {
		code, body, h := call("POST", "/v1/orders?tenant=acme", "application/json", bad)
		if code != 400 || message(body) != "Invalid request body" || string(h.Peek("x-amzn-ErrorType")) != "BadRequestException" {
			t.Errorf("invalid body %s: %d %s %q, want 400 Invalid request body", bad, code, body, h.Peek("x-amzn-ErrorType"))
		}
		// BAD_REQUEST_BODY has no response of its own: DEFAULT_4XX's headers.
		if got := string(h.Peek("Access-Control-Allow-Origin")); got != "*" {
			t.Errorf("invalid body: Access-Control-Allow-Origin %q, want * from DEFAULT_4XX", got)
		}
	}
	if code, body, _ := call("POST", "/v1/orders", "application/json", order); code != 400 || message(body) != "Missing required request parameters: [tenant]" {
		t.Errorf("no tenant: %d %s", code, body)
	}
	if code, body, _ := call("GET", "/v1/items/1", "", ""); code != 400 || message(body) != "Missing required request parameters: [x-tenant]" {
		t.Errorf("params-only validator, no x-tenant header: %d %s", code, body)
	}

	// A valid order goes through the request template to PUT /v2/orders,
	// and the default integration response makes it a 201 with the
	// upstream's X-Order-Id.
	code, body, h := call("POST", "/v1/orders?tenant=acme", "application/json", order)
	if code != 201 || string(h.Peek("X-Order-Id")) != "77" || string(h.Peek("X-Served-By")) != "frontdesk" {
		t.Errorf("valid order: %d %s X-Order-Id %q X-Served-By %q", code, body, h.Peek("X-Order-Id"), h.Peek("X-Served-By"))
	}
	select {
	case r := <-seen:
		var got map[string]any
		if err := json.Unmarshal([]byte(r.body), &got); err != nil {
			t.Fatalf("upstream got no JSON: %v\n%s", err, r.body)
		}
		want := `{"customer":"ann","lines":[{"n":2,"sku":"a"},{"n":1,"sku":"b"}],"tenant":"acme"}`
		if b, _ := json.Marshal(got); r.method != "PUT" || r.path != "/v2/orders" || string(b) != want {
			t.Errorf("upstream got %s %s %s, want PUT /v2/orders %s", r.method, r.path, b, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream was not called")
	}
	// The upstream's 500 matches the selectionPattern 5\d{2}: a 400 with
	// the response template's body.
	code, body, _ = call("POST", "/v1/orders?tenant=acme", "application/json", `{"customer": "fail", "lines": [{"sku": "a", "n": 1}]}`)
	if code != 400 || body != `{"error": "order rejected", "reason": "out of stock"}` {
		t.Errorf("upstream 500 through selectionPattern: %d %s", code, body)
	}
	// passthroughBehavior WHEN_NO_TEMPLATES with a template for JSON only.
	if code, body, _ := call("POST", "/v1/orders?tenant=acme", "text/plain", "hello"); code != 415 {
		t.Errorf("text/plain with WHEN_NO_TEMPLATES: %d %s, want 415", code, body)
	}

	// The templated mock: the request template picks the status, the
	// response template fills the body.
	code, body, h = call("GET", "/v1/status/ok", "", "")
	if code != 200 || body != `{"code": "ok", "stage": "v1"}` || string(h.Peek("Cache-Control")) != "no-store" {
		t.Errorf("templated mock: %d %s Cache-Control %q", code, body, h.Peek("Cache-Control"))
	}
	if code, body, _ := call("GET", "/v1/status/teapot", "", ""); code != 418 || body != `{"message": "I am a teapot"}` {
		t.Errorf("templated mock, 418 selected by the request template: %d %s", code, body)
	}

	// DEFAULT_4XX adds the CORS headers to 403 Missing Authentication Token.
	code, body, h = call("GET", "/v1/nope", "", "")
	if code != 403 || message(body) != "Missing Authentication Token" || string(h.Peek("Access-Control-Allow-Origin")) != "*" ||
		string(h.Peek("Access-Control-Allow-Headers")) != "Content-Type,X-Tenant" {
		t.Errorf("unknown route: %d %s, CORS %q %q", code, body, h.Peek("Access-Control-Allow-Origin"), h.Peek("Access-Control-Allow-Headers"))
	}
	// What is still not mapped was reported at start.
	if !strings.Contains(logs.String(), "X-Amz-Invocation-Type") {
		t.Errorf("start-up log lacks the unsupported-construct report:\n%s", logs.String())
	}
}

// An HTTP API export whose integration maps parameters: the header
// rename, the path rewrite and the added query parameter reach the
// backend, and the answer's status is overwritten, as API Gateway does.
func TestServeImportedHTTPAPIParameterMappingOverTCP(t *testing.T) {
	type seenReq struct{ path, query, user, oldUser string }
	seen := make(chan seenReq, 4)
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case seen <- seenReq{string(ctx.Path()), string(ctx.QueryArgs().Peek("source")), string(ctx.Request.Header.Peek("x-user")), string(ctx.Request.Header.Peek("x-old-user"))}:
		default:
		}
		ctx.SetBodyString("ok")
	})
	src, err := os.ReadFile(testdata + "http-api-mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(t.TempDir(), "mapped.yaml")
	os.WriteFile(spec, bytes.ReplaceAll(src, []byte("backend.example.com"), []byte(up)), 0o600)
	addr, logs, _ := serveFile(t, spec, "--functions", abs(t, testdata+"functions.yaml"))
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/items/42")
	req.Header.Set("x-old-user", "bob")
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 201 || string(resp.Header.Peek("x-route")) != "GET /items/{id}" {
		t.Errorf("answer %d x-route %q, want 201 (overwrite:statuscode) and the route key", resp.StatusCode(), resp.Header.Peek("x-route"))
	}
	select {
	case r := <-seen:
		if r.path != "/v2/items/42" || r.query != "gw-$default" || r.user != "bob" || r.oldUser != "" {
			t.Errorf("backend got %+v, want path /v2/items/42, query source gw-$default, x-user bob and no x-old-user", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the backend was not called")
	}
	if !strings.Contains(logs.String(), "overwrite:header.host") {
		t.Errorf("the refused mapping is not reported at start:\n%s", logs.String())
	}
}
