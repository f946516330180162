package proxy

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/internal/clftime"
	"github.com/frontdeskgw/frontdesk/internal/headers"
)

// Parameter mapping (HTTP APIs): an integration's request_parameters change
// the request before the integration sees it, its response_parameters the
// integration's answer before the client sees it, as API Gateway's
// "append:header.x" / "overwrite:statuscode" mappings do.

// PartKind is where one part of a mapped value comes from.
type PartKind uint8

// Value part kinds. Stage variables are resolved when the config is
// compiled, so they arrive as static text.
const (
	PartStatic           PartKind = iota
	PartRequestHeader             // every line of the header, comma-joined
	PartRequestQuery              // every value of the parameter, comma-joined
	PartRequestBody               // the body, or a JSONPath into it
	PartRequestPath               // the path without the stage
	PartRequestPathParam          // a route path variable
	PartResponseHeader
	PartResponseBody
	PartContext // a $context variable (ContextVar)
)

// ContextVar is a $context variable a mapping reads.
type ContextVar uint8

// The $context variables of parameter mapping.
const (
	CtxRequestID ContextVar = iota
	CtxExtendedRequestID
	CtxAPIID
	CtxStage
	CtxRouteKey
	CtxResourcePath
	CtxHTTPMethod
	CtxPath
	CtxProtocol
	CtxDomainName
	CtxDomainPrefix
	CtxSourceIP
	CtxUserAgent
	CtxRequestTime
	CtxRequestTimeEpoch
	CtxAccountID
	// CtxAuthorizer reads the authorizer's output: Name is its path,
	// "principalId", "claims.sub", or a Lambda authorizer's context key.
	CtxAuthorizer
)

// ContextVars maps the names a mapping may use after $context. to their
// variable.
var ContextVars = map[string]ContextVar{
	"requestId": CtxRequestID, "extendedRequestId": CtxExtendedRequestID, "apiId": CtxAPIID,
	"stage": CtxStage, "routeKey": CtxRouteKey, "resourcePath": CtxResourcePath,
	"httpMethod": CtxHTTPMethod, "path": CtxPath, "protocol": CtxProtocol,
	"domainName": CtxDomainName, "domainPrefix": CtxDomainPrefix,
	"identity.sourceIp": CtxSourceIP, "identity.userAgent": CtxUserAgent,
	"requestTime": CtxRequestTime, "requestTimeEpoch": CtxRequestTimeEpoch, "accountId": CtxAccountID,
}

// MapPart is one part of a mapped value.
type MapPart struct {
	Kind PartKind
	// Text is the static text; Name the header, parameter or variable
	// name, or the JSONPath steps' source ("a.b[0]").
	Text string
	Name string
	Ctx  ContextVar
	// Steps are a body JSONPath's steps ("a", "[0]"); none: the whole
	// body.
	Steps []string

	name []byte // Name, for comparisons that must not allocate
}

// MapAction is append, overwrite or remove.
type MapAction uint8

// Mapping actions.
const (
	Append MapAction = iota
	Overwrite
	Remove
)

// MapTarget is what a mapping changes.
type MapTarget uint8

// Mapping targets.
const (
	TargetHeader MapTarget = iota
	TargetQuery
	TargetPath
	TargetStatus
)

// MapOp is one compiled mapping.
type MapOp struct {
	Action MapAction
	Target MapTarget
	Name   string
	Value  []MapPart
}

// ParamMapping is an integration's compiled parameter mapping.
type ParamMapping struct {
	Request []MapOp
	// Responses are the mappings of the integration's answers, by status
	// code.
	Responses map[int][]MapOp
}

// maxBodyPath is how much of a body a JSONPath reads, as API Gateway
// truncates bodies at 100 KB before applying one.
const maxBodyPath = 100 << 10

type compiledOp struct {
	action MapAction
	target MapTarget
	name   []byte
	value  []MapPart
	// static is the whole value when it has no variables.
	static    []byte
	isStatic  bool
	needsBody bool
}

type statusOps struct {
	status int
	ops    []compiledOp
}

// Mapped runs an integration between its request and response mappings.
type Mapped struct {
	inner     exchange.Integration
	http      *HTTPProxy // inner, when it is one (overwrite:path)
	request   []compiledOp
	queryOps  bool
	responses []statusOps
	states    sync.Pool // *mapState
}

// mapState is one request's evaluated values, pooled.
type mapState struct {
	buf   []byte
	spans []span
	path  []byte
	query []byte
	// parsed bodies and authorizer output, when a mapping reads them.
	body, authz       any
	bodyDone, authzOK bool
}

type span struct{ start, end int }

// NewMapped wraps inner in the mapping m; it returns inner itself when m
// maps nothing.
func NewMapped(inner exchange.Integration, m ParamMapping) exchange.Integration {
	if len(m.Request) == 0 && len(m.Responses) == 0 {
		return inner
	}
	p := &Mapped{inner: inner}
	p.http, _ = inner.(*HTTPProxy)
	p.request = compileOps(m.Request)
	for _, op := range p.request {
		if op.target == TargetQuery {
			p.queryOps = true
		}
	}
	for st, ops := range m.Responses {
		p.responses = append(p.responses, statusOps{status: st, ops: compileOps(ops)})
	}
	slices.SortFunc(p.responses, func(a, b statusOps) int { return a.status - b.status })
	p.states.New = func() any { return &mapState{} }
	return p
}

func compileOps(ops []MapOp) []compiledOp {
	out := make([]compiledOp, 0, len(ops))
	for _, o := range ops {
		c := compiledOp{action: o.Action, target: o.Target, name: []byte(o.Name), isStatic: true}
		for _, p := range o.Value {
			p.name = []byte(p.Name)
			c.value = append(c.value, p)
			switch p.Kind {
			case PartStatic:
				c.static = append(c.static, p.Text...)
			case PartRequestBody, PartResponseBody:
				c.needsBody = true
				c.isStatic = false
			default:
				c.isStatic = false
			}
		}
		out = append(out, c)
	}
	return out
}

// Serve maps the request, runs the integration and maps its answer.
func (p *Mapped) Serve(ex *exchange.Exchange) {
	st := p.states.Get().(*mapState)
	defer p.putState(st)
	var path []byte
	if len(p.request) > 0 {
		path = p.mapRequest(ex, st)
	}
	if p.http != nil && path != nil {
		p.http.serve(ex, path, nil)
	} else {
		p.inner.Serve(ex)
	}
	if len(p.responses) == 0 || ex.ErrorMessage != "" {
		return // the gateway's own answers are not the integration's
	}
	code := ex.Ctx.Response.StatusCode()
	for i := range p.responses {
		if p.responses[i].status == code {
			st.reset()
			p.apply(ex, st, p.responses[i].ops, true)
			return
		}
	}
}

func (p *Mapped) putState(st *mapState) {
	st.reset()
	if cap(st.buf) > 64<<10 {
		st.buf = nil
	}
	p.states.Put(st)
}

func (st *mapState) reset() {
	st.buf, st.spans = st.buf[:0], st.spans[:0]
	st.path, st.query = st.path[:0], st.query[:0]
	st.body, st.authz, st.bodyDone, st.authzOK = nil, nil, false, false
}

// mapRequest applies the request mappings and returns the path to send
// (nil: unchanged).
func (p *Mapped) mapRequest(ex *exchange.Exchange, st *mapState) []byte {
	return p.apply(ex, st, p.request, false)
}

// apply evaluates every value first, against the message as it came, and
// then changes it, so that one mapping never sees another's result.
func (p *Mapped) apply(ex *exchange.Exchange, st *mapState, ops []compiledOp, response bool) (path []byte) {
	for i := range ops {
		op := &ops[i]
		start := len(st.buf)
		if op.action != Remove {
			if op.isStatic {
				st.buf = append(st.buf, op.static...)
			} else {
				for j := range op.value {
					st.buf = st.appendPart(st.buf, ex, &op.value[j], response)
				}
			}
		}
		st.spans = append(st.spans, span{start, len(st.buf)})
	}
	ctx := ex.Ctx
	for i := range ops {
		op := &ops[i]
		v := st.buf[st.spans[i].start:st.spans[i].end]
		switch op.target {
		case TargetHeader:
			if response {
				applyHeader(&ctx.Response.Header, op, v)
			} else {
				applyHeader(&ctx.Request.Header, op, v)
			}
		case TargetPath:
			st.path = append(st.path[:0], v...)
			if len(st.path) == 0 || st.path[0] != '/' {
				st.path = append(st.path[:0], '/')
				st.path = append(st.path, v...)
			}
			path = st.path
		case TargetStatus:
			if n, ok := parseStatus(bytes.TrimSpace(v)); ok {
				ctx.Response.SetStatusCode(n)
			}
		}
	}
	if !response && p.queryOps {
		st.query = p.mapQuery(st.query[:0], ctx, ops, st)
		ctx.Request.URI().SetQueryStringBytes(st.query)
	}
	return path
}

// parseStatus reads a status code 100-599.
func parseStatus(b []byte) (int, bool) {
	if len(b) != 3 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 100 && n <= 599
}

type header interface {
	DelBytes(key []byte)
	SetBytesKV(key, value []byte)
	AddBytesKV(key, value []byte)
}

func applyHeader(h header, op *compiledOp, v []byte) {
	// A relayed response keeps the upstream's spelling of header names
	// (normalizing is off on it), so an exact DelBytes would miss
	// "X-Debug" when the mapping names "x-debug".
	resp, relayed := h.(*fasthttp.ResponseHeader)
	switch op.action {
	case Remove:
		if relayed {
			headers.DelFold(resp, op.name)
			return
		}
		h.DelBytes(op.name)
	case Overwrite:
		if relayed {
			headers.DelFold(resp, op.name)
			resp.AddBytesKV(op.name, v)
			return
		}
		h.SetBytesKV(op.name, v)
	case Append:
		h.AddBytesKV(op.name, v)
	}
}

// mapQuery rebuilds the query string: the request's parameters that no
// overwrite or remove names, in order, then the mapped ones.
func (p *Mapped) mapQuery(dst []byte, ctx *fasthttp.RequestCtx, ops []compiledOp, st *mapState) []byte {
	for k, v := range ctx.QueryArgs().All() {
		dropped := false
		for i := range ops {
			op := &ops[i]
			if op.target == TargetQuery && op.action != Append && bytes.Equal(op.name, k) {
				dropped = true
				break
			}
		}
		if !dropped {
			dst = appendArg(dst, k, v)
		}
	}
	for i := range ops {
		op := &ops[i]
		if op.target == TargetQuery && op.action != Remove {
			dst = appendArg(dst, op.name, st.buf[st.spans[i].start:st.spans[i].end])
		}
	}
	return dst
}

func appendArg(dst, k, v []byte) []byte {
	if len(dst) > 0 {
		dst = append(dst, '&')
	}
	dst = fasthttp.AppendQuotedArg(dst, k)
	dst = append(dst, '=')
	return fasthttp.AppendQuotedArg(dst, v)
}

// appendPart appends the value of one part.
func (st *mapState) appendPart(dst []byte, ex *exchange.Exchange, part *MapPart, response bool) []byte {
	ctx := ex.Ctx
	switch part.Kind {
	case PartStatic:
		return append(dst, part.Text...)
	case PartRequestHeader:
		return appendJoined(dst, ctx.Request.Header.All(), part.name)
	case PartResponseHeader:
		return appendJoined(dst, ctx.Response.Header.All(), part.name)
	case PartRequestQuery:
		first := true
		for k, v := range ctx.QueryArgs().All() {
			if string(k) == part.Name {
				if !first {
					dst = append(dst, ',')
				}
				dst = append(dst, v...)
				first = false
			}
		}
		return dst
	case PartRequestPath:
		return append(dst, ex.Path...)
	case PartRequestPathParam:
		return append(dst, ex.Param(part.Name)...)
	case PartRequestBody, PartResponseBody:
		var body []byte
		if part.Kind == PartRequestBody {
			body = ctx.Request.Body()
		} else if !ctx.Response.IsBodyStream() {
			body = ctx.Response.Body()
		}
		if len(part.Steps) == 0 {
			return append(dst, body...)
		}
		if !st.bodyDone {
			st.bodyDone = true
			if len(body) > maxBodyPath {
				body = body[:maxBodyPath]
			}
			if json.Unmarshal(body, &st.body) != nil {
				st.body = nil
			}
		}
		return appendJSONValue(dst, lookup(st.body, part.Steps))
	case PartContext:
		return st.appendContext(dst, ex, part)
	}
	return dst
}

// appendJoined appends every line of header name, comma-joined, as API
// Gateway combines them.
func appendJoined(dst []byte, all func(func(k, v []byte) bool), name []byte) []byte {
	first := true
	for k, v := range all {
		if len(k) == len(name) && ascii.EqualFold(k, name) {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, v...)
			first = false
		}
	}
	return dst
}

func (st *mapState) appendContext(dst []byte, ex *exchange.Exchange, part *MapPart) []byte {
	ctx := ex.Ctx
	r := ex.RouteInfo
	switch part.Ctx {
	case CtxRequestID:
		return append(dst, ex.RequestID...)
	case CtxExtendedRequestID:
		if len(ex.ExtendedRequestID) > 0 {
			return append(dst, ex.ExtendedRequestID...)
		}
		return append(dst, ex.RequestID...)
	case CtxAPIID:
		return append(dst, r.APIIDBytes...)
	case CtxStage:
		return append(dst, r.StageBytes...)
	case CtxRouteKey:
		return append(dst, r.RouteKeyBytes...)
	case CtxResourcePath:
		return append(dst, r.Resource...)
	case CtxHTTPMethod:
		return append(dst, ctx.Method()...)
	case CtxPath:
		return append(dst, ctx.Request.URI().PathOriginal()...)
	case CtxProtocol:
		return append(dst, ctx.Request.Header.Protocol()...)
	case CtxDomainName:
		return append(dst, ctx.Host()...)
	case CtxDomainPrefix:
		h := ctx.Host()
		if i := bytes.IndexByte(h, '.'); i >= 0 {
			h = h[:i]
		}
		return append(dst, h...)
	case CtxSourceIP:
		return append(dst, ex.SourceIP()...)
	case CtxUserAgent:
		return append(dst, ctx.UserAgent()...)
	case CtxRequestTime:
		return clftime.Append(dst, ex.Start)
	case CtxRequestTimeEpoch:
		return strconv.AppendInt(dst, ex.Start.UnixMilli(), 10)
	case CtxAccountID:
		return append(dst, exchange.AccountID...)
	case CtxAuthorizer:
		if !st.authzOK {
			st.authzOK = true
			if len(ex.Authorizer) > 0 && json.Unmarshal(ex.Authorizer, &st.authz) != nil {
				st.authz = nil
			}
		}
		return appendJSONValue(dst, authorizerValue(st.authz, part.Steps))
	}
	return dst
}

// authorizerValue finds path in an authorizer's output: at the top (payload
// 1.0: claims, principalId, a Lambda context's keys), else under "jwt" or
// "lambda" (payload 2.0).
func authorizerValue(authz any, steps []string) any {
	if v := lookup(authz, steps); v != nil {
		return v
	}
	m, _ := authz.(map[string]any)
	for _, k := range [...]string{"jwt", "lambda"} {
		if v := lookup(m[k], steps); v != nil {
			return v
		}
	}
	return nil
}

// lookup follows JSONPath steps ("name", "[0]") into a decoded JSON value.
func lookup(v any, steps []string) any {
	for _, s := range steps {
		if len(s) > 1 && s[0] == '[' {
			a, ok := v.([]any)
			i, err := strconv.Atoi(s[1 : len(s)-1])
			if !ok || err != nil || i < 0 || i >= len(a) {
				return nil
			}
			v = a[i]
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[s]
	}
	return v
}

// appendJSONValue appends a selected value: strings as their text, other
// values as JSON, nothing for a missing one.
func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return dst
	case string:
		return append(dst, x...)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst
	}
	return append(dst, b...)
}
