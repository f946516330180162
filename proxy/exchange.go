// Package proxy holds the integrations: the backends a matched route hands
// its request to (an HTTP service, a mock, a Lambda function). Each is
// compiled once per route and stage into a value that implements
// Integration; the gateway calls Serve with the request's Exchange.
//
// Hot path: HTTPProxy.Serve copies the request into a pooled upstream
// request, sends it over a keep-alive pool and streams the answer back;
// nothing is allocated per request in steady state.
package proxy

import (
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/valyala/fasthttp"
)

// Integration answers a routed request by filling ex.Ctx.Response. Errors
// are answered too, in ex.Dialect; Serve never panics on bad input.
type Integration interface {
	Serve(ex *Exchange)
}

// Exchange is the state of one request as it moves through the pipeline.
// The gateway reuses Exchanges from a pool; fields are valid until Serve
// returns.
type Exchange struct {
	Ctx     *fasthttp.RequestCtx
	Dialect apierror.Dialect
	// Path is the request path after the base path and the stage, as sent
	// (percent-encoding kept); it starts with '/'.
	Path []byte
	// Params are the route's variable values, as ranges into Path, named
	// by ParamNames.
	Params     router.Params
	ParamNames []string
	// RequestID is sent back to the client and forwarded upstream under
	// RequestIDHeader.
	RequestID       []byte
	RequestIDHeader []byte

	// buf is scratch space for building the upstream URI.
	buf []byte
}

// Param returns the value of the route variable name, or nil.
func (ex *Exchange) Param(name string) []byte {
	for i, n := range ex.ParamNames {
		if n == name && i < ex.Params.Len() {
			return ex.Params.Value(ex.Path, i)
		}
	}
	return nil
}

// Reset clears the exchange for reuse, keeping its buffers.
func (ex *Exchange) Reset() {
	ex.Ctx = nil
	ex.Path = nil
	ex.Params.Reset()
	ex.ParamNames = nil
	ex.RequestID = ex.RequestID[:0]
	ex.RequestIDHeader = nil
	ex.buf = ex.buf[:0]
}

// Fail answers the request with the gateway response c.
func (ex *Exchange) Fail(c apierror.Code) {
	ex.Ctx.Response.ResetBody()
	apierror.Write(&ex.Ctx.Response, ex.Dialect, c)
}
