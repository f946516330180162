package proxy

import (
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/frontdeskgw/frontdesk/upstream"
)

// Pools shares one keep-alive connection pool per upstream origin across
// integrations and across config reloads, so a reload does not reconnect.
type Pools struct {
	mu    sync.Mutex
	pools map[string]*upstream.Pool
	// What the snapshot compiled last uses: its pools and their checks.
	used map[string]bool
	want map[*upstream.Pool]healthCheck
	// MaxConnsPerOrigin bounds the connections to one origin (default 1024).
	MaxConnsPerOrigin int
	// Options is the template of new pools (Addr and Dial are set per
	// origin). Its Budget, made on first use when nil, is shared by all.
	Options upstream.Options
	// Dial replaces TCP dialing (benchmarks use in-memory listeners).
	Dial func(addr string) (net.Conn, error)
}

// WantHealthCheck records that the next snapshot checks pool actively.
// Apply starts and stops checks to match.
func (p *Pools) WantHealthCheck(pool *upstream.Pool, path string, interval time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.want == nil {
		p.want = map[*upstream.Pool]healthCheck{}
	}
	p.want[pool] = healthCheck{path, interval}
}

// Apply makes the pools match the snapshot compiled last, once it is in
// use: it runs the checks that snapshot wants, stops the others, and
// retires the pools of origins it no longer names, so the pool map holds
// the origins of the config in use only.
func (p *Pools) Apply() {
	p.mu.Lock()
	want, used := p.want, p.used
	p.want, p.used = nil, nil
	var keep, retire []*upstream.Pool
	for key, pool := range p.pools {
		if used[key] {
			keep = append(keep, pool)
		} else {
			retire = append(retire, pool)
			delete(p.pools, key)
		}
	}
	p.mu.Unlock()
	for _, pool := range keep {
		if hc, ok := want[pool]; ok {
			pool.StartHealthCheck(hc.path, hc.interval)
		} else {
			pool.StopHealthCheck()
		}
	}
	for _, pool := range retire {
		pool.Retire()
	}
}

// Discard forgets what a snapshot that will not be used (a refused
// reload) asked for; pools it created alone are retired by the next Apply.
func (p *Pools) Discard() {
	p.mu.Lock()
	p.want, p.used = nil, nil
	p.mu.Unlock()
}

type healthCheck struct {
	path     string
	interval time.Duration
}

// Get returns the pool for scheme://hostport, creating it on first use,
// and records that the snapshot being compiled uses it.
func (p *Pools) Get(scheme, hostport, serverName string) *upstream.Pool {
	key := scheme + "://" + hostport
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used == nil {
		p.used = map[string]bool{}
	}
	p.used[key] = true
	if c := p.pools[key]; c != nil {
		return c
	}
	if p.pools == nil {
		p.pools = map[string]*upstream.Pool{}
	}
	if p.Options.Budget == nil {
		p.Options.Budget = upstream.NewBudget(upstream.DefaultMaxBuffered)
	}
	o := p.Options
	o.Addr, o.Dial = hostport, p.Dial
	if p.MaxConnsPerOrigin > 0 {
		o.MaxConns = p.MaxConnsPerOrigin
	}
	if scheme == "https" {
		o.TLS = &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	}
	c := upstream.New(o)
	p.pools[key] = c
	return c
}
