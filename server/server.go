// Package server runs the data-plane listener: it binds the configured
// address, serves requests through the gateway with fasthttp, and drains
// in-flight requests on shutdown. It owns the gateway's long-lived
// registries, starting functions and WebSocket bridges for them, and
// reloads by preparing one pending generation of them, then committing it
// or, when the reload is refused, aborting it.
package server

import (
	"context"
	"fmt"
	"github.com/frontdeskgw/frontdesk/exchange"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/admin"
	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/pipeline"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/wsbridge"
	"github.com/valyala/fasthttp"
)

// Server is one running frontdesk: the data plane, and the admin listener
// when admin.listen is set.
type Server struct {
	cfg       atomic.Pointer[config.Config]
	log       *slog.Logger
	reg       *gateway.Registries
	fns       *functions
	certs     *certificates
	metrics   *metrics.Registry
	accessCfg config.AccessLog
	bridges   *bridges
	cache     *cache.Store
	gw        *gateway.Gateway
	http      *fasthttp.Server
	ln        net.Listener

	admin   *admin.Server
	adminLn net.Listener
	ready   atomic.Bool

	reloadMu sync.Mutex
	reloads  atomic.Int64
}

// Options are start-up choices that are not part of the config file.
type Options struct {
	// WatchFunctions restarts local function instances when their
	// executable changes (developer hot reload).
	WatchFunctions bool
}

// New compiles cfg, starts its functions and prepares the listener
// settings; it does not bind.
func New(cfg *config.Config, log *slog.Logger, opts ...Options) (*Server, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	reg, err := metrics.New(metrics.Options{})
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, fns: newFunctions(log, o.WatchFunctions), metrics: reg}
	s.bridges = newBridges(log, s.fns, s.clientIP, s.wsAuthorize)
	s.reg = &gateway.Registries{Pools: &proxy.Pools{}, State: &pipeline.State{}, Authorizers: &gateway.Authorizers{Log: log},
		Functions: s.fns.set, Bridges: s.bridges.set}
	if cfg.Server.TLS != nil {
		s.certs = &certificates{}
		if err := s.certs.load(cfg.Server.TLS); err != nil {
			return nil, err
		}
	}
	access, err := s.openAccessLog(cfg.AccessLog)
	if err != nil {
		return nil, err
	}
	n, err := s.prepare(cfg)
	if err != nil {
		access.Close() //nolint:errcheck // nothing was logged
		return nil, err
	}
	s.commit(n)
	s.gw.SetMetrics(reg)
	s.gw.SetAccessLog(access)
	s.watchSources()
	sc := cfg.Server
	s.http = &fasthttp.Server{
		Handler:               s.gw.Handle,
		ErrorHandler:          s.gw.HandleError,
		Name:                  "frontdesk",
		NoDefaultServerHeader: true,
		ReadTimeout:           sc.ReadTimeout.D(),
		WriteTimeout:          sc.WriteTimeout.D(),
		IdleTimeout:           sc.IdleTimeout.D(),
		// The read buffer holds the request line and headers, so its
		// size is the header limit (AWS: 10,240 bytes).
		ReadBufferSize:     sc.MaxHeaderBytes,
		MaxRequestBodySize: int(sc.MaxBodyBytes),
		Concurrency:        sc.MaxConns, // 0: fasthttp's default, 262144
		CloseOnShutdown:    true,
		Logger:             slogPrinter{log},
		ConnState: func(_ net.Conn, st fasthttp.ConnState) {
			switch st {
			case fasthttp.StateNew:
				reg.OpenConnections().Inc()
			case fasthttp.StateClosed, fasthttp.StateHijacked:
				reg.OpenConnections().Dec()
			}
		},
	}
	if cfg.Admin.Listen != "" {
		s.admin = admin.New(cfg.Admin.Token, s, log.With("listener", "admin"))
		s.admin.Handle("GET", "/usage", s.usage)
		s.admin.Handle("GET", "/usage/{name}", s.usage)
		s.admin.Handle("GET", "/cache/stats", s.cacheStats)
		s.admin.Handle("DELETE", "/cache", s.cacheFlush)
		s.admin.Handle("DELETE", "/cache/{api}/{stage}", s.cacheFlush)
		s.admin.Handle("DELETE", "/cache/{api}/{stage}/{route:*}", s.cacheFlush)
		s.admin.Handle("GET", "/connections", s.connections)
		for _, m := range []string{"GET", "POST", "DELETE"} {
			s.admin.Handle(m, "/connections/{id}", s.connection)
		}
	}
	return s, nil
}

// Ready reports that the listeners are bound and serving.
func (s *Server) Ready() bool { return s.ready.Load() }

// Routes is the compiled route table of the config in use.
func (s *Server) Routes() any { return s.gw.Snapshot().Routes() }

// clientIP is the WebSocket bridges' view of a client's address, with the
// trusted proxies of the config in use.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) string {
	return string(exchange.AppendClientIP(nil, ctx, s.gw.Snapshot().TrustedProxies()))
}

// Bridge is the WebSocket bridge of a WebSocket API, or nil.
func (s *Server) Bridge(api string) *wsbridge.Bridge { return s.bridges.all()[api] }

// connections answers GET /connections: every WebSocket connection, by API.
func (s *Server) connections(ctx *fasthttp.RequestCtx) {
	out := map[string]any{}
	total := 0
	for name, b := range s.bridges.all() {
		list := b.ListConnections()
		total += len(list)
		out[name] = map[string]any{"count": len(list), "connections": list, "stats": b.Stats()}
	}
	admin.WriteJSON(ctx, 200, map[string]any{"count": total, "apis": out})
}

// connection serves GET/POST/DELETE /connections/{id} on the admin
// listener: the @connections operations without SigV4.
func (s *Server) connection(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("id").(string)
	for _, b := range s.bridges.all() {
		for _, c := range b.ListConnections() {
			if c.ID == id {
				b.ServeAdminManagement(ctx, id)
				return
			}
		}
	}
	admin.WriteJSON(ctx, 410, map[string]string{"message": "Gone"})
}

// deps are what a snapshot of cfg is compiled with: p resolves its
// long-lived resources.
func (s *Server) deps(cfg *config.Config, p *gateway.Pending) gateway.Deps {
	return gateway.Deps{Pending: p, Cache: s.cache, Metrics: s.metrics,
		XCache: cfg.Cache.XCacheHeader == nil || *cfg.Cache.XCacheHeader}
}

// ensureCache creates the shared response cache the first time a config
// caches a route. Its size is fixed for the life of the process.
func (s *Server) ensureCache(cfg *config.Config) error {
	if s.cache != nil || !gateway.NeedsCache(cfg) {
		return nil
	}
	size := int64(cfg.Cache.MaxSize)
	if size == 0 {
		size = config.DefaultCacheMaxSize
	}
	// The store keeps expired entries up to an hour for the routes that
	// serve stale while revalidating; each route applies its own window.
	store, err := cache.New(cache.Config{MaxSize: size, MaxItemSize: int(cfg.Cache.MaxItemSize), MaxWait: cfg.Cache.MaxWait.D(),
		StaleGrace: cache.MaxTTL})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	s.cache = store
	return nil
}

func (s *Server) cacheStats(ctx *fasthttp.RequestCtx) {
	if s.cache == nil {
		admin.WriteJSON(ctx, 200, map[string]any{"enabled": false})
		return
	}
	admin.WriteJSON(ctx, 200, s.cache.Stats())
}

// cacheFlush answers DELETE /cache[/{api}/{stage}[/{route}]].
func (s *Server) cacheFlush(ctx *fasthttp.RequestCtx) {
	if s.cache == nil {
		admin.WriteJSON(ctx, 200, map[string]string{"status": "no cache"})
		return
	}
	api, _ := ctx.UserValue("api").(string)
	stage, _ := ctx.UserValue("stage").(string)
	route, _ := ctx.UserValue("route").(string)
	var found bool
	switch {
	case api == "":
		found = s.cache.Flush() == nil
	case route == "":
		found = s.cache.FlushNamespace(api, stage)
	default:
		if r, err := url.PathUnescape(route); err == nil {
			route = r
		}
		found = s.cache.FlushRoute(api, stage, route)
	}
	if !found {
		admin.WriteJSON(ctx, 404, map[string]string{"message": "nothing cached there"})
		return
	}
	admin.WriteJSON(ctx, 200, map[string]string{"status": "flushed"})
}

// usage answers GET /usage and /usage/{name}: per API key, requests
// admitted and throttled, and quota used in the current period.
func (s *Server) usage(ctx *fasthttp.RequestCtx) {
	keys := s.gw.Snapshot().Keys()
	var list []pipeline.KeyUsage
	if keys != nil {
		list = keys.Usage(time.Now())
	}
	name, _ := ctx.UserValue("name").(string)
	if name == "" {
		admin.WriteJSON(ctx, 200, map[string]any{"keys": list, "throttled": s.reg.State.Throttled()})
		return
	}
	for _, u := range list {
		if u.Name == name {
			admin.WriteJSON(ctx, 200, u)
			return
		}
	}
	admin.WriteJSON(ctx, 404, map[string]string{"message": "no API key named " + name})
}

// WriteMetrics writes the Prometheus metrics.
func (s *Server) WriteMetrics(w io.Writer) { s.metrics.WritePrometheus(w) }

// watchSources has the registry read the cache, the access log and the
// WebSocket bridges at scrape time.
func (s *Server) watchSources() {
	s.metrics.SetCacheSource(func() metrics.CacheStats {
		if s.cache == nil {
			return metrics.CacheStats{}
		}
		st := s.cache.Stats()
		return metrics.CacheStats{Hits: st.Hits, Misses: st.Misses, Evictions: st.Evictions, Bytes: st.Bytes, Entries: int64(st.Entries)}
	})
	s.metrics.SetAccessLogSource(func() metrics.AccessLogStats {
		st := s.gw.AccessLog().Stats()
		return metrics.AccessLogStats{Lines: st.Lines, Dropped: st.Dropped, WriteErrors: st.WriteErrors}
	})
}

// openAccessLog opens the access log of cfg (nil when it is off) and
// records cfg as the section in use.
func (s *Server) openAccessLog(cfg config.AccessLog) (*accesslog.Logger, error) {
	format, err := accesslog.ParseFormat(cfg.Format)
	if err != nil {
		return nil, fmt.Errorf("access_log: %w", err)
	}
	l, err := accesslog.New(accesslog.Options{Output: cfg.Output, Format: format, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("access_log: %w", err)
	}
	s.accessCfg = cfg
	return l, nil
}

// Listen binds the configured addresses (data plane, then admin).
func (s *Server) Listen() error {
	cfg := s.cfg.Load()
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Server.Listen, err)
	}
	s.ln = ln
	if s.admin != nil {
		aln, err := net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen admin %s: %w", cfg.Admin.Listen, err)
		}
		s.adminLn = aln
	}
	return nil
}

// UseAdminListener serves the admin API on an already bound listener.
func (s *Server) UseAdminListener(ln net.Listener) { s.adminLn = ln }

// UseListener serves on an already bound listener (tests bind :0).
func (s *Server) UseListener(ln net.Listener) { s.ln = ln }

// Serve blocks serving requests until Shutdown.
func (s *Server) Serve() error {
	if s.admin != nil && s.adminLn != nil {
		s.log.Info("admin listening", "listen", s.adminLn.Addr().String())
		go func() {
			if err := s.admin.Serve(s.adminLn); err != nil {
				s.log.Error("admin listener", "err", err)
			}
		}()
	}
	s.log.Info("serving", "listen", s.ln.Addr().String(), "tls", s.certs != nil)
	s.ready.Store(true)
	return s.http.Serve(s.tlsListener(s.ln))
}

// Shutdown stops accepting, lets in-flight requests finish until ctx ends,
// then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	start := time.Now()
	s.ready.Store(false)
	if s.admin != nil {
		defer s.admin.Shutdown() //nolint:errcheck // best effort after the data plane drained
	}
	// WebSocket clients are told first (1001), so their $disconnect
	// calls run while the backends are still reachable.
	s.bridges.close()
	err := s.http.ShutdownWithContext(ctx)
	s.fns.close()
	s.gw.AccessLog().Close() //nolint:errcheck // flushes what is queued
	s.log.Info("stopped", "drain", time.Since(start).Round(time.Millisecond).String())
	return err
}

// slogPrinter routes fasthttp's own log lines to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.log.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}
