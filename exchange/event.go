package exchange

import (
	"math/rand/v2"
	"time"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// AccountID is the account id frontdesk reports in events and ARNs.
const AccountID = "000000000000"

// EventInput fills the exchange's reusable description of the request for
// a Lambda event (integration or authorizer).
func (ex *Exchange) EventInput() *lambda.EventInput {
	in := &ex.event
	r := ex.RouteInfo
	*in = lambda.EventInput{
		Req:            &ex.Ctx.Request,
		RouteKey:       r.RouteKey,
		Resource:       r.Resource,
		Stage:          r.Stage,
		StagePrefix:    r.NamedStage,
		Path:           ex.Path,
		StageVariables: r.StageVariables,
		APIID:          r.APIID,
		AccountID:      AccountID,
		RequestID:      ex.RequestID,
		SourceIP:       ex.SourceIP(),
		Time:           ex.Start,
		Authorizer:     ex.Authorizer,
		APIKey:         ex.APIKey,
		APIKeyID:       ex.APIKeyID,
		ResourceID:     r.ResourceID,
		DeploymentID:   r.DeploymentID,
	}
	if len(ex.ExtendedRequestID) > 0 {
		in.ExtendedRequestID = ex.ExtendedRequestID
	}
	ex.setGatewayHeaders(in)
	params := ex.lambdaParams[:0]
	for i, name := range ex.ParamNames {
		if i < ex.Params.Len() {
			params = append(params, lambda.Param{Name: name, Value: ex.Params.Value(ex.Path, i)})
		}
	}
	ex.lambdaParams = params
	in.PathParams = params
	return in
}

var hdrTraceID = []byte("X-Amzn-Trace-Id")

// setGatewayHeaders fills the headers API Gateway adds to the client's in
// events: X-Forwarded-For with the peer appended, the listener's port and
// scheme, and the client's X-Amzn-Trace-Id or a new one.
func (ex *Exchange) setGatewayHeaders(in *lambda.EventInput) {
	ctx := ex.Ctx
	ex.forwarded = AppendForwardedFor(ex.forwarded[:0], ctx)
	in.ForwardedFor = ex.forwarded
	if port, ok := AppendLocalPort(ex.port[:0], ctx); ok {
		ex.port = port
		in.ForwardedPort = port
	}
	in.ForwardedProto = Proto(ctx)
	if x := ex.Trace.XRay(); len(x) > 0 {
		// Traced: the integration span is the function's parent.
		ex.trace = append(ex.trace[:0], x...)
		in.TraceID = ex.trace
	} else if v := ctx.Request.Header.PeekBytes(hdrTraceID); len(v) > 0 {
		in.TraceID = v
	} else {
		ex.trace = AppendTraceID(ex.trace[:0], ex.Start)
		in.TraceID = ex.trace
	}
}

// AppendTraceID appends a new X-Ray trace header value in the form API
// Gateway sends: "Root=1-" then the time in seconds as 8 hex digits and
// 24 random hex digits.
func AppendTraceID(dst []byte, now time.Time) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, "Root=1-"...)
	secs := uint32(now.Unix())
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hex[secs>>shift&0xf])
	}
	dst = append(dst, '-')
	hi, lo := rand.Uint32(), rand.Uint64()
	for shift := 28; shift >= 0; shift -= 4 {
		dst = append(dst, hex[hi>>shift&0xf])
	}
	for shift := 60; shift >= 0; shift -= 4 {
		dst = append(dst, hex[lo>>shift&0xf])
	}
	return dst
}
