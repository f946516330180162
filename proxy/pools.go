package proxy

import (
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/frontdeskgw/frontdesk/registry"
	"github.com/frontdeskgw/frontdesk/upstream"
)

// Pools is the registry of upstream connection pools, one per origin
// (scheme://host:port) shared by every integration that names it, and of
// their active health checks. A pool outlives snapshots, so a reload does
// not reconnect; the origins a committed generation no longer names are
// retired (idle connections closed, busy ones closed when their requests
// end), so the registry holds the origins of the config in use only. The
// zero value is usable.
type Pools struct {
	// MaxConnsPerOrigin bounds the connections to one origin (default 1024).
	MaxConnsPerOrigin int
	// Options is the template of new pools (Addr and Dial are set per
	// origin). Its Budget, made on first use when nil, is shared by all.
	Options upstream.Options
	// Dial replaces TCP dialing (benchmarks use in-memory listeners).
	Dial func(addr string) (net.Conn, error)

	once    sync.Once
	origins *registry.Set[string, Origin, *upstream.Pool]
	checks  *registry.Set[string, HealthCheck, *healthCheck]
}

// Origin is what an upstream pool is built from; its key is
// scheme://hostport.
type Origin struct {
	Scheme, HostPort, ServerName string
}

func (o Origin) key() string { return o.Scheme + "://" + o.HostPort }

// HealthCheck is the active health check of an origin. When integrations
// sharing an origin ask for different checks, the last one compiled wins.
type HealthCheck struct {
	Origin   Origin
	Path     string
	Interval time.Duration
}

// healthCheck runs from the commit that makes it live until one that
// drops or replaces it.
type healthCheck struct {
	pool *upstream.Pool
	HealthCheck
}

func (p *Pools) init() {
	p.once.Do(func() {
		if p.Options.Budget == nil {
			p.Options.Budget = upstream.NewBudget(upstream.DefaultMaxBuffered)
		}
		p.origins = registry.NewSet("upstream pool", registry.Hooks[string, Origin, *upstream.Pool]{
			Open:    func(_ *registry.Gen, _ string, o Origin) (*upstream.Pool, error) { return p.newPool(o), nil },
			Release: (*upstream.Pool).Retire,
		})
		p.checks = registry.NewSet("health check", registry.Hooks[string, HealthCheck, *healthCheck]{
			Open: func(g *registry.Gen, key string, hc HealthCheck) (*healthCheck, error) {
				pool, err := p.origins.Get(g, key, hc.Origin)
				return &healthCheck{pool: pool, HealthCheck: hc}, err
			},
			Activate: func(c *healthCheck) { c.pool.StartHealthCheck(c.Path, c.Interval) },
			// A changed check takes over the running one on the same pool
			// without a moment of counting the origin healthy.
			Replace: func(old, c *healthCheck) {
				if old.pool != c.pool {
					old.pool.StopHealthCheck()
				}
				c.pool.StartHealthCheck(c.Path, c.Interval)
			},
			Release:  func(c *healthCheck) { c.pool.StopHealthCheck() },
			Discard:  func(*healthCheck) {}, // never started
			LastWins: true,
		})
	})
}

func (p *Pools) newPool(o Origin) *upstream.Pool {
	opts := p.Options
	opts.Addr, opts.Dial = o.HostPort, p.Dial
	if p.MaxConnsPerOrigin > 0 {
		opts.MaxConns = p.MaxConnsPerOrigin
	}
	if o.Scheme == "https" {
		opts.TLS = &tls.Config{ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	}
	return upstream.New(opts)
}

// Join makes g reconcile the pools and checks on commit: the ones g does
// not ask for are retired and stopped.
func (p *Pools) Join(g *registry.Gen) {
	if p == nil {
		return
	}
	p.init()
	p.checks.Join(g)
	p.origins.Join(g)
}

// Live returns the pools of the committed generation by origin.
func (p *Pools) Live() map[string]*upstream.Pool {
	if p == nil {
		return nil
	}
	p.init()
	return p.origins.Live()
}

// HealthChecks returns the checks of the committed generation by origin.
func (p *Pools) HealthChecks() map[string]HealthCheck {
	if p == nil {
		return nil
	}
	p.init()
	out := map[string]HealthCheck{}
	for k, c := range p.checks.Live() {
		out[k] = c.HealthCheck
	}
	return out
}

// In is the view of p that the integrations of generation g resolve their
// origins through.
func (p *Pools) In(g *registry.Gen) Origins { return Origins{p: p, g: g} }

// Origins is one generation's view of Pools.
type Origins struct {
	p *Pools
	g *registry.Gen
}

func (o Origins) sets() (*registry.Set[string, Origin, *upstream.Pool], *registry.Set[string, HealthCheck, *healthCheck]) {
	if o.p == nil {
		return nil, nil
	}
	o.p.init()
	return o.p.origins, o.p.checks
}

// Get returns the pool for scheme://hostport: the live one, or one created
// for the generation. It is nil when the generation resolves nothing.
func (o Origins) Get(scheme, hostport, serverName string) *upstream.Pool {
	origins, _ := o.sets()
	or := Origin{Scheme: scheme, HostPort: hostport, ServerName: serverName}
	pool, _ := origins.Get(o.g, or.key(), or) // opening a pool cannot fail
	return pool
}

// WantHealthCheck records that the generation checks scheme://hostport
// actively; the check runs once the generation is committed.
func (o Origins) WantHealthCheck(scheme, hostport, serverName, path string, interval time.Duration) {
	_, checks := o.sets()
	or := Origin{Scheme: scheme, HostPort: hostport, ServerName: serverName}
	_, _ = checks.Get(o.g, or.key(), HealthCheck{Origin: or, Path: path, Interval: interval}) // cannot fail
}
