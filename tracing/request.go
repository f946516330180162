package tracing

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
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

// Request is the trace of one request: its server span and the context
// child spans start from. All methods are safe on a nil *Request (tracing
// off) and do nothing then.
type Request struct {
	t    *Tracer
	ctx  context.Context
	span trace.Span
	// xray is the X-Amzn-Trace-Id for the integration in progress.
	xray string
	// traceID is the trace id in hex, for the access log.
	traceID [32]byte
}

// headerCarrier reads and writes a fasthttp request's headers for the
// propagators.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c headerCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c headerCarrier) Keys() []string {
	var out []string
	for k := range c.h.All() {
		out = append(out, string(k))
	}
	return out
}

// Start begins the server span of the request in ctx, continuing the
// trace its traceparent or X-Amzn-Trace-Id names.
func (t *Tracer) Start(ctx *fasthttp.RequestCtx, start time.Time) *Request {
	if t == nil {
		return nil
	}
	h := &ctx.Request.Header
	c := t.prop.Extract(context.Background(), headerCarrier{h})
	if !trace.SpanContextFromContext(c).IsValid() {
		// An X-Amzn-Trace-Id with a Root and no Parent (a caller that
		// made the id but records nothing) still names the trace.
		if v := h.Peek("X-Amzn-Trace-Id"); len(v) > 0 {
			if tid, ok := xrayRoot(string(v)); ok {
				c = context.WithValue(c, forcedTraceID{}, tid)
			}
		}
	}
	method := string(ctx.Method())
	c, span := t.tracer.Start(c, method, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start))
	r := &Request{t: t, ctx: c, span: span}
	sc := span.SpanContext()
	tid := sc.TraceID()
	hex.Encode(r.traceID[:], tid[:])
	if span.IsRecording() {
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
// bytes are the Request's and stay valid while it is referenced.
func (r *Request) TraceID() []byte {
	if r == nil {
		return nil
	}
	return r.traceID[:]
}

// Route describes the matched route, for End.
type Route struct {
	APIID, Stage, RouteKey []byte
	RequestID              []byte
	// ErrorMessage is the gateway's own answer's message, if any.
	ErrorMessage string
}

// End ends the server span with the response's status and the route the
// request matched (OpenTelemetry HTTP server conventions: the name is
// "METHOD route"; 5xx is an error).
func (r *Request) End(status int, rt Route) {
	if r == nil {
		return
	}
	s := r.span
	if s.IsRecording() {
		attrs := []attribute.KeyValue{semconv.HTTPResponseStatusCode(status)}
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
				s.SetName(key)
			} else {
				s.SetName(key) // $default
			}
		}
		s.SetAttributes(attrs...)
		if status >= 500 || status < 100 {
			s.SetStatus(codes.Error, rt.ErrorMessage)
			attrs = append(attrs[:0], semconv.ErrorTypeKey.String(statusText(status)))
			s.SetAttributes(attrs...)
		}
	}
	s.End()
}

func statusText(status int) string {
	const digits = "0123456789"
	if status < 100 || status > 999 {
		return "_OTHER"
	}
	return string([]byte{digits[status/100], digits[status/10%10], digits[status%10]})
}

// Span is a child span of a request: an authorizer call, the cache
// decision, the integration call. Methods are safe on nil.
type Span struct {
	r    *Request
	span trace.Span
}

func (r *Request) child(name string, kind trace.SpanKind, attrs ...attribute.KeyValue) *Span {
	_, s := r.t.tracer.Start(r.ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return &Span{r: r, span: s}
}

// StartAuthorizer starts the span of an authorizer call; kind is "jwt",
// "lambda" or "http".
func (r *Request) StartAuthorizer(kind string) *Span {
	if r == nil {
		return nil
	}
	return r.child("authorizer "+kind, trace.SpanKindInternal, attribute.String("frontdesk.authorizer.type", kind))
}

// CacheDecision records the response cache's decision (Hit, Miss,
// Refresh, …) as a short span.
func (r *Request) CacheDecision(result []byte) {
	if r == nil {
		return
	}
	s := r.child("cache", trace.SpanKindInternal, AttrCacheResult.String(strings.ToLower(string(result))))
	s.span.End()
}

// StartUpstream starts the client span of an HTTP integration call and
// writes the span's context into the upstream request's headers:
// traceparent (and tracestate) and X-Amzn-Trace-Id, replacing the
// client's.
func (r *Request) StartUpstream(up *fasthttp.RequestHeader) *Span {
	if r == nil {
		return nil
	}
	method := string(up.Method())
	s := r.child(method, trace.SpanKindClient,
		AttrIntegration.String("http_proxy"),
		semconv.HTTPRequestMethodKey.String(method),
		semconv.ServerAddress(string(up.Host())),
		semconv.URLPath(pathOf(up.RequestURI())),
	)
	c := trace.ContextWithSpan(r.ctx, s.span)
	r.t.prop.Inject(c, headerCarrier{up})
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
// invocation of function name. XRay then gives the X-Amzn-Trace-Id for
// its event, with this span as the parent.
func (r *Request) StartFunction(name string) *Span {
	if r == nil {
		return nil
	}
	s := r.child("invoke "+name, trace.SpanKindClient,
		AttrIntegration.String("lambda"),
		attribute.String("faas.invoked_name", name),
		attribute.String("faas.invoked_provider", "aws"),
	)
	c := trace.ContextWithSpan(r.ctx, s.span)
	m := propagation.MapCarrier{}
	r.t.prop.Inject(c, m)
	r.xray = m.Get("X-Amzn-Trace-Id")
	return s
}

// XRay is the X-Amzn-Trace-Id of the integration call in progress
// ("Root=1-…;Parent=…;Sampled=1"), "" when none.
func (r *Request) XRay() string {
	if r == nil {
		return ""
	}
	return r.xray
}

// End ends the span; err marks it failed. status is the HTTP status the
// call produced, 0 when none.
func (s *Span) End(status int, err error) {
	if s == nil {
		return
	}
	if s.span.IsRecording() {
		if status > 0 {
			s.span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		}
		if err != nil {
			s.span.RecordError(err)
			s.span.SetStatus(codes.Error, err.Error())
		} else if status >= 500 {
			s.span.SetStatus(codes.Error, "")
		}
	}
	s.span.End()
}
