// Package exchange is the shape of one request on its way through the
// gateway: the Exchange every pipeline step and integration reads and
// writes, the two seams they plug into (Integration and Step), what is
// known of the matched route, and the client's address.
//
// It sits below pipeline and proxy so that steps and backends depend on
// the request, never on each other.
//
// Hot path: everything here. Exchanges are pooled by the gateway and keep
// their buffers across requests, so a request allocates nothing in steady
// state.
package exchange

import (
	"net/netip"
	"time"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/auth/cors"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/frontdeskgw/frontdesk/tracing"
	"github.com/valyala/fasthttp"
)

// Exchange is the state of one request as it moves through the pipeline.
// The gateway reuses Exchanges from a pool; fields are valid until the
// route's integration returns.
type Exchange struct {
	Ctx     *fasthttp.RequestCtx
	Dialect apierror.Dialect
	// Path is the request path after the base path and the stage, as sent
	// (percent-encoding kept); it starts with '/'.
	Path []byte
	// Method is the request's method, parsed once for the route lookup
	// and the request counters.
	Method router.Method
	// Params are the route's variable values, as ranges into Path, named
	// by ParamNames.
	Params     router.Params
	ParamNames []string
	// RequestID is sent back to the client and forwarded upstream under
	// RequestIDHeader.
	RequestID       []byte
	RequestIDHeader []byte
	// ExtendedRequestID is a REST request's second id (the event's
	// extendedRequestId, the x-amz-apigw-id response header); empty on
	// HTTP APIs.
	ExtendedRequestID []byte
	// RouteInfo describes the matched route on its stage. Until a route
	// matches it names only the API (and stage, once known), for the
	// access log.
	RouteInfo *RouteInfo
	// Start is when the request arrived.
	Start time.Time
	// Authorizer is the requestContext.authorizer JSON object of the
	// request (nil when no authorizer ran); AuthBuf is its reusable
	// storage.
	Authorizer []byte
	AuthBuf    []byte
	// APIKey and APIKeyID identify the API key used (nil when none).
	APIKey, APIKeyID []byte
	// CORS, when the API has a CORS configuration, is applied to every
	// response, the gateway's own errors included.
	CORS *cors.Policy
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Streams caps the streamed upstream responses per client (nil: no
	// cap).
	Streams StreamLimit
	// AnyHost is set when the request's API lists no hosts: it answers
	// any Host, and the upstream sees the client's (X-Forwarded-Host),
	// so the Host belongs in cache keys.
	AnyHost bool
	// Trace is the request's trace; nil when tracing is off. Its methods
	// are safe on nil, so a hook is one call.
	Trace *tracing.Request
	// IntegrationLatency and IntegrationError describe the backend call.
	IntegrationLatency time.Duration
	IntegrationError   error
	// ErrorMessage is the message of the answer frontdesk made itself
	// ($context.error.message); "" when the answer came from the route.
	ErrorMessage string
	// AuthorizerError is why the authorizer refused or failed
	// ($context.authorizer.error); nil when it did not.
	AuthorizerError error
	// ValidationError is why a request validator refused the request
	// ($context.error.validationErrorString); empty when none did. Its
	// storage is reused.
	ValidationError []byte

	// Counter counts the request: its route's, else its API's or the
	// gateway's "no route" counters. APIMetrics is its API's.
	Counter    *metrics.RouteMetrics
	APIMetrics *metrics.APIMetrics
	// GatePassed is set when a WebSocket $connect gate let the request
	// through.
	GatePassed bool
	// Record is the access-log line of the request, filled at the end.
	Record accesslog.Record
	// Responses, set on REST APIs with gateway responses, may replace
	// the gateway's own answers (Fail).
	Responses Responder

	// Scratch is a reusable buffer an integration may use for the
	// length of its Serve (the upstream URI, header values).
	Scratch []byte
	// Upstream is the request an HTTP integration sends on, reused with
	// the exchange rather than taken from a pool of its own; the
	// integration resets it when its Serve ends.
	Upstream fasthttp.Request
	// Payload and Result are the Lambda integration's reusable event and
	// parsed result.
	Payload []byte
	Result  lambda.Response

	sourceIP []byte
	// collapsed holds a REST request's path with repeated slashes made one
	// (see CollapsedPath).
	collapsed []byte
	// Storage of the headers events add (see setGatewayHeaders).
	forwarded, port, trace []byte
	event                  lambda.EventInput
	lambdaParams           []lambda.Param
}

// CollapsedPath returns p with every run of '/' made one, as REST APIs
// route "/stage//x" as "/stage/x"; p itself when it has no such run. The
// result lives in the exchange until the next call or Reset.
func (ex *Exchange) CollapsedPath(p []byte) []byte {
	if !hasDoubleSlash(p) {
		return p
	}
	out := ex.collapsed[:0]
	for i, c := range p {
		if c == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		out = append(out, c)
	}
	ex.collapsed = out
	return out
}

func hasDoubleSlash(p []byte) bool {
	for i := 1; i < len(p); i++ {
		if p[i] == '/' && p[i-1] == '/' {
			return true
		}
	}
	return false
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
	ex.Method = router.Other
	ex.Params.Reset()
	ex.ParamNames = nil
	ex.RequestID = ex.RequestID[:0]
	ex.RequestIDHeader = nil
	ex.ExtendedRequestID = ex.ExtendedRequestID[:0]
	ex.RouteInfo = nil
	ex.TrustedProxies = nil
	ex.AnyHost = false
	ex.Streams = nil
	ex.CORS = nil
	ex.Counter, ex.APIMetrics = nil, nil
	ex.GatePassed = false
	ex.Authorizer = nil
	ex.APIKey, ex.APIKeyID = nil, nil
	ex.IntegrationLatency, ex.IntegrationError = 0, nil
	ex.Trace = nil
	ex.ErrorMessage, ex.AuthorizerError = "", nil
	ex.ValidationError = ex.ValidationError[:0]
	ex.Responses = nil
	ex.Scratch = ex.Scratch[:0]
	ex.sourceIP = ex.sourceIP[:0]
	ex.event = lambda.EventInput{}
}

// Fail answers the request with the gateway response c, customised when
// the API has gateway responses for it.
func (ex *Exchange) Fail(c apierror.Code) {
	ex.Ctx.Response.ResetBody()
	ex.ErrorMessage = apierror.Message(ex.Dialect, c)
	if ex.Responses != nil && ex.Responses.Respond(ex, c) {
		return
	}
	apierror.Write(&ex.Ctx.Response, ex.Dialect, c)
}
