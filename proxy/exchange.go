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
	"net/netip"
	"time"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/auth/cors"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
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
	// Route describes the matched route on its stage.
	Route *Route
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
	// IntegrationLatency and IntegrationError describe the backend call.
	IntegrationLatency time.Duration
	IntegrationError   error

	// Counter counts the request: its route's, else its API's or the
	// gateway's "no route" counters. APIMetrics is its API's.
	Counter    *metrics.RouteMetrics
	APIMetrics *metrics.APIMetrics
	// GatePassed is set when a WebSocket $connect gate let the request
	// through.
	GatePassed bool
	// Record is the access-log line of the request, filled at the end.
	Record accesslog.Record

	// Reusable buffers: the upstream URI, the client address, the Lambda
	// event and its parsed result.
	buf          []byte
	sourceIP     []byte
	payload      []byte
	event        lambda.EventInput
	lambdaParams []lambda.Param
	lambdaResp   lambda.Response
}

// Route is what the pipeline and integrations know of the matched route on
// its stage; compiled once per snapshot.
type Route struct {
	APIID string
	// Metrics counts the route's requests.
	Metrics *metrics.RouteMetrics
	// Bytes forms for the access log.
	RouteKeyBytes, APIIDBytes, StageBytes []byte
	// REST is true for REST APIs (payload 1.0 without "version").
	REST       bool
	Stage      string
	NamedStage bool
	RouteKey   string
	// Resource is the route's path template ("/pets/{id}"), "" for
	// $default.
	Resource       string
	StageVariables []lambda.Param
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
	ex.Route = nil
	ex.TrustedProxies = nil
	ex.CORS = nil
	ex.Counter, ex.APIMetrics = nil, nil
	ex.GatePassed = false
	ex.Authorizer = nil
	ex.APIKey, ex.APIKeyID = nil, nil
	ex.IntegrationLatency, ex.IntegrationError = 0, nil
	ex.buf = ex.buf[:0]
	ex.sourceIP = ex.sourceIP[:0]
	ex.event = lambda.EventInput{}
}

// Fail answers the request with the gateway response c.
func (ex *Exchange) Fail(c apierror.Code) {
	ex.Ctx.Response.ResetBody()
	apierror.Write(&ex.Ctx.Response, ex.Dialect, c)
}
