package lambda

import "context"

// traceHeaderKey is the key under which a Context answers its trace
// header, for contexts derived from one.
type traceHeaderKey struct{}

// TraceHeader is the X-Ray trace header of the invocation
// ("Root=1-…;Parent=…;Sampled=1") that Context.Arm put in ctx, or ctx's
// parent Context, or "". A local function's runtime gets it as
// Lambda-Runtime-Trace-Id, which aws-lambda-go and the other runtimes put
// in _X_AMZN_TRACE_ID.
func TraceHeader(ctx context.Context) string {
	if c, ok := ctx.(*Context); ok {
		return c.traceHeader() // without boxing the string in an any
	}
	h, _ := ctx.Value(traceHeaderKey{}).(string)
	return h
}
