package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/valyala/fasthttp"
)

// keeping is a function that keeps the events it is given and answers
// 200.
type keeping struct {
	mu     sync.Mutex
	events [][]byte
}

func (r *keeping) Invoke(_ context.Context, event []byte) (lambda.Result, error) {
	r.mu.Lock()
	r.events = append(r.events, append([]byte(nil), event...))
	r.mu.Unlock()
	return lambda.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

// restEventView is what the tests read of a 1.0 event; aws-lambda-go's
// request context has no deploymentId.
type restEventView struct {
	events.APIGatewayProxyRequest
	RequestContext struct {
		events.APIGatewayProxyRequestContext
		DeploymentID string `json:"deploymentId"`
	} `json:"requestContext"`
}

const restEventsConfig = `apis:
  a:
    type: rest
    stages: {prod: {}, test: {}}
    integrations:
      fn: {type: lambda, function: f, payload_format: "1.0"}
    routes:
      "GET /pets": {integration: fn}
      "GET /pets/{id}": {integration: fn}
functions:
  f: {command: ["unused"]}
`

// restEvent serves GET uri through g and returns the 1.0 event the
// function got and the response's x-amz-apigw-id.
func restEvent(t *testing.T, g *Gateway, fn *keeping, uri string) (restEventView, string) {
	t.Helper()
	ctx := newCtx("GET", uri)
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("GET %s answered %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
	}
	fn.mu.Lock()
	raw := fn.events[len(fn.events)-1]
	fn.mu.Unlock()
	var ev restEventView
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("event %s: %v", raw, err)
	}
	return ev, string(ctx.Response.Header.Peek("X-Amz-Apigw-Id"))
}

func TestRESTEventHasAPIGatewayStyleIDs(t *testing.T) {
	fn := &keeping{}
	g := functionGateway(t, restEventsConfig, map[string]lambda.Invoker{"f": fn})
	stableID := regexp.MustCompile(`^[0-9a-z]{6}$`)
	extendedID := regexp.MustCompile(`^[A-Za-z0-9+/]{15}=$`)

	type ids struct{ resource, deployment string }
	seen := map[string]ids{}
	for _, tc := range []struct{ uri, key string }{
		{"/prod/pets", "prod /pets"},
		{"/prod/pets/1", "prod /pets/{id}"},
		{"/prod/pets/2", "prod /pets/{id}"},
		{"/test/pets", "test /pets"},
	} {
		ev, _ := restEvent(t, g, fn, tc.uri)
		rc := ev.RequestContext
		if rc.APIID != config.APIID("a") {
			t.Errorf("%s: apiId %q, want the API's id %q", tc.uri, rc.APIID, config.APIID("a"))
		}
		if !stableID.MatchString(rc.ResourceID) {
			t.Errorf("%s: resourceId %q, want 6 lower-case letters and digits", tc.uri, rc.ResourceID)
		}
		if !stableID.MatchString(rc.DeploymentID) {
			t.Errorf("%s: deploymentId %q, want 6 lower-case letters and digits", tc.uri, rc.DeploymentID)
		}
		if !extendedID.MatchString(rc.ExtendedRequestID) || rc.ExtendedRequestID == rc.RequestID {
			t.Errorf("%s: extendedRequestId %q (requestId %q), want 16 base64 characters of its own",
				tc.uri, rc.ExtendedRequestID, rc.RequestID)
		}
		got := ids{rc.ResourceID, rc.DeploymentID}
		if prev, ok := seen[tc.key]; ok && prev != got {
			t.Errorf("%s: ids %v, earlier %v for the same resource", tc.uri, got, prev)
		}
		seen[tc.key] = got
	}
	if seen["prod /pets"].resource == seen["prod /pets/{id}"].resource {
		t.Errorf("two resources share resourceId %q", seen["prod /pets"].resource)
	}
	if seen["prod /pets"].deployment == seen["test /pets"].deployment {
		t.Errorf("two stages share deploymentId %q", seen["prod /pets"].deployment)
	}
	if seen["prod /pets"].resource != seen["test /pets"].resource {
		t.Errorf("one resource has ids %q and %q on two stages", seen["prod /pets"].resource, seen["test /pets"].resource)
	}
}

func TestRESTResponsesCarryTheExtendedRequestID(t *testing.T) {
	fn := &keeping{}
	g := functionGateway(t, restEventsConfig, map[string]lambda.Invoker{"f": fn})
	ev, header := restEvent(t, g, fn, "/prod/pets")
	if header == "" || header != ev.RequestContext.ExtendedRequestID {
		t.Errorf("x-amz-apigw-id %q, want the event's extendedRequestId %q", header, ev.RequestContext.ExtendedRequestID)
	}

	// The gateway's own answers carry it too, as API Gateway's do.
	ctx := newCtx("GET", "/prod/nothing-here")
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 403 || len(ctx.Response.Header.Peek("X-Amz-Apigw-Id")) != 16 {
		t.Errorf("no-route answer %d with x-amz-apigw-id %q", ctx.Response.StatusCode(), ctx.Response.Header.Peek("X-Amz-Apigw-Id"))
	}

	// HTTP APIs send no such header.
	h := functionGateway(t, `apis:
  a:
    type: http
    integrations:
      fn: {type: lambda, function: f}
    routes:
      "GET /pets": {integration: fn}
functions:
  f: {command: ["unused"]}
`, map[string]lambda.Invoker{"f": fn})
	ctx = newCtx("GET", "/pets")
	h.Handle(ctx)
	if v := ctx.Response.Header.Peek("X-Amz-Apigw-Id"); v != nil {
		t.Errorf("HTTP API answer has x-amz-apigw-id %q", v)
	}
}

// readCtx parses raw (a request head, "\n" line ends) as the server
// would, so the request target stays as sent ("//prod/x" is a path).
func readCtx(t *testing.T, raw string) *fasthttp.RequestCtx {
	t.Helper()
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))); err != nil {
		t.Fatalf("read request: %v", err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5555}, nil)
	return ctx
}

// REST APIs collapse repeated slashes as API Gateway does: "/prod//x"
// matches "/x", "//prod/x" is served, and the event's path and proxy value
// lose the double slash while requestContext.path keeps the path as sent.
func TestRESTCollapsesRepeatedSlashes(t *testing.T) {
	fn := &keeping{}
	g := functionGateway(t, `apis:
  a:
    type: rest
    stages: {prod: {}}
    integrations:
      fn: {type: lambda, function: f, payload_format: "1.0"}
    routes:
      "GET /hardcoded": {integration: fn}
      "GET /p/{proxy+}": {integration: fn}
functions:
  f: {command: ["unused"]}
`, map[string]lambda.Invoker{"f": fn})
	for _, tc := range []struct {
		uri, resource, path, contextPath, proxy string
	}{
		{"/prod//hardcoded", "/hardcoded", "/hardcoded", "/prod//hardcoded", ""},
		{"//prod/hardcoded", "/hardcoded", "/hardcoded", "//prod/hardcoded", ""},
		{"/prod/p/a//b", "/p/{proxy+}", "/p/a/b", "/prod/p/a//b", "a/b"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			ctx := readCtx(t, "GET "+tc.uri+" HTTP/1.1\nHost: gw.test\n\n")
			g.Handle(ctx)
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("answered %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			fn.mu.Lock()
			raw := fn.events[len(fn.events)-1]
			fn.mu.Unlock()
			var ev restEventView
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Resource != tc.resource || ev.Path != tc.path || ev.RequestContext.Path != tc.contextPath {
				t.Errorf("resource %q path %q requestContext.path %q, want %q %q %q",
					ev.Resource, ev.Path, ev.RequestContext.Path, tc.resource, tc.path, tc.contextPath)
			}
			if got := ev.PathParameters["proxy"]; got != tc.proxy {
				t.Errorf("proxy %q, want %q", got, tc.proxy)
			}
		})
	}
}
