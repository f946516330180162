package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/redis/rueidis"
)

// MaxSpendKeys bounds the keys of one throttle whose spend is carried
// between two syncs (docs/cluster.md); spends of further keys stay local.
const MaxSpendKeys = limiter.DefaultMaxKeys

// chargeScript adds n tokens' worth of time to a shared GCRA bucket and
// returns its TAT. Times are microseconds: Lua numbers are doubles, exact
// to 2^53, and unix time in ns is beyond that. The clock is the caller's,
// so every instance's TAT is in the same time base as its own.
var chargeScript = rueidis.NewLuaScript(`
local now = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
tat = tat + tonumber(ARGV[2]) * tonumber(ARGV[3])
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + tonumber(ARGV[4]))
return math.floor(tat)
`)

// AttachSet makes the throttle named id share its spend across instances.
// id must name the same throttle on every instance (the gateway uses the
// API, stage and route).
func (c *Cluster) AttachSet(id string, s *limiter.Set) {
	l := limiter.NewSpendLog(min(MaxSpendKeys, s.MaxKeys()))
	l.SetClosed(c.opt.ThrottlesFailClosed && c.everUp.Load() && !c.up.Load())
	c.mu.Lock()
	c.sets[s] = setInfo{id: limiter.KeyString(id), log: l, name: id}
	c.mu.Unlock()
	s.AttachSpend(l)
}

// DetachSet stops sharing s.
func (c *Cluster) DetachSet(s *limiter.Set) {
	c.mu.Lock()
	delete(c.sets, s)
	c.mu.Unlock()
	s.AttachSpend(nil)
}

type spend struct {
	set *limiter.Set
	key uint64
	n   int64
}

func (c *Cluster) drain() []spend {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []spend
	for s, in := range c.sets {
		dropped := in.log.Drain(func(k uint64, n int64) { out = append(out, spend{s, k, n}) })
		c.spendDropped.Add(uint64(dropped))
	}
	return out
}

// throttleKey is the Redis key of one bucket: the whole name is the hash
// tag, so buckets spread over a Redis Cluster's shards one by one.
func (c *Cluster) throttleKey(set, key uint64) string {
	return fmt.Sprintf("%st:{%016x%016x}", c.prefix, set, key)
}

// syncThrottles charges each bucket's spend to its shared bucket and
// takes the shared TAT back, so every instance's local bucket also bears
// what the others spent.
func (c *Cluster) syncThrottles(ctx context.Context, cl rueidis.Client) error {
	c.setClosed(false)
	spends := c.drain()
	if len(spends) == 0 {
		return nil
	}
	c.mu.Lock()
	ids := make(map[*limiter.Set]uint64, len(c.sets))
	for s, in := range c.sets {
		ids[s] = in.id
	}
	c.mu.Unlock()
	now := time.Now()
	nowUS := now.UnixMicro()
	// A shared bucket lives tau plus a margin past its TAT: idle that
	// long it is full anyway, and a missing key reads as full.
	margin := 2*c.opt.SyncInterval.Milliseconds() + 1000
	execs := make([]rueidis.LuaExec, len(spends))
	for i, sp := range spends {
		execs[i] = rueidis.LuaExec{
			Keys: []string{c.throttleKey(ids[sp.set], sp.key)},
			Args: []string{strconv.FormatInt(nowUS, 10), strconv.FormatInt(sp.n, 10),
				strconv.FormatFloat(float64(sp.set.Interval())/1e3, 'f', 3, 64),
				strconv.FormatInt(sp.set.Tau()/1e6+margin, 10)},
		}
	}
	res := chargeScript.ExecMulti(ctx, cl, execs...)
	var firstErr error
	for i, r := range res {
		tat, err := r.AsInt64()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("charge throttle: %w", err)
			}
			c.chargeLocally(spends[i], now)
			continue
		}
		spends[i].set.Raise(spends[i].key, tat*1e3)
	}
	return firstErr
}

// throttlesDown applies on_redis_down to the throttles: refuse all, or
// charge each local bucket for the spend the other instances likely made
// (as much as this one: the limit divided by the instance count).
func (c *Cluster) throttlesDown() {
	if c.opt.ThrottlesFailClosed && c.everUp.Load() {
		c.setClosed(true)
		c.drain()
		return
	}
	now := time.Now()
	for _, sp := range c.drain() {
		c.chargeLocally(sp, now)
	}
}

func (c *Cluster) chargeLocally(sp spend, now time.Time) {
	if others := c.instances.Load() - 1; others > 0 {
		sp.set.Charge(sp.key, sp.n*others, now.UnixNano())
	}
}

func (c *Cluster) setClosed(closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, in := range c.sets {
		in.log.SetClosed(closed)
	}
}
