package proxy

import (
	"bytes"
	"context"
	"net/netip"
	"time"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/valyala/fasthttp"
)

// Lambda invokes a function with the API Gateway proxy event of the request
// (payload format 2.0 or 1.0) and turns its result into the response under
// API Gateway's rules (type: lambda).
type Lambda struct {
	inv     lambda.Invoker
	v1      bool
	rest    bool
	timeout time.Duration
}

// NewLambda compiles a lambda integration. format is "1.0" or "2.0"; rest
// selects the REST event and error dialect.
func NewLambda(inv lambda.Invoker, format string, rest bool, timeout time.Duration) *Lambda {
	return &Lambda{inv: inv, v1: format == "1.0", rest: rest, timeout: timeout}
}

var hdrContentTypeJSON = []byte("application/json")

// Serve invokes the function and writes its answer.
func (l *Lambda) Serve(ex *Exchange) {
	if l.inv == nil { // compiled without functions (validate, routes)
		ex.Fail(apierror.InternalError)
		return
	}
	in := ex.EventInput()
	if l.v1 {
		ex.payload = lambda.AppendEventV1(ex.payload[:0], in, !l.rest)
	} else {
		ex.payload = lambda.AppendEventV2(ex.payload[:0], in)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	start := time.Now()
	res, err := l.inv.Invoke(ctx, ex.payload)
	cancel()
	ex.IntegrationLatency = time.Since(start)
	if err == nil {
		err = res.Err()
	}
	if err == nil {
		out := &ex.lambdaResp
		if l.v1 {
			err = lambda.ParseResponseV1(res.Payload, out)
		} else {
			err = lambda.ParseResponseV2(res.Payload, out)
		}
		if err == nil {
			resp := &ex.Ctx.Response
			resp.SetStatusCode(out.Status)
			resp.Header.SetNoDefaultContentType(true)
			for _, h := range out.Headers {
				resp.Header.AddBytesKV(h.Name, h.Value)
			}
			resp.SetBody(out.Body)
			return
		}
	}
	l.fail(ex, err)
}

// fail answers a failed invocation in the dialect's words: function errors
// and malformed results 502 (rest) / 500 (http), timeouts 504 / 503.
func (l *Lambda) fail(ex *Exchange, err error) {
	status, body := lambda.ErrorResponse(l.rest, err)
	resp := &ex.Ctx.Response
	resp.Reset()
	resp.SetStatusCode(status)
	resp.Header.SetContentTypeBytes(hdrContentTypeJSON)
	if l.rest {
		resp.Header.Set("x-amzn-ErrorType", "InternalServerErrorException")
	}
	resp.SetBodyString(body)
	ex.IntegrationError = err
}

// EventInput fills the exchange's reusable event description of the
// request.
func (ex *Exchange) EventInput() *lambda.EventInput {
	in := &ex.event
	r := ex.Route
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
	}
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

// AccountID is the account id frontdesk reports in events.
const AccountID = "000000000000"

// SourceIP is the client address as text, worked out once per request
// (see AppendClientIP).
func (ex *Exchange) SourceIP() []byte {
	if len(ex.sourceIP) > 0 || ex.Ctx == nil {
		return ex.sourceIP
	}
	ex.sourceIP = AppendClientIP(ex.sourceIP[:0], ex.Ctx, ex.TrustedProxies)
	return ex.sourceIP
}

// AppendClientIP appends the client address of ctx: the socket peer, or,
// when the peer is a trusted proxy, the right-most X-Forwarded-For entry
// that is not a trusted proxy.
func AppendClientIP(dst []byte, ctx *fasthttp.RequestCtx, trusted []netip.Prefix) []byte {
	start := len(dst)
	dst = appendIP(dst, ctx.RemoteAddr())
	if len(trusted) == 0 || !isTrusted(dst[start:], trusted) {
		return dst
	}
	xff := ctx.Request.Header.PeekBytes(hdrXFF)
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		entry := bytes.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		if len(entry) == 0 {
			continue
		}
		if _, err := netip.ParseAddr(string(entry)); err != nil {
			break // junk: keep the last address that made sense
		}
		dst = append(dst[:start], entry...)
		if !isTrusted(entry, trusted) || i < 0 {
			break
		}
	}
	return dst
}

func isTrusted(ip []byte, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(string(ip))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
