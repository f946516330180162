package tracing

import (
	"context"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of frontdesk's own, beside the HTTP semantic conventions.
const (
	AttrAPIID       = attribute.Key("frontdesk.api_id")
	AttrStage       = attribute.Key("frontdesk.stage")
	AttrRouteKey    = attribute.Key("frontdesk.route_key")
	AttrRequestID   = attribute.Key("frontdesk.request_id")
	AttrCacheResult = attribute.Key("frontdesk.cache.result")
	AttrIntegration = attribute.Key("frontdesk.integration")
)

// Request is the trace of one request. All methods are safe on a nil
// *Request (tracing off) and do nothing then.
//
// A request that is not sampled never reaches the SDK: its trace id and
// span ids are kept here and written into the headers that pass the
// context on, without allocating. A sampled request has an SDK server span
// (span, ctx) and SDK child spans.
type Request struct {
	t       *Tracer
	traceID trace.TraceID
	// spanID is the current span's id: the server span's, then the
	// integration call's while it runs (what downstream sees as parent).
	spanID  trace.SpanID
	sampled bool

	ctx  context.Context
	span trace.Span

	// xray is the X-Amzn-Trace-Id for the integration in progress;
	// header is scratch for the traceparent written upstream.
	xray, header []byte
	// hexID is the trace id in hex (the access log's and every header's);
	// hexSpan is spanID's while an integration call runs.
	hexID   [32]byte
	hexSpan [16]byte
}

// Start begins the trace of the request in ctx: it continues the trace of
// the request's traceparent (preferred) or X-Amzn-Trace-Id, or starts one,
// and decides whether it is sampled.
func (t *Tracer) Start(ctx *fasthttp.RequestCtx, start time.Time) *Request {
	if t == nil {
		return nil
	}
	h := &ctx.Request.Header
	in, ok := parseTraceparent(h.PeekBytes(hdrTraceparent))
	if !ok {
		// Without a usable traceparent, X-Ray's header; without either
		// (in is zero), a new trace.
		in, _ = parseXRay(h.PeekBytes(hdrXRay))
	}
	r := t.pool.Get().(*Request)
	r.t = t
	r.traceID = in.traceID
	if !in.hasTrace {
		r.traceID = randomTraceID()
	}
	switch {
	case t.never:
		r.sampled = false
	case in.decided && in.hasParent:
		r.sampled = in.sampled // the caller's decision
	case in.decided && in.sampled:
		r.sampled = true
	default:
		r.sampled = ratioSampled(r.traceID, t.bound)
	}
	encodeHex(r.hexID[:], r.traceID[:])
	if !r.sampled {
		r.spanID = randomSpanID()
		return r
	}
	c := context.WithValue(context.Background(), forcedTraceID{}, r.traceID)
	if in.hasParent {
		c = trace.ContextWithRemoteSpanContext(c, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: in.traceID, SpanID: in.parent, TraceFlags: trace.FlagsSampled, Remote: true}))
	}
	method := string(ctx.Method())
	c, span := t.tracer.Start(c, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	r.ctx, r.span, r.spanID = c, span, span.SpanContext().SpanID()
	span.SetAttributes(
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLPath(string(ctx.Path())),
		semconv.URLScheme(scheme(ctx)),
		semconv.ServerAddress(string(h.Host())),
		semconv.NetworkProtocolVersion(protocolVersion(h.Protocol())),
		semconv.ClientAddress(ctx.RemoteIP().String()),
		semconv.UserAgentOriginal(string(h.UserAgent())),
	)
	if q := ctx.URI().QueryString(); len(q) > 0 {
		span.SetAttributes(semconv.URLQuery(string(q)))
	}
	return r
}

func scheme(ctx *fasthttp.RequestCtx) string {
	if ctx.IsTLS() {
		return "https"
	}
	return "http"
}

func protocolVersion(p []byte) string {
	s := string(p)
	if v, ok := strings.CutPrefix(s, "HTTP/"); ok {
		return v
	}
	return s
}

// TraceID is the request's trace id in hex (32 characters), or nil. The
// bytes are the Request's, valid until End.
func (r *Request) TraceID() []byte {
	if r == nil {
		return nil
	}
	return r.hexID[:]
}

// Sampled reports whether the request's spans are recorded and exported.
func (r *Request) Sampled() bool { return r != nil && r.sampled }

// Route describes the matched route, for End.
type Route struct {
	APIID, Stage, RouteKey []byte
	RequestID              []byte
	// ErrorMessage is the gateway's own answer's message, if any.
	ErrorMessage string
}

// End ends the request's trace with the response's status and the route
// it matched (OpenTelemetry HTTP server conventions: the span is named by
// the route key; 5xx is an error). r must not be used afterwards.
func (r *Request) End(status int, rt Route) {
	if r == nil {
		return
	}
	if s := r.span; s != nil {
		attrs := make([]attribute.KeyValue, 0, 8)
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
		if len(rt.APIID) > 0 {
			attrs = append(attrs, AttrAPIID.String(string(rt.APIID)))
		}
		if len(rt.Stage) > 0 {
			attrs = append(attrs, AttrStage.String(string(rt.Stage)))
		}
		if len(rt.RequestID) > 0 {
			attrs = append(attrs, AttrRequestID.String(string(rt.RequestID)))
		}
		if key := string(rt.RouteKey); key != "" && key != "-" {
			attrs = append(attrs, AttrRouteKey.String(key))
			// "GET /pets/{id}": http.route is the path template.
			if _, tmpl, ok := strings.Cut(key, " "); ok {
				attrs = append(attrs, semconv.HTTPRoute(tmpl))
			}
			s.SetName(key)
		}
		if status >= 500 || status < 100 {
			s.SetStatus(codes.Error, rt.ErrorMessage)
			attrs = append(attrs, semconv.ErrorTypeKey.String(statusText(status)))
		}
		s.SetAttributes(attrs...)
		s.End()
	}
	t := r.t
	*r = Request{xray: r.xray[:0], header: r.header[:0]}
	t.pool.Put(r)
}

func statusText(status int) string {
	const digits = "0123456789"
	if status < 100 || status > 999 {
		return "_OTHER"
	}
	return string([]byte{digits[status/100], digits[status/10%10], digits[status%10]})
}

// Span is a recorded child span of a request: an authorizer call, the
// cache decision, the integration call. Only sampled requests have them;
// methods are safe on nil.
type Span struct{ span trace.Span }

func (r *Request) child(name string, kind trace.SpanKind, attrs ...attribute.KeyValue) *Span {
	_, s := r.t.tracer.Start(r.ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return &Span{span: s}
}

// StartAuthorizer starts the span of an authorizer call; kind is "jwt",
// "lambda" or "http".
func (r *Request) StartAuthorizer(kind string) *Span {
	if r == nil || !r.sampled {
		return nil
	}
	return r.child("authorizer "+kind, trace.SpanKindInternal, attribute.String("frontdesk.authorizer.type", kind))
}

// CacheDecision records the response cache's decision (Hit, Miss,
// Stale, Refresh) as a short span.
func (r *Request) CacheDecision(result []byte) {
	if r == nil || !r.sampled {
		return
	}
	r.child("cache", trace.SpanKindInternal, AttrCacheResult.String(strings.ToLower(string(result)))).span.End()
}

// StartUpstream starts the client span of an HTTP integration call and
// writes its context into the upstream request's headers, replacing the
// client's: traceparent and X-Amzn-Trace-Id (the client's tracestate
// passes on as it came).
func (r *Request) StartUpstream(up *fasthttp.RequestHeader) *Span {
	if r == nil {
		return nil
	}
	var s *Span
	if r.sampled {
		method := string(up.Method())
		s = r.child(method, trace.SpanKindClient,
			AttrIntegration.String("http_proxy"),
			semconv.HTTPRequestMethodKey.String(method),
			semconv.ServerAddress(string(up.Host())),
			semconv.URLPath(pathOf(up.RequestURI())),
		)
	}
	r.enter(s)
	r.header = appendTraceparent(r.header[:0], &r.hexID, &r.hexSpan, r.sampled)
	up.SetCanonical(hdrTraceparent, r.header)
	up.SetCanonical(hdrXRay, r.xray)
	return s
}

func pathOf(uri []byte) string {
	s := string(uri)
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i]
	}
	return s
}

// StartFunction starts the client span of a Lambda integration's
// invocation of function name; XRay then gives the X-Amzn-Trace-Id for its
// event and runtime, with this span as the parent.
func (r *Request) StartFunction(name string) *Span {
	if r == nil {
		return nil
	}
	var s *Span
	if r.sampled {
		s = r.child("invoke "+name, trace.SpanKindClient,
			AttrIntegration.String("lambda"),
			attribute.String("faas.invoked_name", name),
			attribute.String("faas.invoked_provider", "aws"),
		)
	}
	r.enter(s)
	return s
}

// enter makes s the integration call in progress, or a fresh span id when
// the request is not sampled (s nil): the id the call's headers name as
// its parent, in hex, and its X-Amzn-Trace-Id.
func (r *Request) enter(s *Span) {
	if s != nil {
		r.spanID = s.span.SpanContext().SpanID()
	} else {
		r.spanID = randomSpanID()
	}
	encodeHex(r.hexSpan[:], r.spanID[:])
	r.xray = appendXRay(r.xray[:0], &r.hexID, &r.hexSpan, r.sampled)
}

// XRay is the X-Amzn-Trace-Id of the integration call in progress
// ("Root=1-…;Parent=…;Sampled=1"), empty when none. The bytes are the
// Request's.
func (r *Request) XRay() []byte {
	if r == nil {
		return nil
	}
	return r.xray
}

// End ends the span; err marks it failed. status is the HTTP status the
// call produced, 0 when none.
func (s *Span) End(status int, err error) {
	if s == nil {
		return
	}
	if status > 0 {
		s.span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	if err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	} else if status >= 500 {
		s.span.SetStatus(codes.Error, "")
	}
	s.span.End()
}
