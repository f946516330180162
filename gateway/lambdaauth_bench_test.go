package gateway

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/proxy"
)

// answering is an authorizer function that always gives the same answer.
type answering string

func (a answering) Invoke(context.Context, []byte) (lambda.Result, error) {
	return lambda.Result{Payload: []byte(a)}, nil
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
			cfg, _, err := config.Parse("bench.yaml", []byte(src), func(string) (string, bool) { return "", false })
			if err != nil {
				b.Fatal(err)
			}
			snap, err := Compile(cfg, Deps{Pools: &proxy.Pools{}, Authorizers: &Authorizers{},
				Functions: map[string]lambda.Invoker{"f": bc.answer}})
			if err != nil {
				b.Fatal(err)
			}
			g := New(snap, slog.New(slog.NewTextHandler(io.Discard, nil)))
			ctx := newCtx("GET", "/ping")
			ctx.Request.Header.Set("X-Token", "token-1")
			g.Handle(ctx) // the first request of the identity calls the function
			drain(ctx)
			serveLoop(b, g, ctx)
		})
	}
}
