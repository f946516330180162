package pipeline

import (
	"bytes"
	"context"
	"errors"
	"github.com/frontdeskgw/frontdesk/exchange"
	"time"
	"unsafe"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/auth"
	"github.com/frontdeskgw/frontdesk/auth/jwtauth"
	"github.com/frontdeskgw/frontdesk/auth/lambdaauth"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// JWT admits requests bearing a valid token with the route's scopes and
// hands the claims on: in the Lambda event's requestContext.authorizer, and
// for HTTP backends as the configured request headers.
type JWT struct {
	a      *jwtauth.Authorizer
	scopes *jwtauth.Scopes
	v1     bool
	// headers maps claim names to the request headers that carry them
	// upstream; a client-sent header of that name is always replaced.
	headers [][2]string
}

// NewJWT compiles a route's JWT step. v1 renders the authorizer context
// for payload format 1.0.
func NewJWT(a *jwtauth.Authorizer, scopes []string, v1 bool, claimHeaders map[string]string) (*JWT, error) {
	sc, err := jwtauth.NewScopes(scopes)
	if err != nil {
		return nil, err
	}
	j := &JWT{a: a, scopes: sc, v1: v1}
	for claim, header := range claimHeaders {
		j.headers = append(j.headers, [2]string{claim, header})
	}
	return j, nil
}

// Handle verifies the token.
func (j *JWT) Handle(ex *exchange.Exchange, next exchange.Next) {
	req := &ex.Ctx.Request
	for _, h := range j.headers {
		req.Header.Del(h[1])
	}
	span := ex.Trace.StartAuthorizer("jwt")
	res, err := j.a.Authorize(context.Background(), req, j.scopes)
	span.End(0, err)
	if err != nil {
		writeAuthFailure(ex, err)
		return
	}
	if j.v1 {
		ex.AuthBuf = res.AppendV1(ex.AuthBuf[:0])
	} else {
		ex.AuthBuf = res.AppendV2(ex.AuthBuf[:0])
	}
	ex.Authorizer = ex.AuthBuf
	for _, h := range j.headers {
		if v, ok := res.Claim(h[0]); ok && validHeaderValue(v) {
			req.Header.Set(h[1], v)
		}
	}
	next.Serve(ex)
}

// LambdaAuthorizer runs a REQUEST authorizer (a function, or an HTTP
// endpoint) and hands its context on to the integration.
type LambdaAuthorizer struct {
	a  *lambdaauth.Authorizer
	v1 bool
}

// NewLambdaAuthorizer compiles a route's Lambda/HTTP authorizer step. v1
// renders payload format 1.0 events and contexts.
func NewLambdaAuthorizer(a *lambdaauth.Authorizer, v1 bool) *LambdaAuthorizer {
	return &LambdaAuthorizer{a: a, v1: v1}
}

// Handle asks the authorizer.
func (l *LambdaAuthorizer) Handle(ex *exchange.Exchange, next exchange.Next) {
	r := ex.RouteInfo
	// The ARN is built in the exchange's authorizer buffer and read only
	// until Authorize returns (the result is written there after), so a
	// request answered from the decision cache allocates nothing.
	ex.AuthBuf = appendMethodARN(ex.AuthBuf[:0], r.APIID, r.Stage, ex.Ctx.Method(), ex.Path)
	arn := unsafe.String(unsafe.SliceData(ex.AuthBuf), len(ex.AuthBuf))
	var start time.Time
	if l.v1 { // payload 1.0 hands the authorizer's latency on
		start = time.Now()
	}
	span := ex.Trace.StartAuthorizer("lambda")
	res, err := l.a.Authorize(context.Background(), lambdaauth.Request{
		HTTP:      &ex.Ctx.Request,
		MethodARN: arn,
		Vars: func(s auth.Source) []byte {
			if s.Kind == auth.FromStageVariable {
				for _, v := range r.StageVariables {
					if v.Name == s.Name {
						return v.Value
					}
				}
			}
			return nil
		},
		Payload: func(dst []byte, identity [][]byte) []byte {
			return appendAuthorizerEvent(dst, ex, l.v1, arn, identity)
		},
	})
	span.End(0, err)
	if err != nil {
		writeAuthFailure(ex, err)
		return
	}
	if l.v1 {
		ex.AuthBuf = res.AppendV1(ex.AuthBuf[:0], time.Since(start))
	} else {
		ex.AuthBuf = res.AppendV2(ex.AuthBuf[:0])
	}
	ex.Authorizer = ex.AuthBuf
	next.Serve(ex)
}

// arnRegion is the region of the execute-api ARNs given to authorizers.
const arnRegion = "us-east-1"

// appendMethodARN appends the route's execute-api ARN, as IAM policies
// name it.
func appendMethodARN(dst []byte, api, stage string, method, path []byte) []byte {
	dst = append(dst, "arn:aws:execute-api:"+arnRegion+":"+exchange.AccountID+":"...)
	dst = append(dst, api...)
	dst = append(dst, '/')
	dst = append(dst, stage...)
	dst = append(dst, '/')
	dst = append(dst, method...)
	return append(dst, path...)
}

// appendAuthorizerEvent builds a REQUEST authorizer event: the proxy event
// of the request with the authorizer's own members in front.
func appendAuthorizerEvent(dst []byte, ex *exchange.Exchange, v1 bool, arn string, identity [][]byte) []byte {
	in := ex.EventInput()
	in.Authorizer = nil
	var at int // where the proxy event starts in dst
	if v1 {
		dst = append(dst, `{"type":"REQUEST","methodArn":`...)
		dst = jsonstr.Append(dst, arn)
		dst = append(dst, `,"identitySource":`...)
		dst = jsonstr.Append(dst, bytes.Join(identity, []byte(",")))
		at = len(dst)
		dst = lambda.AppendEventV1(dst, in, !ex.RouteInfo.REST)
	} else {
		dst = append(dst, `{"type":"REQUEST","routeArn":`...)
		dst = jsonstr.Append(dst, arn)
		dst = append(dst, `,"identitySource":[`...)
		for i, v := range identity {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, v)
		}
		dst = append(dst, ']')
		at = len(dst)
		dst = lambda.AppendEventV2(dst, in)
	}
	// The event's members continue the object: its opening brace becomes
	// a comma, or, for an empty event, the object's closing brace.
	if len(dst)-at > 2 {
		dst[at] = ','
	} else {
		dst = append(dst[:at], '}')
	}
	return dst
}

// writeAuthFailure answers a refused request in the API's dialect.
func writeAuthFailure(ex *exchange.Exchange, err error) {
	var f *auth.Failure
	if !errors.As(err, &f) {
		f = auth.Internal(err)
	}
	// The cause says why (an expired token, a crashed function); the
	// answer's message alone does not.
	ex.AuthorizerError = f
	if f.Err != nil {
		ex.AuthorizerError = f.Err
	}
	resp := &ex.Ctx.Response
	if ex.Dialect != apierror.REST {
		resp.ResetBody()
		f.WriteHTTP(resp)
		ex.ErrorMessage = f.Message
		return
	}
	switch f.Status {
	case 401:
		ex.Fail(apierror.Unauthorized)
	case 403:
		ex.Fail(apierror.AccessDenied)
	default:
		ex.Fail(apierror.AuthorizerFailure)
	}
	if f.WWWAuthenticate != "" {
		resp.Header.Set("WWW-Authenticate", f.WWWAuthenticate)
	}
}

// validHeaderValue reports whether v may be a header value (RFC 9110
// §5.5): no control character but HTAB. A token is signed by its issuer,
// not written for HTTP, so a claim holding CR, LF or NUL is left out of
// the headers rather than sent as a malformed or injected line.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
