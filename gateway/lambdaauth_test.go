package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/registry"
)

// answering is an authorizer function that always gives the same answer.
type answering string

func (a answering) Invoke(context.Context, []byte) (lambda.Result, error) {
	return lambda.Result{Payload: []byte(a)}, nil
}

// functionGateway compiles src with its functions answered by fns.
func functionGateway(tb testing.TB, src string, fns map[string]lambda.Invoker) *Gateway {
	tb.Helper()
	cfg, _, err := config.Parse("t.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	regs := &Registries{Authorizers: &Authorizers{Log: quiet},
		Functions: registry.NewSet("function", registry.Hooks[string, config.Function, *Function]{
			Open: func(_ *registry.Gen, name string, _ config.Function) (*Function, error) {
				return &Function{Invoker: fns[name]}, nil
			},
		})}
	p := regs.Begin()
	snap, err := Compile(cfg, Deps{Pending: p})
	if err != nil {
		tb.Fatal(err)
	}
	p.Commit()
	return New(snap, quiet)
}

// BenchmarkLambdaAuthorizerCachedDecision is a mock route behind a Lambda
// authorizer whose decision for the request's identity is cached: what
// every request but the first of an identity costs, in both payload
// formats (1.0 with an IAM policy evaluated against the method ARN).
func BenchmarkLambdaAuthorizerCachedDecision(b *testing.B) {
	for _, bc := range []struct {
		format, simple string
		answer         answering
	}{
		{"2.0", "true", `{"isAuthorized":true,"context":{"user":"u-1"}}`},
		{"1.0", "false", `{"principalId":"p","policyDocument":{"Version":"2012-10-17","Statement":[` +
			`{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"arn:aws:execute-api:*:*:*/*/GET/ping"}]},"context":{"user":"u-1"}}`},
	} {
		b.Run(bc.format, func(b *testing.B) {
			src := `apis:
  a:
    type: http
    authorizers:
      gate: {type: lambda, function: f, identity_source: ["$request.header.X-Token"], ttl: 60s, payload_format: "` + bc.format + `", simple_responses: ` + bc.simple + `}
    integrations:
      ping: {type: mock, body: ok}
    routes:
      "GET /ping": {integration: ping, authorizer: gate}
functions:
  f: {command: ["unused"]}
`
			g := functionGateway(b, src, map[string]lambda.Invoker{"f": bc.answer})
			ctx := newCtx("GET", "/ping")
			ctx.Request.Header.Set("X-Token", "token-1")
			g.Handle(ctx) // the first request of the identity calls the function
			drain(ctx)
			serveLoop(b, g, ctx)
		})
	}
}

// slowAllow is a payload 1.0 authorizer function that takes its time.
type slowAllow struct{ d time.Duration }

func (s slowAllow) Invoke(context.Context, []byte) (lambda.Result, error) {
	time.Sleep(s.d)
	return lambda.Result{Payload: []byte(`{"principalId":"p","policyDocument":{"Version":"2012-10-17",` +
		`"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"}]}}`)}, nil
}

// recording is a Lambda integration that keeps the last event it got.
type recording struct{ event chan []byte }

func (r recording) Invoke(_ context.Context, payload []byte) (lambda.Result, error) {
	r.event <- bytes.Clone(payload)
	return lambda.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

func TestPayloadV1EventCarriesTheAuthorizersLatency(t *testing.T) {
	src := `apis:
  a:
    type: http
    authorizers:
      gate: {type: lambda, function: auth, identity_source: ["$request.header.X-Token"], payload_format: "1.0"}
    integrations:
      fn: {type: lambda, function: fn, payload_format: "1.0"}
    routes:
      "GET /x": {integration: fn, authorizer: gate}
functions:
  auth: {command: ["unused"]}
  fn: {command: ["unused"]}
`
	rec := recording{make(chan []byte, 1)}
	g := functionGateway(t, src, map[string]lambda.Invoker{"auth": slowAllow{30 * time.Millisecond}, "fn": rec})
	ctx := newCtx("GET", "/x")
	ctx.Request.Header.Set("X-Token", "t")
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	var event struct {
		RequestContext struct {
			Authorizer struct {
				PrincipalID        string `json:"principalId"`
				IntegrationLatency int64  `json:"integrationLatency"`
			} `json:"authorizer"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(<-rec.event, &event); err != nil {
		t.Fatal(err)
	}
	if a := event.RequestContext.Authorizer; a.PrincipalID != "p" || a.IntegrationLatency < 30 {
		t.Errorf("authorizer context %+v, want principalId p and integrationLatency ≥ 30 ms", a)
	}
}

// failing is an authorizer function whose invocations fail.
type failing struct{}

func (failing) Invoke(context.Context, []byte) (lambda.Result, error) {
	return lambda.Result{}, errors.New("function unreachable")
}

// REST APIs answer an authorizer's deny and failure in their own words
// (docs/errors.md).
func TestRESTAuthorizerDenyAndFailureAnswers(t *testing.T) {
	deny := answering(`{"principalId":"p","policyDocument":{"Version":"2012-10-17",` +
		`"Statement":[{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]}}`)
	for _, tc := range []struct {
		name      string
		fn        lambda.Invoker
		status    int
		body      string
		errorType string
	}{
		{"deny", deny, 403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, "AccessDeniedException"},
		{"failure", failing{}, 500, `{"message":null}`, "AuthorizerConfigurationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := `apis:
  a:
    type: rest
    authorizers:
      gate: {type: lambda, function: auth, identity_source: ["$request.header.X-Token"]}
    integrations:
      ping: {type: mock, body: ok}
    routes:
      "GET /x": {integration: ping, authorizer: gate}
functions:
  auth: {command: ["unused"]}
`
			g := functionGateway(t, src, map[string]lambda.Invoker{"auth": tc.fn})
			ctx := newCtx("GET", "/x")
			ctx.Request.Header.Set("X-Token", "t")
			g.Handle(ctx)
			resp := &ctx.Response
			if resp.StatusCode() != tc.status || string(resp.Body()) != tc.body ||
				string(resp.Header.Peek("x-amzn-ErrorType")) != tc.errorType || string(resp.Header.ContentType()) != "application/json" {
				t.Errorf("%d %s (%s, %s), want %d %s (%s)", resp.StatusCode(), resp.Body(),
					resp.Header.Peek("x-amzn-ErrorType"), resp.Header.ContentType(), tc.status, tc.body, tc.errorType)
			}
		})
	}
}
