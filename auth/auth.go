// Package auth holds what frontdesk's authorizers share: identity source
// expressions ($request.header.X, $request.querystring.X, $context.X,
// $stageVariables.X), the Failure error type the gateway turns into a
// 401/403/500 answer, and the HTTP client seam used to reach identity
// providers and HTTP authorizers.
//
// The authorizers themselves live in subpackages, one job each: auth/cors
// (CORS preflights and response headers), auth/jwtauth (JWT authorizer) and
// auth/lambdaauth (Lambda and HTTP REQUEST authorizers).
//
// Hot path: Source.Value reads a header or query value straight out of the
// fasthttp request without allocating.
package auth

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Doer sends one HTTP request with a deadline. *fasthttp.Client and
// *fasthttp.HostClient implement it; tests inject their own.
type Doer interface {
	DoTimeout(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error
}

// Messages of the HTTP API error bodies an authorizer can cause.
const (
	MessageUnauthorized = "Unauthorized"
	MessageForbidden    = "Forbidden"
	MessageInternal     = "Internal Server Error"
)

// Failure is the error every authorizer returns when a request must not
// reach its integration. Status is 401, 403 or 500; the gateway writes it
// with WriteHTTP (HTTP API dialect) or maps Status to its REST dialect.
type Failure struct {
	// Status is the HTTP status to answer with: 401, 403 or 500.
	Status int
	// Message is the value of the body's "message" field.
	Message string
	// WWWAuthenticate, when not empty, is sent as the www-authenticate
	// header (JWT authorizers only).
	WWWAuthenticate string
	// Err is the cause, for logs; it is never shown to the client.
	Err error
}

// Unauthorized reports a missing or invalid identity: 401.
func Unauthorized(wwwAuthenticate string, cause error) *Failure {
	return &Failure{Status: fasthttp.StatusUnauthorized, Message: MessageUnauthorized, WWWAuthenticate: wwwAuthenticate, Err: cause}
}

// Forbidden reports a valid identity that may not call the route: 403.
func Forbidden(wwwAuthenticate string, cause error) *Failure {
	return &Failure{Status: fasthttp.StatusForbidden, Message: MessageForbidden, WWWAuthenticate: wwwAuthenticate, Err: cause}
}

// Internal reports an authorizer that could not decide (crash, bad output,
// timeout): 500.
func Internal(cause error) *Failure {
	return &Failure{Status: fasthttp.StatusInternalServerError, Message: MessageInternal, Err: cause}
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return fmt.Sprintf("auth: %d %s", f.Status, f.Message)
	}
	return fmt.Sprintf("auth: %d %s: %v", f.Status, f.Message, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

// WriteHTTP writes the HTTP API answer: status, {"message":"..."} as JSON
// and the www-authenticate header when set.
func (f *Failure) WriteHTTP(resp *fasthttp.Response) {
	resp.SetStatusCode(f.Status)
	resp.Header.SetContentType("application/json")
	if f.WWWAuthenticate != "" {
		resp.Header.Set("WWW-Authenticate", f.WWWAuthenticate)
	}
	msg, _ := json.Marshal(f.Message) // marshalling a string cannot fail
	resp.ResetBody()
	resp.AppendBodyString(`{"message":`)
	resp.AppendBody(msg)
	resp.AppendBodyString("}")
}

// SourceKind says where an identity source reads its value.
type SourceKind uint8

// The identity source kinds API Gateway knows.
const (
	FromHeader        SourceKind = iota + 1 // $request.header.Name (case-insensitive)
	FromQuery                               // $request.querystring.name (case-sensitive)
	FromContext                             // $context.name, resolved by the gateway
	FromStageVariable                       // $stageVariables.name, resolved by the gateway
)

// Source is one compiled identity source expression.
type Source struct {
	Expr string // as configured, for messages
	Kind SourceKind
	Name string
}

var sourcePrefixes = [...]struct {
	prefix string
	kind   SourceKind
}{
	{"$request.header.", FromHeader},
	{"$request.querystring.", FromQuery},
	{"$context.", FromContext},
	{"$stageVariables.", FromStageVariable},
}

// ParseSource compiles an identity source expression.
func ParseSource(expr string) (Source, error) {
	for _, p := range sourcePrefixes {
		if name, ok := strings.CutPrefix(expr, p.prefix); ok {
			if name == "" {
				return Source{}, fmt.Errorf("auth: identity source %q names nothing after %q", expr, p.prefix)
			}
			return Source{Expr: expr, Kind: p.kind, Name: name}, nil
		}
	}
	return Source{}, fmt.Errorf("auth: identity source %q: want $request.header.X, $request.querystring.X, $context.X or $stageVariables.X", expr)
}

// Value returns the source's value in req, or nil when absent. Header and
// query sources are read from req; context and stage variable sources are
// asked of vars, which may be nil when the caller has none. The returned
// slice aliases req (or whatever vars returned): copy it to keep it.
func (s Source) Value(req *fasthttp.Request, vars func(Source) []byte) []byte {
	switch s.Kind {
	case FromHeader:
		return req.Header.Peek(s.Name)
	case FromQuery:
		return req.URI().QueryArgs().Peek(s.Name)
	default:
		if vars == nil {
			return nil
		}
		return vars(s)
	}
}
