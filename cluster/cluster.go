package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/redis/rueidis"
)

// Options configure a Cluster.
type Options struct {
	// Addrs is one redis://, rediss:// or redis-sentinel:// URL, or the
	// seed addresses of a Redis Cluster.
	Addrs              []string
	Username, Password string
	// InstanceID names this instance to the others; hostname-pid when
	// empty.
	InstanceID string
	// SyncInterval is how often spend is reconciled, reservations topped
	// up and the heartbeat written (default 100ms).
	SyncInterval time.Duration
	// ThrottlesFailClosed refuses every throttled request while Redis is
	// down; otherwise each instance keeps its local limit divided by the
	// last known instance count.
	ThrottlesFailClosed bool
	// QuotasFailOpen admits quota'd requests beyond the reserved units
	// while Redis is down and adds them to the shared counter when it is
	// back; otherwise they are refused.
	QuotasFailOpen bool
	// Info returns what the instance announces about itself (config
	// hash, listen address), read at every heartbeat.
	Info func() map[string]string
	Log  *slog.Logger
}

// Cluster is one instance's membership of a cluster: its Redis client and
// the background loops that reconcile shared state. Safe for concurrent
// use.
type Cluster struct {
	opt    Options
	copt   rueidis.ClientOption
	log    *slog.Logger
	prefix string

	mu     sync.Mutex
	client rueidis.Client // nil until connected
	sets   map[*limiter.Set]setInfo
	quotas map[*limiter.Quotas]struct{}
	usages map[*limiter.Usage]struct{}
	// usageRound counts syncs, to read every usage total now and then.
	usageRound int
	subs       map[string]func([]byte) // Bus channel → handler
	ws         *connections
	subRun     context.CancelFunc // ends the running subscription (nil: none)
	outbox     chan announcement

	up        atomic.Bool
	everUp    atomic.Bool
	instances atomic.Int64 // last known live instances, ≥ 1
	lastSync  atomic.Int64 // unix ns of the last sync Redis answered
	started   time.Time

	leaseMisses     atomic.Uint64
	spendDropped    atomic.Uint64
	syncErrors      atomic.Uint64
	reserved        atomic.Uint64
	givenBack       atomic.Uint64
	announceDropped atomic.Uint64

	// The quota loop's own: when it last looked at the reservations, and
	// how long its last reservation took to come back.
	lastLook    time.Time
	reserveTime time.Duration

	wake    chan struct{}
	stop    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
	subCtx  context.Context
	subStop context.CancelFunc
}

type setInfo struct {
	id   uint64 // limiter.KeyString of the throttle's identity
	log  *limiter.SpendLog
	name string
}

// New checks the options and returns a Cluster that has not connected
// yet: Start connects in the background, so a gateway starts (and serves,
// per on_redis_down) while Redis is unreachable.
func New(o Options) (*Cluster, error) {
	copt, err := clientOption(o.Addrs, o.Username, o.Password)
	if err != nil {
		return nil, err
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 100 * time.Millisecond
	}
	if o.InstanceID == "" {
		h, _ := os.Hostname()
		o.InstanceID = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Info == nil {
		o.Info = func() map[string]string { return nil }
	}
	c := &Cluster{opt: o, copt: copt, log: o.Log.With("component", "cluster", "instance", o.InstanceID), prefix: "fd:",
		sets: map[*limiter.Set]setInfo{}, quotas: map[*limiter.Quotas]struct{}{}, usages: map[*limiter.Usage]struct{}{}, subs: map[string]func([]byte){},
		outbox: make(chan announcement, MaxQueuedAnnouncements),
		wake:   make(chan struct{}, 1), stop: make(chan struct{}), started: time.Now()}
	c.instances.Store(1)
	c.subCtx, c.subStop = context.WithCancel(context.Background())
	c.initConnections()
	return c, nil
}

// InstanceID is this instance's name in the cluster.
func (c *Cluster) InstanceID() string { return c.opt.InstanceID }

// Start runs the background loops until Close.
func (c *Cluster) Start() {
	c.wg.Add(4)
	go c.syncLoop()
	go c.quotaLoop()
	go c.connLoop()
	go c.announceLoop()
}

// Close gives back the quota units this instance holds, removes it from
// the live instances, and stops.
func (c *Cluster) Close() {
	c.stopped.Do(func() {
		close(c.stop)
		c.subStop()
		c.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c.mu.Lock()
		qs := make([]*limiter.Quotas, 0, len(c.quotas))
		for q := range c.quotas {
			qs = append(qs, q)
		}
		c.mu.Unlock()
		for _, q := range qs {
			c.giveBack(ctx, q)
		}
		if cl := c.conn(); cl != nil {
			c.releaseAll()
			c.leave(ctx, cl)
		}
		if cl := c.conn(); cl != nil {
			cl.Close()
		}
	})
}

// conn returns the client, or nil before the first connection.
func (c *Cluster) conn() rueidis.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.client
}

// connect makes the client once; afterwards rueidis reconnects by itself.
func (c *Cluster) connect() rueidis.Client {
	if cl := c.conn(); cl != nil {
		return cl
	}
	cl, err := rueidis.NewClient(c.copt)
	if err != nil {
		c.markDown(fmt.Errorf("connect: %w", err))
		return nil
	}
	c.mu.Lock()
	if c.client != nil { // Close or another loop won
		c.mu.Unlock()
		cl.Close()
		return c.conn()
	}
	c.client = cl
	subs := len(c.subs) > 0
	c.mu.Unlock()
	if subs {
		c.startSubscriber(cl)
	}
	return cl
}

// Connect connects now and reports why it could not, for one-shot uses
// (frontdesk cluster status) that do not Start the loops.
func (c *Cluster) Connect() error {
	if c.connect() == nil {
		return fmt.Errorf("cluster: cannot reach redis at %v", c.opt.Addrs)
	}
	return nil
}

// Up reports whether the last exchange with Redis succeeded.
func (c *Cluster) Up() bool { return c.up.Load() }

// Instances is the last known count of live instances (at least 1).
func (c *Cluster) Instances() int { return int(c.instances.Load()) }

// SyncLag is how long ago Redis last answered a sync; since start when it
// never has.
func (c *Cluster) SyncLag() time.Duration {
	t := c.lastSync.Load()
	if t == 0 {
		return time.Since(c.started)
	}
	return time.Since(time.Unix(0, t))
}

func (c *Cluster) markUp() {
	c.lastSync.Store(time.Now().UnixNano())
	if !c.up.Swap(true) {
		c.quotasOpen(false)
		c.everUp.Store(true)
		c.log.Info("redis reachable", "instances", c.instances.Load())
	}
}

func (c *Cluster) markDown(err error) {
	c.syncErrors.Add(1)
	c.quotasOpen(c.opt.QuotasFailOpen)
	if c.up.Swap(false) || !c.everUp.Load() && c.syncErrors.Load() == 1 {
		c.log.Warn("redis unreachable; shared state falls back per on_redis_down", "err", err,
			"throttles_fail_closed", c.opt.ThrottlesFailClosed, "quotas_fail_open", c.opt.QuotasFailOpen)
	}
}

// timeout bounds one background round trip: a slow Redis delays the
// reconciliation, never a request.
func (c *Cluster) timeout() time.Duration { return max(500*time.Millisecond, 5*c.opt.SyncInterval) }

// backoff is the wait before the next attempt after n failures in a row.
func (c *Cluster) backoff(n int) time.Duration {
	d := c.opt.SyncInterval
	for i := 0; i < n && d < 2*time.Second; i++ {
		d *= 2
	}
	return min(d, 2*time.Second)
}

func (c *Cluster) syncLoop() {
	defer c.wg.Done()
	fails := 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		err := c.syncOnce()
		if err != nil {
			fails++
			c.markDown(err)
		} else {
			fails = 0
			c.markUp()
		}
		t.Reset(c.backoff(fails))
	}
}

// syncOnce writes the heartbeat and reconciles every throttle.
func (c *Cluster) syncOnce() error {
	cl := c.connect()
	if cl == nil {
		c.throttlesDown()
		return errors.New("not connected")
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	if err := c.heartbeat(ctx, cl); err != nil {
		c.throttlesDown()
		return err
	}
	if err := c.syncThrottles(ctx, cl); err != nil {
		return err
	}
	return c.syncUsage(ctx, cl)
}

func (c *Cluster) quotaLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.opt.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.wake:
		}
		c.refillQuotas()
	}
}

// WriteMetrics appends the cluster's series in Prometheus text format.
func (c *Cluster) WriteMetrics(w io.Writer) {
	up := 0
	if c.Up() {
		up = 1
	}
	fmt.Fprintf(w, "# HELP frontdesk_cluster_redis_up Whether the last exchange with Redis succeeded.\n# TYPE frontdesk_cluster_redis_up gauge\nfrontdesk_cluster_redis_up %d\n", up)
	fmt.Fprintf(w, "# HELP frontdesk_cluster_instances Live instances last seen in Redis.\n# TYPE frontdesk_cluster_instances gauge\nfrontdesk_cluster_instances %d\n", c.Instances())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_sync_lag_seconds Time since Redis last answered a sync.\n# TYPE frontdesk_cluster_sync_lag_seconds gauge\nfrontdesk_cluster_sync_lag_seconds %g\n", c.SyncLag().Seconds())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_lease_misses_total Quota requests that found no reserved unit.\n# TYPE frontdesk_cluster_lease_misses_total counter\nfrontdesk_cluster_lease_misses_total %d\n", c.leaseMisses.Load())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_spend_dropped_total Throttle spends not shared because the spend log was full.\n# TYPE frontdesk_cluster_spend_dropped_total counter\nfrontdesk_cluster_spend_dropped_total %d\n", c.spendDropped.Load())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_sync_errors_total Background exchanges with Redis that failed.\n# TYPE frontdesk_cluster_sync_errors_total counter\nfrontdesk_cluster_sync_errors_total %d\n", c.syncErrors.Load())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_announcements_dropped_total Invalidations not broadcast (queue full or Redis down).\n# TYPE frontdesk_cluster_announcements_dropped_total counter\nfrontdesk_cluster_announcements_dropped_total %d\n", c.announceDropped.Load())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_quota_units_reserved_total Quota units reserved from the shared counters.\n# TYPE frontdesk_cluster_quota_units_reserved_total counter\nfrontdesk_cluster_quota_units_reserved_total %d\n", c.reserved.Load())
	fmt.Fprintf(w, "# HELP frontdesk_cluster_quota_units_returned_total Unused quota units given back.\n# TYPE frontdesk_cluster_quota_units_returned_total counter\nfrontdesk_cluster_quota_units_returned_total %d\n", c.givenBack.Load())
}

// quotasOpen applies on_redis_down to the quotas at once, rather than at
// the next refill.
func (c *Cluster) quotasOpen(open bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.quotas {
		q.SetFailOpen(open)
	}
}
