// Package admin serves the management listener: health and readiness,
// Prometheus metrics, config reload, the effective config and the route
// table, and the feature endpoints (usage, cache, connections) of a Backend
// that also implements Sources.
// It is off the data path: nothing here runs per proxied request.
//
// Access: with admin.token set, every request needs
// "Authorization: Bearer <token>"; without one, only loopback clients are
// served.
package admin

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"

	fhrouter "github.com/fasthttp/router"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/valyala/fasthttp"
)

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
	token  []byte
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
	s.http = &fasthttp.Server{
		Handler:               s.guard,
		Name:                  "frontdesk-admin",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    1 << 20,
		CloseOnShutdown:       true,
	}
	return s
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
	if s.token != nil {
		got := ctx.Request.Header.Peek("Authorization")
		if subtle.ConstantTimeCompare(got, s.token) != 1 {
			ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="frontdesk-admin"`)
			writeJSON(ctx, 401, map[string]string{"message": "Unauthorized"})
			return
		}
	} else if !ctx.RemoteIP().IsLoopback() {
		writeJSON(ctx, 403, map[string]string{"message": "Forbidden: set admin.token to allow non-loopback clients"})
		return
	}
	s.router.Handler(ctx)
}

func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if !s.b.Ready() {
		writeJSON(ctx, 503, map[string]string{"status": "not ready"})
		return
	}
	writeJSON(ctx, 200, map[string]string{"status": "ready"})
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
	problems := []string{err.Error()}
	var list config.Errors
	if errors.As(err, &list) {
		problems = make([]string, len(list))
		for i, p := range list {
			problems[i] = p.String()
		}
	}
	writeJSON(ctx, 400, map[string]any{"message": "config refused; the previous config keeps serving", "errors": problems})
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
