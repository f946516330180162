package proxy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/internal/headers"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// Lambda invokes a function with the API Gateway proxy event of the request
// (payload format 2.0 or 1.0) and turns its result into the response under
// API Gateway's rules (type: lambda).
type Lambda struct {
	// Function is the function's name in the configuration, for traces.
	Function string

	inv     lambda.Invoker
	v1      bool
	rest    bool
	timeout time.Duration
	binary  *lambda.BinaryTypes // a REST API's binary media types
	// ctxs holds the invocations' contexts (*lambda.Context), re-armed
	// for each so that an invocation allocates none.
	ctxs sync.Pool
}

// NewLambda compiles a lambda integration. format is "1.0" or "2.0"; rest
// selects the REST event and error dialect.
func NewLambda(inv lambda.Invoker, format string, rest bool, timeout time.Duration) *Lambda {
	l := &Lambda{inv: inv, v1: format == "1.0", rest: rest, timeout: timeout}
	l.ctxs.New = func() any { return lambda.NewContext() }
	return l
}

// WithBinaryTypes sets a REST API's binary media types (nil: none), which
// decide which request bodies reach the function base64-encoded and which
// base64 results are decoded. It returns l.
func (l *Lambda) WithBinaryTypes(b *lambda.BinaryTypes) *Lambda {
	l.binary = b
	return l
}

var hdrAccept = []byte("Accept")

// Serve invokes the function and writes its answer.
func (l *Lambda) Serve(ex *exchange.Exchange) {
	if l.inv == nil { // compiled without functions (validate, routes)
		ex.Fail(apierror.InternalError)
		return
	}
	span := ex.Trace.StartFunction(l.Function)
	in := ex.EventInput()
	in.BinaryTypes = l.binary
	if l.v1 {
		ex.Payload = lambda.AppendEventV1(ex.Payload[:0], in, !l.rest)
	} else {
		ex.Payload = lambda.AppendEventV2(ex.Payload[:0], in)
	}
	var trace string
	if ex.Trace != nil {
		trace = string(ex.Trace.XRay())
	}
	start := time.Now()
	ctx := l.ctxs.Get().(*lambda.Context)
	ctx.Arm(start, l.timeout, trace)
	res, err := l.inv.Invoke(ctx, ex.Payload)
	ctx.Disarm()
	l.ctxs.Put(ctx)
	ex.IntegrationLatency = time.Since(start)
	if err == nil {
		err = res.Err()
	}
	span.End(0, err)
	if err == nil {
		out := &ex.Result
		switch {
		case l.rest:
			err = lambda.ParseResponseREST(res.Payload, out, lambda.RESTBinary{Types: l.binary,
				Accept: ex.Ctx.Request.Header.PeekBytes(hdrAccept)})
		case l.v1:
			err = lambda.ParseResponseV1(res.Payload, out)
		default:
			err = lambda.ParseResponseV2(res.Payload, out)
		}
		if err == nil {
			resp := &ex.Ctx.Response
			resp.SetStatusCode(out.Status)
			resp.Header.SetNoDefaultContentType(true)
			// Names go out as the function spelled them, as API
			// Gateway sends them.
			resp.Header.DisableNormalizing()
			for _, h := range out.Headers {
				resp.Header.AddBytesKV(h.Name, h.Value)
			}
			// The request id header is the gateway's own, whatever
			// spelling the function used for one.
			if len(ex.RequestIDHeader) > 0 {
				headers.DelFold(&resp.Header, ex.RequestIDHeader)
			}
			resp.SetBody(out.Body)
			return
		}
	}
	l.fail(ex, err)
}

// fail answers a failed invocation in the API's dialect, as API Gateway
// does:
//
//	cause                                   REST  HTTP API
//	ErrTimeout, context.DeadlineExceeded    504   503
//	ErrFunction, ErrMalformedResponse       502   500
//	anything else (invoke failed)           500   500
func (l *Lambda) fail(ex *exchange.Exchange, err error) {
	ex.IntegrationError = err
	ex.Ctx.Response.Reset()
	switch {
	case errors.Is(err, lambda.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		ex.Fail(apierror.IntegrationTimeout)
	case errors.Is(err, lambda.ErrFunction), errors.Is(err, lambda.ErrMalformedResponse):
		ex.Fail(apierror.FunctionFailure)
	default:
		// The invoke itself failed (function missing, throttled, host
		// unreachable): API Gateway reports 500 for those.
		ex.Fail(apierror.InternalError)
	}
}
