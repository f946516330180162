package lambda

import "context"

// traceHeaderKey carries an invocation's X-Amzn-Trace-Id value.
type traceHeaderKey struct{}

// WithTraceHeader returns ctx carrying the X-Ray trace header of the
// invocation ("Root=1-…;Parent=…;Sampled=1"). A local function's runtime
// gets it as Lambda-Runtime-Trace-Id, which aws-lambda-go and the other
// runtimes put in _X_AMZN_TRACE_ID; "" leaves ctx as it is.
func WithTraceHeader(ctx context.Context, header string) context.Context {
	if header == "" {
		return ctx
	}
	return context.WithValue(ctx, traceHeaderKey{}, header)
}

// TraceHeader is the trace header WithTraceHeader or Context.Arm put in
// ctx, or "".
func TraceHeader(ctx context.Context) string {
	if c, ok := ctx.(*Context); ok {
		return c.traceHeader() // without boxing the string in an any
	}
	h, _ := ctx.Value(traceHeaderKey{}).(string)
	return h
}
