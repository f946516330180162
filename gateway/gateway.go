// Package gateway is the data plane's request path: it compiles a config
// into an immutable Snapshot and serves each request through it —
// listener → API and stage selection → route match → integration →
// response — answering every failure in the API's error dialect.
//
// Compile is a function of the config and of a pending generation of the
// long-lived Registries (upstream pools, throttle state, authorizers,
// functions, bridges): it resolves what the snapshot needs there without
// changing what serves now, and the caller commits or aborts that
// generation (package registry). Every part of a config is compiled
// here: HTTP and REST APIs (compile.go), WebSocket APIs into their bridges
// (compile_websocket.go, OpenBridge) and functions into local hosts or
// Invoke API clients (compile_functions.go, OpenFunction); the server
// only runs the registries that hold them.
//
// Hot path: Handle. It reads the current Snapshot through one atomic
// pointer, takes a pooled Exchange, and allocates nothing in steady state.
package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"github.com/frontdeskgw/frontdesk/exchange"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/router"
	"github.com/frontdeskgw/frontdesk/tracing"
	"github.com/frontdeskgw/frontdesk/upstream"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// Gateway serves requests from the current Snapshot.
type Gateway struct {
	snap    atomic.Pointer[Snapshot]
	pool    sync.Pool
	log     *slog.Logger
	access  atomic.Pointer[accesslog.Logger]
	metrics *metrics.Registry

	underscores atomic.Bool // keep header names with '_'
	streams     *proxy.ClientStreams
	tracer      atomic.Pointer[tracing.Tracer] // nil: tracing off
}

// SetTracer makes t (nil: off) trace requests from now on.
func (g *Gateway) SetTracer(t *tracing.Tracer) { g.tracer.Store(t) }

// Options are the request path's settings that outlive snapshots.
type Options struct {
	// UnderscoresInHeaders keeps request header names that contain '_'
	// (server.underscores_in_headers); by default they are dropped.
	UnderscoresInHeaders bool
	// MaxStreamsPerClient caps the streamed upstream responses one client
	// holds open at once (upstream.max_streams_per_client; 0: no cap).
	MaxStreamsPerClient int
}

// SetOptions applies o to requests from now on.
func (g *Gateway) SetOptions(o Options) {
	g.underscores.Store(o.UnderscoresInHeaders)
	g.streams.SetMax(o.MaxStreamsPerClient)
}

// SetAccessLog makes l (nil: off) the access log of requests from now on.
func (g *Gateway) SetAccessLog(l *accesslog.Logger) { g.access.Store(l) }

// AccessLog is the access log in use (nil: off).
func (g *Gateway) AccessLog() *accesslog.Logger { return g.access.Load() }

// SetMetrics sets the registry that counts requests; set it before serving.
func (g *Gateway) SetMetrics(r *metrics.Registry) { g.metrics = r }

// New returns a gateway serving s.
func New(s *Snapshot, log *slog.Logger) *Gateway {
	g := &Gateway{log: log, streams: proxy.NewClientStreams(config.DefaultMaxStreamsPerClient)}
	g.pool.New = func() any { return &exchange.Exchange{} }
	g.snap.Store(s)
	return g
}

// Swap makes s the snapshot for every request that starts from now on;
// requests in flight finish on the one they started with.
func (g *Gateway) Swap(s *Snapshot) { g.snap.Store(s) }

// Snapshot returns the snapshot in use.
func (g *Gateway) Snapshot() *Snapshot { return g.snap.Load() }

// Request id header names, in the form fasthttp normalises names to, so
// that they can be set without normalising them on every request.
var (
	hdrHTTPRequestID = []byte("Apigw-Requestid")
	hdrRESTRequestID = []byte("X-Amzn-Requestid")
	// hdrAPIGWID carries a REST request's extended request id.
	hdrAPIGWID = []byte("X-Amz-Apigw-Id")
)

// Handle serves one request.
func (g *Gateway) Handle(ctx *fasthttp.RequestCtx) {
	s := g.snap.Load()
	useTargetAuthority(&ctx.Request)
	// Before anything reads a header: authorizers, cache keys, the
	// WebSocket bridge and the upstream all see the screened set.
	scan := screenHeaders(&ctx.Request.Header, g.underscores.Load())
	if len(s.ws) > 0 && g.serveWebSocket(ctx, s, scan) {
		return
	}
	ex := g.acquire(ctx, s)
	defer g.finish(ex)

	host, path := ctx.Request.Header.Host(), ctx.Request.URI().PathOriginal()
	sel := s.table.Match(host, path)
	if sel.API < 0 || s.apis[sel.API].dialect == apierror.REST {
		// REST APIs collapse repeated slashes before choosing the stage
		// and the resource: "//prod/x" and "/prod//x" are "/prod/x". The
		// event's requestContext.path keeps the path as sent. HTTP APIs
		// route the path as sent.
		if c := ex.CollapsedPath(path); len(c) != len(path) {
			if again := s.table.Match(host, c); again.API >= 0 && s.apis[again.API].dialect == apierror.REST {
				sel = again
			}
		}
	}
	if sel.API < 0 {
		begin(ex, apierror.HTTP)
		ex.Fail(apierror.NotFound)
		return
	}
	a := s.apis[sel.API]
	g.enter(ex, a)
	if scan.malformed() {
		ex.Fail(apierror.BadRequest)
		if scan.badName {
			ctx.SetConnectionClose() // a malformed request, as nginx closes after it
		}
		return
	}
	if a.cors != nil && a.cors.Preflight(&ctx.Request, &ctx.Response) {
		ex.CORS = nil // the preflight answer is complete as it is
		return        // preflights are answered before any route or authorizer
	}
	st := a.def
	switch {
	case sel.Stage == router.NoStage:
		ex.Fail(apierror.NotFound)
		return
	case sel.Stage >= 0:
		st = a.stages[sel.Stage]
	}
	ex.RouteInfo = st.unrouted // until a route matches
	if unsafePath(sel.Rest) {
		ex.Fail(apierror.BadRequest)
		return
	}
	id, ok := a.tree.Lookup(ex.Method, sel.Rest, &ex.Params)
	if !ok {
		ex.Fail(apierror.NotFound)
		return
	}
	ex.Path = sel.Rest
	ex.ParamNames = a.routes[id].params
	ex.RouteInfo = st.infos[id]
	ex.Counter = ex.RouteInfo.Metrics
	st.integrations[id].Serve(ex)
}

// useTargetAuthority makes the authority of an absolute-form request
// target ("GET http://other.example/x HTTP/1.1") the request's Host: RFC
// 9112 §3.2.2 says a server must ignore the Host header then. The API is
// chosen by it, and the upstream sees it as X-Forwarded-Host. An
// origin-form target (the usual "/x") costs one byte comparison.
func useTargetAuthority(req *fasthttp.Request) {
	if t := req.Header.RequestURI(); len(t) == 0 || t[0] == '/' {
		return
	}
	if host := req.URI().Host(); len(host) > 0 {
		req.Header.SetHostBytes(host)
	}
}

var hdrAuthorization = []byte("Authorization")

// headerScan is what one pass over a request's header names found.
type headerScan struct {
	authorizations int // Authorization lines
	// badName is set when a header name holds white space: fasthttp
	// reads "X A: b" as a header, which nginx refuses and an upstream
	// may read otherwise. (Other characters outside RFC 9110's token
	// set fasthttp refuses itself.)
	badName bool
}

// malformed reports a request to refuse with 400 on every route: more than
// one Authorization line (an authorizer reads one; the others would reach
// the upstream unverified), or a header name with white space.
func (s headerScan) malformed() bool { return s.authorizations > 1 || s.badName }

// screenHeaders looks at every header name of h once: it counts the
// Authorization lines and, unless keepUnderscores, drops every header
// whose name holds '_' (nginx's default: a backend that folds '-' and '_'
// together, as CGI and WSGI do, would read a client's X_User_Sub as the
// X-User-Sub a gateway set). Names only are scanned; nothing allocates
// unless a name with '_' has to go.
func screenHeaders(h *fasthttp.RequestHeader, keepUnderscores bool) headerScan {
	var s headerScan
	underscored := 0
	for k := range h.All() {
		if len(k) == len(hdrAuthorization) && ascii.EqualFold(k, hdrAuthorization) {
			s.authorizations++
		}
		if bytes.IndexByte(k, '_') >= 0 {
			underscored++
		}
		if bytes.IndexByte(k, ' ') >= 0 || bytes.IndexByte(k, '\t') >= 0 {
			s.badName = true
		}
	}
	if underscored > 0 && !keepUnderscores {
		dropUnderscored(h, underscored)
	}
	return s
}

// dropUnderscored deletes the headers whose names hold '_', at most n
// rounds: each round finds one such name and deletes all its lines (a
// header cannot be deleted while h is being walked).
func dropUnderscored(h *fasthttp.RequestHeader, n int) {
	var buf [64]byte
	for ; n > 0; n-- {
		name := buf[:0]
		for k := range h.All() {
			if bytes.IndexByte(k, '_') >= 0 {
				name = append(name, k...)
				break
			}
		}
		if len(name) == 0 {
			return
		}
		h.DelBytes(name)
	}
}

// acquire takes a pooled exchange for a request served from s and counts
// it in flight; finish gives it back.
func (g *Gateway) acquire(ctx *fasthttp.RequestCtx, s *Snapshot) *exchange.Exchange {
	ex := g.pool.Get().(*exchange.Exchange)
	ex.Ctx = ctx
	ex.Start = ctx.Time()
	ex.Method = router.ParseMethod(ctx.Method())
	ex.TrustedProxies = s.trusted
	ex.Streams = g.streams
	ex.Counter = s.noAPI
	if t := g.tracer.Load(); t != nil {
		ex.Trace = t.Start(ctx, ex.Start)
	}
	g.metrics.InFlight().Inc()
	return ex
}

// enter puts ex in API a: its error dialect and request id, CORS policy
// and counters.
func (g *Gateway) enter(ex *exchange.Exchange, a *api) {
	begin(ex, a.dialect)
	ex.CORS, ex.Counter, ex.APIMetrics = a.cors, a.noRoute, a.metrics
	ex.Responses = a.responses
	ex.RouteInfo = a.unrouted // until a stage and a route match
	ex.AnyHost = a.hosts == anyHost
}

// anyHost is api.hosts of an API without hosts.
const anyHost = "*"

// begin sets the dialect and the request id of ex.
func begin(ex *exchange.Exchange, d apierror.Dialect) {
	ex.Dialect = d
	if d == apierror.REST {
		ex.RequestID = appendUUID(ex.RequestID[:0])
		ex.RequestIDHeader = hdrRESTRequestID
		ex.ExtendedRequestID = appendExtendedID(ex.ExtendedRequestID[:0])
	} else {
		ex.ExtendedRequestID = ex.ExtendedRequestID[:0]
		ex.RequestID = appendShortID(ex.RequestID[:0])
		ex.RequestIDHeader = hdrHTTPRequestID
	}
}

// finish stamps the request id, turns a panic into a 500 for this request
// only, and returns the exchange to the pool.
func (g *Gateway) finish(ex *exchange.Exchange) {
	ctx := ex.Ctx
	if r := recover(); r != nil {
		g.log.Error("panic serving request", "panic", r, "method", string(ctx.Method()),
			"path", string(ctx.Path()), "stack", string(debug.Stack()))
		ctx.Response.Reset()
		apierror.Write(&ctx.Response, ex.Dialect, apierror.InternalError)
		ex.ErrorMessage = apierror.Message(ex.Dialect, apierror.InternalError)
	}
	if len(ex.RequestIDHeader) > 0 {
		ctx.Response.Header.SetCanonical(ex.RequestIDHeader, ex.RequestID)
	}
	if len(ex.ExtendedRequestID) > 0 {
		ctx.Response.Header.SetCanonical(hdrAPIGWID, ex.ExtendedRequestID)
	}
	if ex.CORS != nil {
		ex.CORS.Apply(&ctx.Request, &ctx.Response)
	}
	g.account(ex)
	if ex.Trace != nil {
		endTrace(ex)
	}
	ex.Reset()
	g.pool.Put(ex)
}

// endTrace ends the request's server span with what the request matched.
func endTrace(ex *exchange.Exchange) {
	rt := tracing.Route{RequestID: ex.RequestID, ErrorMessage: ex.ErrorMessage}
	if ri := ex.RouteInfo; ri != nil {
		rt.APIID, rt.Stage, rt.RouteKey = ri.APIIDBytes, ri.StageBytes, ri.RouteKeyBytes
	}
	ex.Trace.End(ex.Ctx.Response.StatusCode(), rt)
}

// appendShortID appends an HTTP API style request id such as
// "LV7fzho-PHcEJPw=": 11 random bytes, URL-safe base64.
func appendShortID(dst []byte) []byte {
	raw := random16()
	return base64.URLEncoding.AppendEncode(dst, raw[:11])
}

// appendExtendedID appends a REST extended request id such as
// "Xk2aHiVvoAMEbHg=": 11 random bytes, standard base64.
func appendExtendedID(dst []byte) []byte {
	raw := random16()
	return base64.StdEncoding.AppendEncode(dst, raw[:11])
}

// appendUUID appends a random (version 4) UUID, as REST APIs use.
func appendUUID(dst []byte) []byte {
	const hex = "0123456789abcdef"
	raw := random16()
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	for i, c := range raw {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}

// random16 returns 16 bytes from the runtime's fast random source: request
// ids need uniqueness, not secrecy.
func random16() [16]byte {
	var raw [16]byte
	binary.LittleEndian.PutUint64(raw[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(raw[8:], rand.Uint64())
	return raw
}

// unsafePath reports a path an upstream could resolve outside the route
// that matched, or that it could cut short: one with a "." or ".."
// segment once decoded, or with a NUL. Upstreams decode before they
// resolve (nginx turns %2F into a separator first) and several take a
// backslash for a slash, so %2F, %5C and \ end a segment here as '/'
// does, and %2E counts as a dot; Tomcat and Jetty drop what follows ';'
// in a segment, so "..;x" counts as "..". Such paths are refused rather
// than forwarded. One pass, no allocation.
func unsafePath(p []byte) bool {
	dots := 0 // dots of the current segment so far; -1 once it holds anything else
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) {
			if v, ok := unhex(p[i+1], p[i+2]); ok {
				c = v
				if c == 0 {
					return true
				}
				i += 2
			}
		}
		switch c {
		case '/', '\\', ';':
			if dots == 1 || dots == 2 {
				return true
			}
			dots = 0
			if c == ';' {
				dots = -1 // the rest of the segment is a parameter
			}
		case '.':
			if dots >= 0 {
				dots++
			}
		default:
			dots = -1
		}
	}
	return dots == 1 || dots == 2
}

func unhex(a, b byte) (byte, bool) {
	x, ok1 := hexVal(a)
	y, ok2 := hexVal(b)
	return x<<4 | y, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ErrOverloaded is the error a listener passes to HandleError for a request
// it refuses for want of capacity (503), not for what the client sent.
var ErrOverloaded = errors.New("gateway: overloaded")

// HandleError answers a request the server could not read (body or header
// over the limit, malformed request), in the dialect of the API it was for.
func (g *Gateway) HandleError(ctx *fasthttp.RequestCtx, err error) {
	s := g.snap.Load()
	ex := g.acquire(ctx, s)
	defer g.finish(ex)
	if sel := s.table.Match(ctx.Request.Header.Host(), ctx.Request.URI().PathOriginal()); sel.API >= 0 {
		g.enter(ex, s.apis[sel.API])
	} else {
		begin(ex, apierror.HTTP)
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ex.Fail(apierror.RequestTooLarge)
	case errors.As(err, &small):
		ex.Fail(apierror.HeaderTooLarge)
	case errors.Is(err, ErrOverloaded):
		ex.Fail(apierror.NoHealthyUpstream) // 503 Service Unavailable
	default:
		ex.Fail(apierror.BadRequest)
	}
	ctx.SetConnectionClose()
}

var (
	hdrUpgrade     = []byte("Upgrade")
	websocketToken = []byte("websocket")
	connectionsSeg = []byte("/@connections/")
)

// serveWebSocket hands WebSocket upgrades of a WebSocket API's stage URL,
// and @connections calls under it, to the API's bridge. Anything else is
// left to the HTTP and REST APIs.
func (g *Gateway) serveWebSocket(ctx *fasthttp.RequestCtx, s *Snapshot, scan headerScan) bool {
	sel := s.wsTable.Match(ctx.Request.Header.Host(), ctx.Request.URI().PathOriginal())
	if sel.API < 0 || sel.Stage == router.NoStage {
		return false
	}
	w := s.ws[sel.API]
	if w.bridge == nil {
		return false
	}
	stage := config.DefaultStage
	if sel.Stage >= 0 {
		stage = w.stages[sel.Stage]
	}
	if len(sel.Rest) == 1 && ascii.EqualFold(ctx.Request.Header.PeekBytes(hdrUpgrade), websocketToken) {
		if scan.malformed() {
			apierror.Write(&ctx.Response, apierror.HTTP, apierror.BadRequest)
			return true
		}
		var gate wsbridge.Gate
		if w.gate != nil {
			gate = w
		}
		w.bridge.ServeUpgrade(ctx, stage, gate)
		return true
	}
	if id, ok := bytes.CutPrefix(sel.Rest, connectionsSeg); ok && len(id) > 0 && bytes.IndexByte(id, '/') < 0 {
		if scan.malformed() {
			apierror.Write(&ctx.Response, apierror.HTTP, apierror.BadRequest)
			return true
		}
		conn, err := url.PathUnescape(string(id))
		if err != nil {
			conn = string(id)
		}
		w.bridge.ServeManagement(ctx, stage, conn)
		return true
	}
	return false
}

// counterMethod maps a request's method, as the router parsed it, to the
// request counters' (a request's method is never ANY).
var counterMethod = [...]metrics.Method{
	router.GET: metrics.MethodGET, router.POST: metrics.MethodPOST, router.PUT: metrics.MethodPUT,
	router.PATCH: metrics.MethodPATCH, router.DELETE: metrics.MethodDELETE, router.HEAD: metrics.MethodHEAD,
	router.OPTIONS: metrics.MethodOPTIONS, router.ANY: metrics.MethodOther, router.Other: metrics.MethodOther,
}

// account counts the request and writes its access-log line.
func (g *Gateway) account(ex *exchange.Exchange) {
	ctx := ex.Ctx
	total := time.Since(ex.Start)
	status := ctx.Response.StatusCode()
	integration := time.Duration(-1)
	if ex.IntegrationLatency > 0 {
		integration = ex.IntegrationLatency
	}
	if g.metrics != nil {
		g.metrics.InFlight().Dec()
		ex.Counter.Observe(counterMethod[ex.Method], status, total, integration)
		if err := ex.IntegrationError; err != nil && ex.APIMetrics != nil {
			ex.APIMetrics.UpstreamError(upstreamErrorKind(err))
		}
	}
	l := g.access.Load()
	if l == nil {
		return
	}
	r := &ex.Record
	r.Reset()
	r.RequestID = ex.RequestID
	r.SourceIP = ex.SourceIP()
	r.RequestTime = ex.Start
	r.HTTPMethod = ctx.Method()
	r.Path = ctx.Request.URI().PathOriginal()
	r.Status = status
	r.Protocol = ctx.Request.Header.Protocol()
	if ctx.Response.IsBodyStream() {
		r.ResponseLength = int64(ctx.Response.Header.ContentLength()) // -1 when sent chunked
	} else {
		r.ResponseLength = int64(len(ctx.Response.Body()))
	}
	r.IntegrationLatency = integration
	r.ResponseLatency = total
	r.UserAgent = ctx.UserAgent()
	r.APIKey = ex.APIKey
	r.TraceID = ex.Trace.TraceID()
	if rt := ex.RouteInfo; rt != nil {
		r.RouteKey, r.APIID, r.Stage = rt.RouteKeyBytes, rt.APIIDBytes, rt.StageBytes
	}
	if ex.ErrorMessage != "" {
		// The record is read, never written, and copied before Log
		// returns, so it may alias the message's bytes.
		r.ErrorMessage = unsafe.Slice(unsafe.StringData(ex.ErrorMessage), len(ex.ErrorMessage))
	}
	r.ValidationErrorString = ex.ValidationError
	if ex.IntegrationError != nil || ex.AuthorizerError != nil {
		// Only failed requests get here; an error's text is built on
		// demand. Scratch is free once the integration has returned.
		buf := ex.Scratch[:0]
		if err := ex.IntegrationError; err != nil {
			buf = append(buf, err.Error()...)
			r.IntegrationErrorMessage = buf
		}
		if err := ex.AuthorizerError; err != nil {
			at := len(buf)
			buf = append(buf, err.Error()...)
			r.AuthorizerError = buf[at:]
		}
		ex.Scratch = buf
	}
	l.Log(r)
}

func upstreamErrorKind(err error) metrics.ErrorKind {
	var de *upstream.DialError
	switch {
	case errors.Is(err, upstream.ErrTimeout), errors.Is(err, lambda.ErrTimeout):
		return metrics.ErrorTimeout
	case errors.As(err, &de), errors.Is(err, upstream.ErrAllDown):
		return metrics.ErrorConnect
	}
	return metrics.ErrorOther
}

// Admit runs the $connect checks of the WebSocket API for an upgrade
// request to stage (wsbridge.Gate). It returns the authorizer context for
// the connection's events, or false when a check refused the connection;
// the refusal (401, 403, 429, 500) is then written into ctx.Response.
func (w *wsAPI) Admit(ctx *fasthttp.RequestCtx, stage string) ([]byte, bool) {
	// The gate's exchange is not counted or logged as a request: the
	// upgrade it belongs to is the WebSocket bridge's.
	ex, _ := w.exchanges.Get().(*exchange.Exchange)
	if ex == nil {
		ex = &exchange.Exchange{}
	}
	defer func() {
		ex.Reset()
		w.exchanges.Put(ex)
	}()
	ex.Ctx = ctx
	ex.Start = ctx.Time()
	ex.RouteInfo = w.infos[stage]
	ex.TrustedProxies = w.trusted
	begin(ex, apierror.HTTP)
	w.gate.Serve(ex)
	if !ex.GatePassed {
		return nil, false
	}
	return bytes.Clone(ex.Authorizer), true
}
