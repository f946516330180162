package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// seenRequest is what an upstream received.
type seenRequest struct {
	uri    string
	header http.Header
	body   string
}

// echoUpstream records every request it gets and answers
// {"path":"<request URI>"} with X-Upstream: yes.
type echoUpstream struct {
	mu   sync.Mutex
	seen []seenRequest
	addr string
}

func startEchoUpstream(t *testing.T) *echoUpstream {
	u := &echoUpstream{}
	u.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		h := http.Header{}
		for k, v := range ctx.Request.Header.All() {
			h.Add(string(k), string(v))
		}
		u.mu.Lock()
		u.seen = append(u.seen, seenRequest{uri: string(ctx.Request.RequestURI()), header: h, body: string(ctx.Request.Body())})
		u.mu.Unlock()
		ctx.Response.Header.Set("X-Upstream", "yes")
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"path":%q,"n":[1,2]}`, ctx.Request.RequestURI())
	})
	return u
}

func (u *echoUpstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.seen...)
}

const validationConfig = `
access_log: {output: %q, format: json}
apis:
  shop:
    type: rest
    stages: {v1: {}}
    request_validators:
      all: {validate_request_body: true, validate_request_parameters: true}
      params: {validate_request_body: false, validate_request_parameters: true}
    models:
      Pet:
        schema:
          type: object
          required: [name]
          properties:
            name: {type: string}
            age: {type: integer, minimum: 0}
    integrations:
      up: {type: http_proxy, url: "http://%s"}
    routes:
      "POST /pets":
        integration: up
        request_validator: all
        request_models: {application/json: Pet}
        request_parameters:
          method.request.querystring.q1: true
          method.request.header.x-h: true
          method.request.querystring.optional: false
      "GET /search":
        integration: up
        request_validator: params
        request_models: {application/json: Pet}
        request_parameters: {method.request.querystring.q: true}
      "POST /open": {integration: up}
`

// A REST route with a request validator answers bad requests itself, with
// API Gateway's bodies and x-amzn-ErrorType, logs why, and passes good ones
// on untouched.
func TestRequestValidatorRefusesBadRequestsAsAPIGateway(t *testing.T) {
	up := startEchoUpstream(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.log")
	path := filepath.Join(dir, "frontdesk.yaml")
	writeFile(t, path, fmt.Sprintf(validationConfig, logPath, up.addr))
	s, base, _ := startFromFile(t, path)

	json := []string{"Content-Type", "application/json"}
	withH := append([]string{"X-H", "v"}, json...)
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		answer, detail           string
	}{
		{"both parameters missing", "POST", "/v1/pets", `{"name":"rex"}`, json,
			400, `{"message":"Missing required request parameters: [x-h, q1]"}`, "Missing required request parameters: [x-h, q1]"},
		{"blank query parameter", "POST", "/v1/pets?q1=", `{"name":"rex"}`, withH,
			400, `{"message":"Missing required request parameters: [q1]"}`, "Missing required request parameters: [q1]"},
		{"blank header", "POST", "/v1/pets?q1=a", `{"name":"rex"}`, append([]string{"X-H", " "}, json...),
			400, `{"message":"Missing required request parameters: [x-h]"}`, "Missing required request parameters: [x-h]"},
		{"body misses a required property", "POST", "/v1/pets?q1=a", `{"age":3}`, withH,
			400, `{"message":"Invalid request body"}`, `[object has missing required properties (["name"])]`},
		{"body of the wrong type", "POST", "/v1/pets?q1=a", `{"name":"rex","age":-1}`, withH,
			400, `{"message":"Invalid request body"}`, `[numeric instance is lower than the required minimum (minimum: 0, found: -1)]`},
		{"body not JSON", "POST", "/v1/pets?q1=a", `{"name":`, withH,
			400, `{"message":"Invalid request body"}`, "[Invalid request body: not JSON"},
		{"empty body", "POST", "/v1/pets?q1=a", ``, withH,
			400, `{"message":"Invalid request body"}`, `[instance type (null) does not match any allowed primitive type (allowed: ["object"])]`},
		{"good request", "POST", "/v1/pets?q1=a", `{"name":"rex","age":3}`, withH, 200, "", ""},
		{"content type without a model", "POST", "/v1/pets?q1=a", `not json`, []string{"X-H", "v", "Content-Type", "text/plain"}, 200, "", ""},
		{"parameters-only validator ignores the body", "GET", "/v1/search?q=x", `{"age":"old"}`, json, 200, "", ""},
		{"parameters-only validator", "GET", "/v1/search", ``, nil,
			400, `{"message":"Missing required request parameters: [q]"}`, "Missing required request parameters: [q]"},
		{"route without a validator", "POST", "/v1/open", `{"age":"old"}`, json, 200, "", ""},
	}
	for _, tt := range tests {
		before := len(up.requests())
		r := do(t, tt.method, base+tt.path, strings.NewReader(tt.body), tt.headers...)
		after := up.requests()
		if r.status != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, r.status, tt.status, r.body)
			continue
		}
		if tt.status == 400 {
			if r.body != tt.answer || r.header.Get("X-Amzn-Errortype") != "BadRequestException" ||
				r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Amzn-Requestid") == "" {
				t.Errorf("%s: answer %s %v, want %s with x-amzn-ErrorType BadRequestException", tt.name, r.body, r.header, tt.answer)
			}
			if len(after) != before {
				t.Errorf("%s: a refused request reached the upstream", tt.name)
			}
			continue
		}
		if len(after) != before+1 || after[len(after)-1].body != tt.body {
			t.Errorf("%s: the upstream did not get the body whole: %+v", tt.name, after[before:])
		}
	}

	s.gw.AccessLog().Close() // flush
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("want %d log lines, got %d:\n%s", len(tests), len(lines), b)
	}
	for i, tt := range tests {
		var rec map[string]any
		if err := jsonUnmarshal(lines[i], &rec); err != nil {
			t.Fatal(err)
		}
		got, _ := rec["validationErrorString"].(string)
		if tt.detail == "" && got != "" || !strings.HasPrefix(got, tt.detail) {
			t.Errorf("%s: validationErrorString %q, want %q", tt.name, got, tt.detail)
		}
		if tt.status == 400 && rec["errorMessage"] == nil {
			t.Errorf("%s: no errorMessage logged", tt.name)
		}
	}
}

var jsonUnmarshal = func(s string, v any) error { return json.Unmarshal([]byte(s), v) }

const mappingConfig = `
apis:
  web:
    type: http
    stages: {prod: {variables: {env: production}}}
    integrations:
      up:
        type: http_proxy
        url: "http://{{UP}}"
        request_parameters:
          "overwrite:header.x-user": "$request.header.x-old-user"
          "remove:header.x-old-user": "''"
          "overwrite:header.x-request": "$context.requestId"
          "overwrite:path": "/v2/items/${request.path.id}"
          "append:querystring.source": "gw-${stageVariables.env}"
          "overwrite:querystring.limit": "10"
          "remove:querystring.secret": "''"
        response_parameters:
          "200":
            "overwrite:statuscode": "201"
            "overwrite:header.x-upstream-path": "$response.body.path"
            "append:header.x-route": "route ${context.routeKey} on ${context.stage}"
            "remove:header.x-upstream": "''"
      plain: {type: http_proxy, url: "http://{{UP}}"}
    routes:
      "GET /items/{id}": {integration: up}
      "GET /plain/{id}": {integration: plain}
`

// HTTP API parameter mapping renames a header, rewrites the path, edits
// the query string and overwrites the status and headers of the answer;
// routes without mappings are untouched.
func TestParameterMappingRewritesRequestAndResponse(t *testing.T) {
	up := startEchoUpstream(t)
	base := startGateway(t, mappingConfig, up.addr)

	r := do(t, "GET", base+"/prod/items/42?keep=1&secret=s&limit=500&limit=600", nil, "X-Old-User", "ada")
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	got := reqs[0]
	if want := "/v2/items/42?keep=1&source=gw-production&limit=10"; got.uri != want {
		t.Errorf("upstream URI %q, want %q", got.uri, want)
	}
	if got.header.Get("X-User") != "ada" || got.header.Get("X-Old-User") != "" {
		t.Errorf("header not renamed: %v", got.header)
	}
	if id := r.header.Get("Apigw-Requestid"); id == "" || got.header.Get("X-Request") != id {
		t.Errorf("X-Request %q, want the request id %q", got.header.Get("X-Request"), id)
	}
	if r.status != 201 {
		t.Errorf("status %d, want the mapped 201", r.status)
	}
	if p := r.header.Get("X-Upstream-Path"); p != got.uri {
		t.Errorf("X-Upstream-Path %q, want the body's path %q", p, got.uri)
	}
	if v := r.header.Get("X-Route"); v != "route GET /items/{id} on prod" {
		t.Errorf("X-Route %q", v)
	}
	if r.header.Get("X-Upstream") != "" {
		t.Error("removed response header still sent")
	}
	if !strings.Contains(r.body, `"path"`) {
		t.Errorf("body %q", r.body)
	}

	r = do(t, "GET", base+"/prod/plain/7?secret=s", nil, "X-Old-User", "ada")
	reqs = up.requests()
	last := reqs[len(reqs)-1]
	if r.status != 200 || last.uri != "/prod/plain/7?secret=s" && last.uri != "/plain/7?secret=s" || last.header.Get("X-Old-User") != "ada" || r.header.Get("X-Upstream") != "yes" {
		t.Errorf("unmapped route changed: %d %q %v %v", r.status, last.uri, last.header, r.header)
	}
}
