// Package server runs the data-plane listener: it binds the configured
// address, serves requests through the gateway with fasthttp, and drains
// in-flight requests on shutdown. It owns the gateway's long-lived
// registries, which start functions and WebSocket bridges as the gateway
// builds them (gateway.OpenFunction, gateway.OpenBridge), and reloads by
// preparing one pending generation of them, then committing it or, when
// the reload is refused, aborting it.
package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/frontdeskgw/frontdesk/exchange"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdeskgw/frontdesk/accesslog"
	"github.com/frontdeskgw/frontdesk/admin"
	"github.com/frontdeskgw/frontdesk/cache"
	"github.com/frontdeskgw/frontdesk/cluster"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/controlplane"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/metrics"
	"github.com/frontdeskgw/frontdesk/pipeline"
	"github.com/frontdeskgw/frontdesk/proxy"
	"github.com/frontdeskgw/frontdesk/tracing"
	"github.com/frontdeskgw/frontdesk/upstream"
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
	bodies    *bodies
	oversized oversized
	load      func(path string, extend func(*config.Config)) (*config.Config, []config.Problem, error)
	http      *fasthttp.Server
	ln        net.Listener
	local     *localEnv    // CA and credentials given to local functions
	localLn   net.Listener // server.local_tls; nil without it

	cluster *cluster.Cluster // nil without cluster mode
	// clusterCache is the cache as the cluster's subscriber reads it.
	clusterCache atomic.Pointer[cache.Store]

	admin   *admin.Server
	adminLn net.Listener
	cp      *controlplane.Service
	// stopFollow ends following the control plane's state in the
	// cluster (nil without cluster.redis).
	stopFollow context.CancelFunc
	ready      atomic.Bool

	reloadMu   sync.Mutex
	reloads    atomic.Int64
	lastReload atomic.Pointer[admin.ReloadResult]

	// tracer is nil while tracing is off; changed on reload only.
	tracer     *tracing.Tracer
	tracingCfg config.Tracing
}

// Options are start-up choices that are not part of the config file.
type Options struct {
	// WatchFunctions restarts local function instances when their
	// executable changes (developer hot reload).
	WatchFunctions bool
	// Load reads the config file again on reload and on control-plane
	// changes, with extend (nil: none) run on it before the checks as
	// config.LoadWith runs it (the default); the command passes one that
	// also reads OpenAPI and SAM files.
	Load func(path string, extend func(*config.Config)) (*config.Config, []config.Problem, error)
	// CacheDir receives the bundled runtime loops and Go functions built
	// from source (empty: the user's cache directory).
	CacheDir string
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
	up := cfg.Upstream
	pools := &proxy.Pools{Options: upstream.Options{MaxConns: up.MaxConnsPerOrigin, IdleTimeout: up.IdleTimeout.D(),
		BufferResponses: int(up.BufferResponses), Budget: upstream.NewBudget(int64(up.MaxBufferedBytes)), Log: log}}
	home, _ := os.UserHomeDir()
	local, err := newLocalEnv(cfg, os.LookupEnv, home, log)
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, metrics: reg, local: local, load: o.Load,
		fns: newFunctions(gateway.FunctionEnv{Watch: o.WatchFunctions, Log: log, Metrics: reg, CacheDir: o.CacheDir, Env: local.env})}
	var domainName func(*fasthttp.RequestCtx) []byte
	if local.ca != nil {
		domainName = s.webSocketDomainName
	}
	if s.load == nil {
		s.load = config.LoadWith
	}
	s.bridges = newBridges(log, s.fns, s.clientIP, local.accepted, domainName, s.clusterConnections)
	state := &pipeline.State{}
	if s.cluster, err = s.openCluster(cfg); err != nil {
		return nil, err
	}
	if s.cluster != nil {
		state.Shared = s.cluster
		s.cluster.SetConnectionHandler(s.serveForwarded)
	}
	// What the control plane created is served whether or not the admin
	// listener, where it is changed, is on; in cluster mode it is kept in
	// the cluster.
	if cfg, err = s.openControlPlane(cfg); err != nil {
		return nil, err
	}
	s.reg = &gateway.Registries{Pools: pools, State: state, Authorizers: &gateway.Authorizers{Log: log},
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
		if s.cluster != nil {
			s.cluster.Close()
		}
		return nil, err
	}
	s.commit(n)
	s.lastReload.Store(&admin.ReloadResult{At: time.Now(), OK: true})
	if s.cluster != nil {
		// After the commit, so the first heartbeat names the config.
		s.cluster.Start()
	}
	s.gw.SetOptions(gatewayOptions(cfg))
	s.gw.SetMetrics(reg)
	s.gw.SetAccessLog(access)
	if err := s.applyTracing(cfg.Tracing); err != nil {
		access.Close() //nolint:errcheck // nothing was logged
		return nil, err
	}
	s.watchSources()
	sc := cfg.Server
	s.bodies = &bodies{max: int(sc.MaxBodyBytes), budget: int64(sc.MaxInflightBodyBytes), readBuf: sc.MaxHeaderBytes}
	s.http = &fasthttp.Server{
		Handler:      s.handle,
		ErrorHandler: s.refuse,
		// fasthttp writes Name on every answer, its own error answers
		// included, whatever NoDefaultServerHeader says: empty (the
		// default) sends none, as API Gateway does.
		Name:                  sc.ServerHeader,
		NoDefaultServerHeader: true,
		// read_timeout and idle_timeout are kept by the listener
		// (requestTimeouts in readdeadline.go), not by fasthttp.
		WriteTimeout: sc.WriteTimeout.D(),
		// The read buffer holds the request line and headers, so its
		// size is the header limit (AWS: 10,240 bytes).
		ReadBufferSize:     sc.MaxHeaderBytes,
		MaxRequestBodySize: int(sc.MaxBodyBytes),
		// Bodies are read by handle as they arrive (body.go): fasthttp
		// would reserve the declared length up front. Multipart bodies
		// pass through as bytes, not parsed into a form.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ExpectHandler:                s.expect,
		HeaderReceived:               s.headerReceived,
		Concurrency:                  sc.MaxConns, // 0: fasthttp's default, 262144
		CloseOnShutdown:              true,
		Logger:                       newSlogPrinter(log),
		// Errors fasthttp builds must not quote the request: they are
		// logged, and requests carry credentials.
		SecureErrorLogMessage: true,
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
		ac := cfg.Admin
		s.admin.SetLimits(admin.Limits{ReadTimeout: ac.ReadTimeout.D(), WriteTimeout: ac.WriteTimeout.D(), IdleTimeout: ac.IdleTimeout.D(), MaxConns: ac.MaxConns})
		for _, p := range controlplane.Prefixes {
			s.admin.Mount(p, s.cp.Handler, !s.cp.Signed())
		}
	}
	return s, nil
}

// gatewayOptions are cfg's settings of the request path that are not
// part of a snapshot.
func gatewayOptions(cfg *config.Config) gateway.Options {
	return gateway.Options{UnderscoresInHeaders: *cfg.Server.UnderscoresInHeaders,
		MaxStreamsPerClient: *cfg.Upstream.MaxStreamsPerClient}
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

// deps are what a snapshot of cfg is compiled with: p resolves its
// long-lived resources.
func (s *Server) deps(cfg *config.Config, p *gateway.Pending) gateway.Deps {
	return gateway.Deps{Pending: p, Cache: s.cache, Metrics: s.metrics,
		XCache: *cfg.Cache.XCacheHeader}
}

// ensureCache creates the shared response cache the first time a config
// caches a route. Its size is fixed for the life of the process.
func (s *Server) ensureCache(cfg *config.Config) error {
	if s.cache != nil || !gateway.NeedsCache(cfg) {
		return nil
	}
	// The store keeps expired entries up to an hour for the routes that
	// serve stale while revalidating; each route applies its own window.
	store, err := cache.New(cache.Config{MaxSize: int64(cfg.Cache.MaxSize), MaxItemSize: int(cfg.Cache.MaxItemSize), MaxWait: cfg.Cache.MaxWait.D(),
		StaleGrace: cache.MaxTTL})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	s.cache = store
	if s.cluster != nil {
		s.shareCache(store)
	}
	return nil
}

// Cache is the response cache (nil while no route caches), for the admin
// endpoints.
func (s *Server) Cache() *cache.Store { return s.cache }

// KeyUsage is each API key's usage in the config in use.
func (s *Server) KeyUsage(now time.Time) []pipeline.KeyUsage {
	if keys := s.gw.Snapshot().Keys(); keys != nil {
		return keys.Usage(now)
	}
	return nil
}

// Throttled counts the requests refused at each throttle level.
func (s *Server) Throttled() map[string]uint64 { return s.reg.State.Throttled() }

// Bridges are the WebSocket APIs' bridges, by API name.
func (s *Server) Bridges() map[string]*wsbridge.Bridge { return s.bridges.all() }

// WriteMetrics writes the Prometheus metrics.
func (s *Server) WriteMetrics(w io.Writer) {
	s.metrics.WritePrometheus(w)
	if s.cluster != nil {
		s.cluster.WriteMetrics(w)
	}
}

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
	format, err := accesslog.ParseFormat(string(cfg.Format))
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
	if lt := cfg.Server.LocalTLS; lt != nil {
		lln, err := net.Listen("tcp", lt.Listen)
		if err != nil {
			ln.Close()
			if s.adminLn != nil {
				s.adminLn.Close()
			}
			return fmt.Errorf("listen server.local_tls %s: %w", lt.Listen, err)
		}
		s.localLn = lln
	}
	return nil
}

// UseLocalTLSListener serves server.local_tls on an already bound listener.
func (s *Server) UseLocalTLSListener(ln net.Listener) { s.localLn = ln }

// UseAdminListener serves the admin API on an already bound listener.
func (s *Server) UseAdminListener(ln net.Listener) { s.adminLn = ln }

// UseListener serves on an already bound listener (tests bind :0).
func (s *Server) UseListener(ln net.Listener) { s.ln = ln }

// Serve blocks serving requests until Shutdown.
func (s *Server) Serve() error {
	if s.admin != nil && s.adminLn != nil {
		s.log.Info("admin listening", "listen", s.adminLn.Addr().String())
		if s.cp.Signed() {
			s.log.Info("control plane on the admin listener: calls must be SigV4-signed with admin.credentials", "credentials", len(s.cfg.Load().Admin.Credentials))
		} else {
			s.log.Warn("control plane on the admin listener without admin.credentials: it serves unsigned calls from loopback addresses only")
		}
		go func() {
			if err := s.admin.Serve(s.adminLn); err != nil {
				s.log.Error("admin listener", "err", err)
			}
		}()
	}
	s.log.Info("serving", "listen", s.ln.Addr().String(), "tls", s.certs != nil)
	s.ready.Store(true)
	sc := s.cfg.Load().Server
	timeouts := connTimeouts{send: sc.SendTimeout.D(), read: sc.ReadTimeout.D(), idle: sc.IdleTimeout.D()}
	if s.localLn != nil && s.local.ca != nil {
		s.log.Info("serving HTTPS with the local CA", "listen", s.localLn.Addr().String(), "ca", s.local.ca.CAFile)
		go func() {
			if err := s.http.Serve(newListener(s.local.localTLSListener(s.localLn), timeouts)); err != nil {
				s.log.Error("server.local_tls listener", "err", err)
			}
		}()
	}
	return s.http.Serve(newListener(s.tlsListener(s.ln), timeouts))
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
	if s.stopFollow != nil {
		s.stopFollow()
	}
	err := s.http.ShutdownWithContext(ctx)
	if s.cluster != nil {
		// After the drain: the quota units still held go back.
		s.cluster.Close()
	}
	s.fns.close()
	s.gw.AccessLog().Close() //nolint:errcheck // flushes what is queued
	if s.tracer != nil {
		s.tracer.Shutdown(ctx) //nolint:errcheck // unsent spans are counted as dropped
	}
	s.log.Info("stopped", "drain", time.Since(start).Round(time.Millisecond).String())
	return err
}

// refuse answers a request that could not be read (malformed, over a
// limit, too slow) in its API's dialect, and counts it; or one refused for
// want of capacity (503). A request whose head declared a body over
// max_body_bytes is a 413 whatever cut its reading short (see
// headerReceived).
func (s *Server) refuse(ctx *fasthttp.RequestCtx, err error) {
	if !errors.Is(err, gateway.ErrOverloaded) {
		s.metrics.BadRequest()
	}
	if head, ok := s.oversized.take(&ctx.Request.Header); ok {
		if ctx.Request.Header.ContentLength() == 0 { // reset by fasthttp
			ctx.Request.Header.SetHostBytes(head.host)
			ctx.Request.Header.SetRequestURIBytes(head.uri)
		}
		err = fasthttp.ErrBodyTooLarge
	}
	s.gw.HandleError(ctx, err)
}

// headerReceived runs once a request head is read, before fasthttp reads
// the first bytes of its body (up to 8 KiB, even when the declared length
// is over the limit). A head that declares a body over max_body_bytes gets
// a read deadline already past, so the answer is 413 at once, as nginx
// gives, rather than after the client sends a byte or read_timeout ends.
func (s *Server) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if h.ContentLength() > s.bodies.max {
		s.oversized.add(h)
		return fasthttp.RequestConfig{ReadTimeout: time.Nanosecond}
	}
	return fasthttp.RequestConfig{}
}
