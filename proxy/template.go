package proxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/internal/clftime"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/vtl"
)

// REST non-proxy integrations: a mapping template reshapes the request
// into what the backend gets, and integration responses, selected by a
// pattern on the backend's status or error message, reshape its answer
// (docs/transform.md). Only routes whose integration asks for it pay for
// any of this: proxy integrations never reach this file.

// Passthrough is what a request whose Content-Type has no template does.
type Passthrough uint8

// Passthrough behaviors.
const (
	PassWhenNoMatch Passthrough = iota
	PassWhenNoTemplates
	PassNever
)

// ContentHandling converts a payload between binary and base64 text
// (API Gateway's contentHandling).
type ContentHandling uint8

// Content handling strategies.
const (
	// ConvertNone passes the payload as it is.
	ConvertNone ContentHandling = iota
	// ConvertToText base64-encodes a binary payload.
	ConvertToText
	// ConvertToBinary base64-decodes a text payload.
	ConvertToBinary
)

// Transform is the mapping of one non-proxy integration.
type Transform struct {
	// RequestTemplates by lower-case media type.
	RequestTemplates map[string]*vtl.Template
	Passthrough      Passthrough
	// ContentHandling converts the integration request's body; a request
	// is binary when its Content-Type is one of Binary.
	ContentHandling ContentHandling
	// Binary are the API's binary media types (nil: none).
	Binary *lambda.BinaryTypes
	// Responses in the order they are tried; the one with a nil Pattern
	// is the default.
	Responses      []IntegrationResponse
	StageVariables map[string]string
}

// IntegrationResponse is one integration response.
type IntegrationResponse struct {
	// Pattern must match the whole selector (status code or error
	// message); nil marks the default response.
	Pattern   *regexp.Regexp
	Status    int
	Headers   []ResponseHeader
	Templates map[string]*vtl.Template
	// ContentHandling converts the backend's body for the client; it is
	// binary when the backend's Content-Type is one of the API's binary
	// media types.
	ContentHandling ContentHandling
}

// ResponseHeader is one response parameter: a header set from static
// text, a backend response header, or the backend's body.
type ResponseHeader struct {
	Name       string
	Static     string
	FromHeader string
	FromBody   bool
}

// DefaultContentType is the media type of a request without
// Content-Type, and of responses without a template, as in API Gateway.
const DefaultContentType = "application/json"

// tstate is the reusable state of one templated request.
type tstate struct {
	in     vtl.Input
	reqOv  vtl.Overrides
	ov     vtl.Overrides
	out    []byte
	body   []byte
	conv   []byte // the request body converted by content handling
	rconv  []byte // the response body converted by content handling
	method []byte
	hdrs   [][2][]byte
	view   contextView
	path   map[string]string
	query  map[string]string
	header map[string]string
	// strs holds the bytes of the parameter maps' strings, which are
	// views of it: one buffer reused, instead of two strings allocated
	// per parameter.
	strs strBuf
}

// strBuf makes strings that are views of bytes it copies. Views stay
// valid and unchanged until reset: the buffer only grows by appending
// (a new array when full; the old one stays where earlier views point).
type strBuf struct{ b []byte }

func (sb *strBuf) reset() { sb.b = sb.b[:0] }

func (sb *strBuf) view(v []byte) string {
	if sb == nil {
		return string(v)
	}
	if len(v) == 0 {
		return ""
	}
	if cap(sb.b)-len(sb.b) < len(v) {
		sb.b = make([]byte, 0, max(512, 2*cap(sb.b), len(v)))
	}
	start := len(sb.b)
	sb.b = append(sb.b, v...)
	return unsafe.String(&sb.b[start], len(v))
}

// maxKeptBody bounds each body buffer a pooled state keeps.
const maxKeptBody = 1 << 20

// maxKeptStrBuf bounds the parameter buffer a pooled state keeps.
const maxKeptStrBuf = 64 << 10

var tstates = sync.Pool{New: func() any {
	return &tstate{path: map[string]string{}, query: map[string]string{}, header: map[string]string{}}
}}

func getState(ex *exchange.Exchange, stageVars map[string]string) *tstate {
	st := tstates.Get().(*tstate)
	st.strs.reset()
	fillParams(ex, &st.in, st.path, st.query, st.header, &st.strs)
	st.view = contextView{ex: ex, id: identityView{ex: ex}}
	st.in.ContextObject = &st.view
	st.in.StageVariables = stageVars
	st.reqOv.Reset()
	st.ov.Reset()
	return st
}

func putState(st *tstate) {
	st.in = vtl.Input{}
	st.view = contextView{}
	for i := range st.hdrs {
		st.hdrs[i] = [2][]byte{}
	}
	st.hdrs = st.hdrs[:0]
	clear(st.path)
	clear(st.query)
	clear(st.header)
	if cap(st.strs.b) > maxKeptStrBuf {
		st.strs.b = nil
	}
	// A large body's buffers are dropped rather than kept in the pool.
	for _, b := range [...]*[]byte{&st.out, &st.body, &st.conv, &st.rconv} {
		if cap(*b) > maxKeptBody {
			*b = nil
		}
	}
	tstates.Put(st)
}

// fillParams puts ex's body and parameters in in; the maps are cleared
// first, so a caller can reuse them. Strings are views of sb, or copies
// when sb is nil.
func fillParams(ex *exchange.Exchange, in *vtl.Input, path, query, header map[string]string, sb *strBuf) {
	req := &ex.Ctx.Request
	clear(path)
	clear(query)
	clear(header)
	for i, name := range ex.ParamNames {
		if i < ex.Params.Len() {
			path[name] = sb.view(ex.Params.Value(ex.Path, i))
		}
	}
	for k, v := range req.URI().QueryArgs().All() {
		query[sb.view(k)] = sb.view(v)
	}
	for k, v := range req.Header.All() {
		header[sb.view(k)] = sb.view(v)
	}
	in.Body = req.Body()
	in.Params = vtl.Params{Path: path, QueryString: query, Header: header}
}

// FillInput describes ex's request to a template: its body and
// parameters, and all of $context in ctx (identity in identity). The
// maps are cleared first, so a caller can reuse them.
func FillInput(ex *exchange.Exchange, in *vtl.Input, ctx, identity map[string]any, path, query, header map[string]string) {
	fillParams(ex, in, path, query, header, nil)
	clear(ctx)
	clear(identity)
	view := contextView{ex: ex, id: identityView{ex: ex}}
	for _, k := range contextKeys {
		if k == "identity" {
			for _, ik := range identityKeys {
				identity[ik], _ = view.id.Get(ik)
			}
			ctx[k] = identity
			continue
		}
		if v, ok := view.Get(k); ok {
			ctx[k] = v
		}
	}
	in.Context = ctx
}

// contextView is $context for one request, each value computed when a
// template reads it: a request pays only for the fields its templates
// use.
type contextView struct {
	ex *exchange.Exchange
	id identityView
}

var contextKeys = []string{"accountId", "apiId", "authorizer", "deploymentId", "domainName", "extendedRequestId",
	"httpMethod", "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch", "resourceId",
	"resourcePath", "routeKey", "stage"}

// Keys lists the fields of $context.
func (c *contextView) Keys() []string { return contextKeys }

// Get computes one field of $context: the string fields through
// GetString (the evaluator asks that first, so both answer alike), the
// others here.
func (c *contextView) Get(name string) (any, bool) {
	ex := c.ex
	switch name {
	case "requestTime":
		return string(clftime.Append(nil, ex.Start)), true
	case "requestTimeEpoch":
		return ex.Start.UnixMilli(), true
	case "identity":
		return &c.id, true
	case "authorizer":
		if len(ex.Authorizer) > 0 {
			if a, err := vtl.ParseJSON(string(ex.Authorizer)); err == nil {
				return a, true
			}
		}
		return nil, false
	}
	if v, ok := c.GetString(name); ok {
		return v, true
	}
	return nil, false
}

// GetString computes the string fields of $context as views of the
// exchange's bytes, which do not change while a template runs.
func (c *contextView) GetString(name string) (string, bool) {
	ex := c.ex
	req := &ex.Ctx.Request
	r := ex.RouteInfo
	if r == nil {
		r = &exchange.RouteInfo{}
	}
	switch name {
	case "accountId":
		return exchange.AccountID, true
	case "apiId":
		return r.APIID, true
	case "stage":
		return r.Stage, true
	case "resourcePath":
		return r.Resource, true
	case "resourceId":
		return r.ResourceID, true
	case "deploymentId":
		return r.DeploymentID, true
	case "routeKey":
		return r.RouteKey, true
	case "requestId":
		return bytesView(ex.RequestID), true
	case "extendedRequestId":
		return bytesView(ex.ExtendedRequestID), true
	case "httpMethod":
		return bytesView(req.Header.Method()), true
	case "path":
		return bytesView(req.URI().PathOriginal()), true
	case "protocol":
		return "HTTP/1.1", true
	case "domainName":
		return bytesView(req.Header.Host()), true
	}
	return "", false
}

// bytesView is b as a string without a copy, for a template evaluation
// during which b does not change.
func bytesView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// identityView is $context.identity.
type identityView struct{ ex *exchange.Exchange }

var identityKeys = []string{"apiKey", "apiKeyId", "sourceIp", "userAgent"}

// Keys lists the fields of $context.identity.
func (c *identityView) Keys() []string { return identityKeys }

// GetString computes the fields of $context.identity as views of the
// exchange's bytes.
func (c *identityView) GetString(name string) (string, bool) {
	switch name {
	case "sourceIp":
		return bytesView(c.ex.SourceIP()), true
	case "userAgent":
		return bytesView(c.ex.Ctx.Request.Header.UserAgent()), true
	case "apiKey":
		return bytesView(c.ex.APIKey), true
	case "apiKeyId":
		return bytesView(c.ex.APIKeyID), true
	}
	return "", false
}

// Get computes one field of $context.identity; all are strings.
func (c *identityView) Get(name string) (any, bool) {
	if v, ok := c.GetString(name); ok {
		return v, true
	}
	return nil, false
}

// appendMediaType appends the lower-case media type of a Content-Type
// value to dst, or DefaultContentType when it is empty. Callers pass a
// stack buffer and look maps up with string(key), which does not copy.
func appendMediaType(dst, ct []byte) []byte {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	if len(ct) == 0 {
		return append(dst, DefaultContentType...)
	}
	for _, c := range ct {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// templateFor is the template m holds for the media type of ct, and
// m's key for it.
func templateFor(m map[string]*vtl.Template, ct []byte) (*vtl.Template, string) {
	var buf [64]byte
	key := appendMediaType(buf[:0], ct)
	t := m[string(key)]
	if t == nil {
		return nil, ""
	}
	for k := range m {
		if k == string(key) {
			return t, k
		}
	}
	return nil, ""
}

// request runs the request template the request's Content-Type selects
// into st.out. It returns the integration request body (the request's
// own when it passes through) and false when it has answered the
// request itself (415, or a template or conversion that failed). send
// is whether the body goes to a backend (not a mock's), the only case
// where converting it to binary means anything.
func (t *Transform) request(ex *exchange.Exchange, st *tstate, send bool) ([]byte, bool) {
	ct := ex.Ctx.Request.Header.ContentType()
	if t.ContentHandling == ConvertToText && t.Binary.Match(ct) {
		// Converted before the template, which reads $input.body as
		// base64 text.
		st.conv = base64Append(st.conv[:0], st.in.Body)
		st.in.Body = st.conv
	}
	body, ok := t.requestBody(ex, st, ct)
	if !ok || !send || t.ContentHandling != ConvertToBinary || t.Binary.Match(ct) {
		return body, ok
	}
	// Text converted after the template: the template's output (or the
	// body passed through) is base64 text the backend gets decoded.
	var err error
	if st.conv, err = base64DecodeAppend(st.conv[:0], body); err != nil {
		ex.IntegrationError = fmt.Errorf("content_handling convert_to_binary: the integration request body: %w", err)
		ex.Fail(apierror.ConfigurationError)
		return nil, false
	}
	return st.conv, true
}

func (t *Transform) requestBody(ex *exchange.Exchange, st *tstate, ct []byte) ([]byte, bool) {
	tmpl, _ := templateFor(t.RequestTemplates, ct)
	if tmpl == nil {
		switch {
		case t.Passthrough == PassWhenNoMatch,
			t.Passthrough == PassWhenNoTemplates && len(t.RequestTemplates) == 0:
			return st.in.Body, true
		}
		ex.Fail(apierror.UnsupportedMediaType)
		return nil, false
	}
	var err error
	st.out, err = tmpl.Execute(st.out[:0], &st.in, &st.reqOv)
	if err != nil {
		ex.IntegrationError = err
		ex.Fail(apierror.ConfigurationError)
		return nil, false
	}
	return st.out, true
}

// unquoteJSON is the text of a JSON string without escapes ("..."), as a
// custom Lambda integration returns base64 text, else b.
func unquoteJSON(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b[1:len(b)-1], '\\') < 0 {
		return b[1 : len(b)-1]
	}
	return b
}

// base64Append appends the standard base64 encoding of src to dst.
func base64Append(dst, src []byte) []byte {
	return base64.StdEncoding.AppendEncode(dst, src)
}

// base64DecodeAppend appends the bytes src (standard base64, surrounding
// white space ignored) encodes to dst.
func base64DecodeAppend(dst, src []byte) ([]byte, error) {
	return base64.StdEncoding.AppendDecode(dst, bytes.TrimSpace(src))
}

// selectResponse is the first response whose pattern matches selector
// (when match), else the default; nil when there is none.
func (t *Transform) selectResponse(selector string, match bool) *IntegrationResponse {
	var def *IntegrationResponse
	for i := range t.Responses {
		r := &t.Responses[i]
		if r.Pattern == nil {
			if def == nil {
				def = r
			}
			continue
		}
		if match && r.Pattern.MatchString(selector) {
			return r
		}
	}
	return def
}

// pickTemplate chooses a response template: the one for the request's
// Accept type, else application/json, else the only one.
func pickTemplate(m map[string]*vtl.Template, accept []byte) (*vtl.Template, string) {
	if len(m) == 0 {
		return nil, ""
	}
	if len(accept) > 0 {
		if t, key := templateFor(m, accept); t != nil {
			return t, key
		}
	}
	if t := m[DefaultContentType]; t != nil {
		return t, DefaultContentType
	}
	best := ""
	for k := range m {
		if best == "" || k < best {
			best = k
		}
	}
	return m[best], best
}

// respond answers with the integration response selector picks, from the
// backend's body and headers (header may be nil).
func (t *Transform) respond(ex *exchange.Exchange, st *tstate, selector string, match bool, body []byte, header func(name string) []byte) {
	ir := t.selectResponse(selector, match)
	if ir == nil {
		ex.IntegrationError = errNoResponse
		ex.Fail(apierror.ConfigurationError)
		return
	}
	for _, h := range ir.Headers {
		var v []byte
		switch {
		case h.FromBody:
			v = append(v, body...)
		case h.FromHeader != "":
			if header != nil {
				v = append(v, header(h.FromHeader)...)
			}
		default:
			v = append(v, h.Static...)
		}
		st.hdrs = append(st.hdrs, [2][]byte{[]byte(h.Name), v})
	}
	binary := header != nil && t.Binary.Match(header("Content-Type"))
	if ir.ContentHandling == ConvertToText && binary {
		// Converted before the template, which reads $input.body as
		// base64 text.
		st.rconv = base64Append(st.rconv[:0], body)
		body = st.rconv
	}
	out, ct := body, DefaultContentType
	if tmpl, key := pickTemplate(ir.Templates, ex.Ctx.Request.Header.Peek("Accept")); tmpl != nil {
		st.in.Body = body
		var err error
		st.out, err = tmpl.Execute(st.out[:0], &st.in, &st.ov)
		if err != nil {
			ex.IntegrationError = err
			ex.Fail(apierror.ConfigurationError)
			return
		}
		out, ct = st.out, key
	}
	if ir.ContentHandling == ConvertToBinary && !binary {
		// The backend's base64 text (or the template's) goes to the
		// client as the bytes it encodes.
		var err error
		if st.rconv, err = base64DecodeAppend(st.rconv[:0], unquoteJSON(out)); err != nil {
			ex.IntegrationError = fmt.Errorf("content_handling convert_to_binary: the integration response body: %w", err)
			ex.Fail(apierror.ConfigurationError)
			return
		}
		out = st.rconv
	}
	status := ir.Status
	for _, ov := range [...]*vtl.Overrides{&st.reqOv, &st.ov} {
		if ov.ResponseStatus >= 100 && ov.ResponseStatus <= 599 {
			status = ov.ResponseStatus
		}
	}
	resp := &ex.Ctx.Response
	resp.Reset()
	resp.SetStatusCode(status)
	resp.Header.SetContentType(ct)
	for _, h := range st.hdrs {
		resp.Header.SetBytesKV(h[0], h[1])
	}
	for _, ov := range [...]*vtl.Overrides{&st.reqOv, &st.ov} {
		for k, v := range ov.ResponseHeader {
			resp.Header.Set(k, v)
		}
	}
	resp.SetBody(out)
}

// statusSelectors are the status codes as text, so that selecting an
// integration response by status does not format one per request.
var statusSelectors = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusSelector(n int64) string {
	if n >= 0 && n < int64(len(statusSelectors)) {
		return statusSelectors[n]
	}
	return strconv.FormatInt(n, 10)
}

type transformError string

func (e transformError) Error() string { return string(e) }

const errNoResponse = transformError("no integration response matched and none is the default")

// applyRequestOverrides sets the headers and query parameters a request
// template put in $context.requestOverride.
func applyRequestOverrides(req *fasthttp.Request, ov *vtl.Overrides) {
	for k, v := range ov.RequestHeader {
		req.Header.Set(k, v)
	}
	if len(ov.RequestQueryString) > 0 {
		args := req.URI().QueryArgs()
		for k, v := range ov.RequestQueryString {
			args.Set(k, v)
		}
		req.URI().SetQueryStringBytes(args.QueryString())
	}
}

// HTTPIntegration is a REST non-proxy HTTP integration (type http): the
// request template's output is the upstream body, sent to the URL with
// the configured method, and the integration responses map the answer.
type HTTPIntegration struct {
	up     *HTTPProxy
	method []byte
	t      *Transform
}

// NewHTTPIntegration compiles a non-proxy HTTP integration over up;
// method "" keeps the request's.
func NewHTTPIntegration(up *HTTPProxy, method string, t *Transform) *HTTPIntegration {
	h := &HTTPIntegration{up: up, t: t}
	if method != "" {
		h.method = []byte(method)
	}
	return h
}

// Serve maps the request, calls the upstream and maps its answer.
func (h *HTTPIntegration) Serve(ex *exchange.Exchange) {
	st := getState(ex, h.t.StageVariables)
	defer putState(st)
	body, ok := h.t.request(ex, st, true)
	if !ok {
		return
	}
	req := &ex.Ctx.Request
	st.method = append(st.method[:0], req.Header.Method()...)
	if h.method != nil {
		req.Header.SetMethodBytes(h.method)
	}
	if own := req.Body(); len(body) == 0 || len(own) == 0 || &body[0] != &own[0] {
		// Copied, unless it is the request's own body passed through:
		// the request outlives this call, and st.out goes back to a
		// pool.
		req.SetBody(body)
	}
	applyRequestOverrides(req, &st.reqOv)
	h.up.serve(ex, nil, st.reqOv.RequestPath)
	req.Header.SetMethodBytes(st.method)
	if ex.ErrorMessage != "" {
		return // the call failed and was answered
	}
	resp := &ex.Ctx.Response
	st.body = append(st.body[:0], resp.Body()...)
	h.t.respond(ex, st, statusSelector(int64(resp.StatusCode())), true, st.body, func(name string) []byte { return resp.Header.Peek(name) })
}

// MockIntegration is a REST mock integration with templates: the request
// template's {"statusCode": N} selects the integration response.
type MockIntegration struct{ t *Transform }

// NewMockIntegration compiles a templated mock.
func NewMockIntegration(t *Transform) *MockIntegration { return &MockIntegration{t: t} }

// Serve answers from the integration response the status code selects.
func (m *MockIntegration) Serve(ex *exchange.Exchange) {
	st := getState(ex, m.t.StageVariables)
	defer putState(st)
	body, ok := m.t.request(ex, st, false)
	if !ok {
		return
	}
	status := int64(200)
	if len(bytes.TrimSpace(body)) > 0 {
		n, ok, err := vtl.JSONMemberInt(body, "statusCode")
		if err != nil {
			ex.IntegrationError = err
			ex.Fail(apierror.ConfigurationError)
			return
		}
		if ok {
			status = n
		}
	}
	m.t.respond(ex, st, statusSelector(status), true, nil, nil)
}

// LambdaIntegration is a REST custom (non-proxy) Lambda integration: the
// request template's output is the event, and a function error's
// errorMessage selects the integration response.
type LambdaIntegration struct {
	inv     lambda.Invoker
	timeout time.Duration
	t       *Transform
}

// NewLambdaIntegration compiles a custom Lambda integration.
func NewLambdaIntegration(inv lambda.Invoker, timeout time.Duration, t *Transform) *LambdaIntegration {
	return &LambdaIntegration{inv: inv, timeout: timeout, t: t}
}

var emptyEvent = []byte("{}")

// Serve invokes the function with the mapped event and maps its result.
func (l *LambdaIntegration) Serve(ex *exchange.Exchange) {
	if l.inv == nil { // compiled without functions (validate, routes)
		ex.Fail(apierror.InternalError)
		return
	}
	st := getState(ex, l.t.StageVariables)
	defer putState(st)
	event, ok := l.t.request(ex, st, true)
	if !ok {
		return
	}
	if len(bytes.TrimSpace(event)) == 0 {
		event = emptyEvent
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	start := time.Now()
	res, err := l.inv.Invoke(ctx, event)
	cancel()
	ex.IntegrationLatency = time.Since(start)
	if err != nil {
		(&Lambda{}).fail(ex, err)
		return
	}
	st.body = append(st.body[:0], res.Payload...)
	if res.FunctionError == "" {
		l.t.respond(ex, st, "", false, st.body, nil)
		return
	}
	msg := ""
	if v, err := vtl.ParseJSON(string(st.body)); err == nil {
		if obj, ok := v.(*vtl.Map); ok {
			if m, ok := obj.Get("errorMessage"); ok {
				msg, _ = m.(string)
			}
		}
	}
	ex.IntegrationError = &lambda.FunctionError{Type: res.FunctionError, Payload: res.Payload}
	l.t.respond(ex, st, msg, true, st.body, nil)
}
