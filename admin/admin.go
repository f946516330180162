// Package admin serves the management listener: health and readiness,
// Prometheus metrics, config reload, the effective config and the route
// table, the feature endpoints (usage, cache, connections) of a Backend
// that also implements Sources, and the web console (/console/, package
// console) with the JSON it reads (/stats/routes, /reload/last).
// It is off the data path: nothing here runs per proxied request.
//
// Access: with admin.token set, every request needs
// "Authorization: Bearer <token>" (or, for a browser opening the console,
// Basic credentials with the token as the password), and state-changing methods refuse
// cross-site browser requests. Without a token only loopback clients are
// served, and only when they name the listener by a loopback host name and
// do not come from another site's page: the loopback peer check alone would
// let a browser on this machine carry DNS-rebinding reads and cross-site
// POSTs to it. The rules are in docs/config.md (admin).
package admin

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"time"

	fhrouter "github.com/fasthttp/router"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/valyala/fasthttp"
)

// Limits bound the admin listener (admin.* in docs/config.md), so that a
// slow or idle client cannot hold it (slowloris) or its memory. Zero
// fields take the defaults below.
type Limits struct {
	// ReadTimeout bounds reading one request, head and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response (a /metrics scrape of a
	// large config included).
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection idle for longer.
	IdleTimeout time.Duration
	// MaxConns bounds the connections served at once; more are refused.
	MaxConns int
}

// DefaultLimits are the limits of a listener built by New.
var DefaultLimits = Limits{ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxConns: 256}

// SetLimits applies l (zero fields: DefaultLimits') before Serve.
func (s *Server) SetLimits(l Limits) {
	d := DefaultLimits
	s.http.ReadTimeout = cmp.Or(l.ReadTimeout, d.ReadTimeout)
	s.http.WriteTimeout = cmp.Or(l.WriteTimeout, d.WriteTimeout)
	s.http.IdleTimeout = cmp.Or(l.IdleTimeout, d.IdleTimeout)
	s.http.Concurrency = cmp.Or(l.MaxConns, d.MaxConns)
}

// Backend is what the admin endpoints act on.
type Backend interface {
	// Reload reads and applies the config file again; a config.Errors
	// result means the file was refused and the old config keeps serving.
	Reload() error
	// Ready reports that a config is loaded and the listeners are bound.
	Ready() bool
	// EffectiveConfig is the config in use, secrets masked, as YAML.
	EffectiveConfig() ([]byte, error)
	// Routes is the compiled route table.
	Routes() any
	// WriteMetrics writes Prometheus text.
	WriteMetrics(w io.Writer)
}

// Server is the admin HTTP server.
type Server struct {
	mounts []mount
	token  []byte
	// secret is the token alone, for Basic credentials.
	secret []byte
	b      Backend
	log    *slog.Logger
	router *fhrouter.Router
	http   *fasthttp.Server
}

// New builds the admin server; feature endpoints are added with Handle.
func New(token string, b Backend, log *slog.Logger) *Server {
	s := &Server{b: b, log: log, router: fhrouter.New()}
	if token != "" {
		s.token = []byte("Bearer " + token)
		s.secret = []byte(token)
	}
	r := s.router
	r.GET("/healthz", func(ctx *fasthttp.RequestCtx) { writeJSON(ctx, 200, map[string]string{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics)
	r.POST("/reload", s.reload)
	r.GET("/config", s.config)
	r.GET("/routes", func(ctx *fasthttp.RequestCtx) { writeJSON(ctx, 200, b.Routes()) })
	r.NotFound = func(ctx *fasthttp.RequestCtx) { writeJSON(ctx, 404, map[string]string{"message": "Not Found"}) }
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeJSON(ctx, 405, map[string]string{"message": "Method Not Allowed"})
	}
	if src, ok := b.(Sources); ok {
		s.addFeatures(src)
	}
	s.addConsole()
	if cl, ok := b.(ClusterSource); ok {
		r.GET("/cluster", func(ctx *fasthttp.RequestCtx) { clusterStatus(ctx, cl) })
	}
	s.http = &fasthttp.Server{
		Handler:               s.guard,
		ErrorHandler:          requestError,
		Logger:                slogPrinter{log},
		Name:                  "frontdesk-admin",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    1 << 20,
		CloseOnShutdown:       true,
	}
	s.SetLimits(DefaultLimits)
	return s
}

// mount is a handler that authenticates its own callers (the control
// plane, which AWS clients call with SigV4 signatures, never the bearer
// token).
type mount struct {
	prefix       string
	h            fasthttp.RequestHandler
	loopbackOnly bool
}

// Mount serves every path under prefix with h, which checks its callers
// itself: the bearer token is not asked for. With loopbackOnly the
// listener's rules for a token-less listener (loopback peer and host
// name, no cross-site request) still apply first.
func (s *Server) Mount(prefix string, h fasthttp.RequestHandler, loopbackOnly bool) {
	s.mounts = append(s.mounts, mount{prefix: prefix, h: h, loopbackOnly: loopbackOnly})
}

// Handle adds an endpoint; path uses fasthttp/router syntax ({name}).
func (s *Server) Handle(method, path string, h fasthttp.RequestHandler) {
	s.router.Handle(method, path, h)
}

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops the admin server.
func (s *Server) Shutdown() error { return s.http.Shutdown() }

// Handler is the guarded handler, for tests.
func (s *Server) Handler() fasthttp.RequestHandler { return s.guard }

func (s *Server) guard(ctx *fasthttp.RequestCtx) {
	for _, m := range s.mounts {
		if bytes.HasPrefix(ctx.Path(), []byte(m.prefix)) {
			if !m.loopbackOnly || s.loopbackOnly(ctx) {
				m.h(ctx)
			}
			return
		}
	}
	if s.token != nil {
		got := ctx.Request.Header.Peek("Authorization")
		if !constantTimeEqual(got, s.token) && !basicToken(got, s.secret) {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="frontdesk-admin"`)
			// The console is opened by a browser, which can answer only a
			// Basic challenge (with the token as the password).
			if bytes.HasPrefix(ctx.Path(), []byte("/console")) {
				ctx.Response.Header.Add("WWW-Authenticate", `Basic realm="frontdesk-admin", charset="UTF-8"`)
			}
			writeJSON(ctx, 401, map[string]string{"message": "Unauthorized"})
			return
		}
		// A browser cannot attach the token to a cross-site request without
		// a preflight this listener never grants, so this only matters if
		// the token leaks into a page; it costs nothing to refuse.
		if !safeMethod(ctx.Method()) && crossSite(&ctx.Request.Header) {
			s.refuseCrossSite(ctx)
			return
		}
	} else if !s.loopbackOnly(ctx) {
		return
	}
	s.router.Handler(ctx)
}

// loopbackOnly applies the rules of a listener without a token, answering
// a refused request; it reports whether the request may go on.
func (s *Server) loopbackOnly(ctx *fasthttp.RequestCtx) bool {
	if !ctx.RemoteIP().IsLoopback() {
		writeJSON(ctx, 403, map[string]string{"message": "Forbidden: set admin.token to allow non-loopback clients"})
		return false
	}
	// The URI's host differs from the Host header only for an
	// absolute-form request target; both must be loopback names.
	if !loopbackHost(ctx.Request.Header.Host()) || !loopbackHost(ctx.URI().Host()) {
		s.log.Debug("admin request refused: not a loopback host name", "host", string(ctx.Request.Header.Host()))
		writeJSON(ctx, 421, map[string]string{"message": "Misdirected Request: without admin.token the admin listener answers only to localhost, 127.0.0.0/8 and [::1]"})
		return false
	}
	if crossSite(&ctx.Request.Header) {
		s.refuseCrossSite(ctx)
		return false
	}
	return true
}

func (s *Server) refuseCrossSite(ctx *fasthttp.RequestCtx) {
	s.log.Debug("admin request refused: cross-site", "method", string(ctx.Method()),
		"origin", string(ctx.Request.Header.Peek("Origin")),
		"sec_fetch_site", string(ctx.Request.Header.Peek("Sec-Fetch-Site")))
	writeJSON(ctx, 403, map[string]string{"message": "Forbidden: cross-site request"})
}

func constantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// safeMethod reports the methods that change nothing here (RFC 9110 9.2.1).
func safeMethod(m []byte) bool {
	switch string(m) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions, fasthttp.MethodTrace:
		return true
	}
	return false
}

// crossSite reports a request a browser sent for another site's page:
// Sec-Fetch-Site says so, or the Origin is neither a loopback name nor the
// listener's own Host. An opaque origin ("null": sandboxed frames, some
// redirects) is cross-site. Clients other than browsers send neither
// header and are not affected.
func crossSite(h *fasthttp.RequestHeader) bool {
	if ascii.EqualFold(h.Peek("Sec-Fetch-Site"), "cross-site") {
		return true
	}
	origin := h.Peek("Origin")
	if len(origin) == 0 {
		return false
	}
	// An origin is scheme "://" host [":" port] and nothing more.
	_, host, ok := bytes.Cut(origin, []byte("://"))
	if !ok || len(host) == 0 || bytes.IndexByte(host, '/') >= 0 {
		return true
	}
	return !loopbackHost(host) && !ascii.EqualFold(host, h.Host())
}

// loopbackHost reports whether host, as a Host header or an origin writes
// it (port optional), names the loopback interface: localhost, an IPv4
// address in 127.0.0.0/8 or the IPv6 address ::1 in brackets. These are
// the only names a DNS answer cannot move elsewhere; the address forms
// are taken only as literals, so "127.0.0.1.evil.example" is not one.
func loopbackHost(host []byte) bool {
	name, port := host, []byte(nil)
	bracketed := len(host) > 0 && host[0] == '['
	if bracketed {
		end := bytes.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		name, port = host[1:end], host[end+1:]
	} else if i := bytes.IndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i:]
	}
	if len(port) > 0 && !validPort(port) {
		return false
	}
	if !bracketed && ascii.EqualFold(name, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(string(name))
	if err != nil || addr.Zone() != "" || addr.Is6() != bracketed {
		return false
	}
	return addr.IsLoopback()
}

// validPort reports whether p is ":" followed by at most five digits (an
// empty port is allowed by RFC 3986).
func validPort(p []byte) bool {
	if p[0] != ':' || len(p) > 6 {
		return false
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// requestError answers a request fasthttp could not read, in JSON like
// every other admin answer.
func requestError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.As(err, &small):
		writeJSON(ctx, 431, map[string]string{"message": "Request Header Fields Too Large"})
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeJSON(ctx, 413, map[string]string{"message": "Request Entity Too Large"})
	default:
		writeJSON(ctx, 400, map[string]string{"message": "Bad Request"})
	}
}

// slogPrinter routes fasthttp's own log lines (unreadable requests, accept
// errors) to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	body := map[string]string{"status": "ready"}
	code := 200
	if !s.b.Ready() {
		body["status"], code = "not ready", 503
	}
	// A cluster whose Redis is down still answers every request (per
	// on_redis_down), so the state is reported without failing readiness:
	// taking every instance out of a load balancer would not help.
	if cl, ok := s.b.(ClusterSource); ok {
		if st := cl.ClusterState(); st != "" {
			body["cluster"] = st
		}
	}
	writeJSON(ctx, code, body)
}

// ClusterSource is implemented by a Backend that runs in cluster mode.
type ClusterSource interface {
	// ClusterStatus lists the live instances; nil without cluster mode.
	ClusterStatus(ctx context.Context) (any, error)
	// ClusterState is a one-line note for /readyz; "" without cluster
	// mode.
	ClusterState() string
}

// clusterStatus answers GET /cluster: the live instances with their
// config hash, so a rolling deploy's stragglers show.
func clusterStatus(ctx *fasthttp.RequestCtx, cl ClusterSource) {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := cl.ClusterStatus(c)
	switch {
	case err != nil:
		writeJSON(ctx, 503, map[string]string{"message": err.Error()})
	case st == nil:
		writeJSON(ctx, 404, map[string]string{"message": "cluster mode is off"})
	default:
		writeJSON(ctx, 200, st)
	}
}

func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	s.b.WriteMetrics(ctx)
}

func (s *Server) reload(ctx *fasthttp.RequestCtx) {
	err := s.b.Reload()
	if err == nil {
		writeJSON(ctx, 200, map[string]string{"status": "reloaded"})
		return
	}
	writeJSON(ctx, 400, map[string]any{"message": "config refused; the previous config keeps serving", "errors": Problems(err)})
}

func (s *Server) config(ctx *fasthttp.RequestCtx) {
	b, err := s.b.EffectiveConfig()
	if err != nil {
		writeJSON(ctx, 500, map[string]string{"message": err.Error()})
		return
	}
	ctx.SetContentType("application/yaml")
	ctx.SetBody(b)
}

// WriteJSON answers with v as JSON; feature endpoints use it too.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) { writeJSON(ctx, status, v) }

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	enc := json.NewEncoder(ctx)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		ctx.ResetBody()
		fmt.Fprintf(ctx, `{"message":%q}`, err.Error())
	}
}
