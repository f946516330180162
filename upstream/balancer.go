package upstream

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrAllDown: no origin of a balancer is available; the request is answered
// at once instead of waiting on dead origins.
var ErrAllDown = errors.New("upstream: every origin is down")

// Policy picks an origin.
type Policy uint8

// Policies.
const (
	RoundRobin Policy = iota
	LeastConn
)

// DefaultBackoff is how long an origin that refused a connection stays out
// of rotation.
const DefaultBackoff = 10 * time.Second

// Balancer spreads requests over the origins of one integration.
type Balancer struct {
	pools   []*Pool
	policy  Policy
	retries int
	backoff time.Duration
	next    atomic.Uint64
}

// NewBalancer balances over pools. retries is how many other origins an
// idempotent request may try after a connection failure.
func NewBalancer(pools []*Pool, policy Policy, retries int, backoff time.Duration) *Balancer {
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	return &Balancer{pools: pools, policy: policy, retries: retries, backoff: backoff}
}

// Do sends req to an available origin. With several origins, one that refuses the
// connection is marked down for the back-off; an idempotent request then
// moves on to the next origin, up to retries times. A request that may have
// reached an origin is never sent again unless its method is idempotent and
// the failure happened before any response byte. start is as for Pool.Do.
func (b *Balancer) Do(req *fasthttp.Request, resp *fasthttp.Response, start, deadline time.Time) error {
	if len(b.pools) == 1 {
		// With a single origin there is nowhere else to go: a passive
		// back-off would only turn its recovery into errors, so it is
		// always tried (as nginx does). A failing active check still
		// answers at once.
		p := b.pools[0]
		if p.unhealthy.Load() {
			return ErrAllDown
		}
		return p.Do(req, resp, start, deadline)
	}
	var tried uint64 // bit set of origins tried (first 64)
	for attempt := 0; ; attempt++ {
		p, i := b.pick(tried)
		if p == nil {
			return ErrAllDown
		}
		tried |= 1 << (uint(i) & 63)
		err := p.Do(req, resp, start, deadline)
		b.observe(p, err)
		if err == nil {
			return nil
		}
		if attempt >= b.retries || !isIdempotent(req) || !connectionFailure(err) {
			return err
		}
		resp.Reset()
	}
}

func (b *Balancer) observe(p *Pool, err error) {
	var de *DialError
	if err != nil && errors.As(err, &de) && !errors.Is(err, ErrTimeout) {
		p.MarkDown(b.backoff)
	}
}

func connectionFailure(err error) bool {
	var de *DialError
	return errors.As(err, &de) || unanswered(err)
}

// pick chooses an available origin not yet tried.
func (b *Balancer) pick(tried uint64) (*Pool, int) {
	now := time.Now().UnixNano()
	n := len(b.pools)
	start := int(b.next.Add(1) % uint64(n))
	best, bestIdx := (*Pool)(nil), -1
	for k := 0; k < n; k++ {
		i := (start + k) % n
		p := b.pools[i]
		if tried&(1<<(uint(i)&63)) != 0 || !p.Available(now) {
			continue
		}
		if b.policy == RoundRobin {
			return p, i
		}
		if best == nil || p.InFlight() < best.InFlight() {
			best, bestIdx = p, i
		}
	}
	return best, bestIdx
}
