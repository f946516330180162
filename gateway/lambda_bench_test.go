package gateway

import (
	"context"
	"testing"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// fixedResult is a function that always returns the same payload, without
// copying it per call as answering does, so the benchmark counts the
// gateway's allocations only.
type fixedResult []byte

func (r fixedResult) Invoke(context.Context, []byte) (lambda.Result, error) {
	return lambda.Result{Payload: r}, nil
}

// BenchmarkLambdaRoute is a route with a Lambda integration served through
// Handle, with a function answered in memory by a small 2.0 result: the
// event is built, the function called and its result parsed and written,
// in both payload formats (1.0 reads the same answer under its rules).
// What the function's transport costs is lambda/invoke's and lambda/host's
// business, not measured here.
func BenchmarkLambdaRoute(b *testing.B) {
	for _, format := range []string{"2.0", "1.0"} {
		b.Run(format, func(b *testing.B) {
			src := `apis:
  a:
    type: http
    integrations:
      fn: {type: lambda, function: f, payload_format: "` + format + `"}
    routes:
      "GET /pets/{id}": {integration: fn}
functions:
  f: {command: ["unused"]}
`
			answer := fixedResult(`{"statusCode":200,"headers":{"content-type":"application/json"},"body":"{\"id\":42,\"name\":\"Rex\"}"}`)
			g := functionGateway(b, src, map[string]lambda.Invoker{"f": answer})
			ctx := newCtx("GET", "/pets/42?verbose=1")
			ctx.Request.Header.Set("Accept", "application/json")
			ctx.Request.Header.Set("User-Agent", "bench/1.0")
			g.Handle(ctx)
			if got := string(ctx.Response.Body()); got != `{"id":42,"name":"Rex"}` {
				b.Fatalf("answered %d %q", ctx.Response.StatusCode(), got)
			}
			drain(ctx)
			serveLoop(b, g, ctx)
		})
	}
}
