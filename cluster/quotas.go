package cluster

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/redis/rueidis"
)

// MaxBlock is the most quota units one reservation takes, and
// MaxLargeBlock the most it takes of a quota over a million: a thousandth
// of the quota, up to that. Blocks follow demand (refillQuotas sizes them
// on the key's rate) and shrink near the end of a quota to a fair share of
// what is left, then to one unit. What an instance holds is what a
// crash loses until the period ends, so the bound is a share of the
// quota; a key busier than one block per Redis round trip (1,000 units
// every 20 ms is 50,000 requests a second) needs the larger blocks a large
// quota allows, or its requests find the reservation empty and get 429.
const (
	MaxBlock      = 1000
	MaxLargeBlock = 100_000
)

// blockCap is the most units one reservation of a quota of limit takes.
func blockCap(limit int64) int64 {
	return min(max(MaxBlock, limit/1000), MaxLargeBlock)
}

// reserveScript takes up to ARGV[2] units of a quota of ARGV[1], never
// more than the remainder divided by ARGV[3] (at least one), and returns
// the units granted and the counter after. The counter expires at ARGV[4]
// (unix ms): a period's end plus a day for clock skew.
var reserveScript = rueidis.NewLuaScript(`
local limit = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = limit - used
local grant = math.min(tonumber(ARGV[2]), math.max(1, math.floor(left / tonumber(ARGV[3]))), left)
if grant > 0 then
  used = redis.call('INCRBY', KEYS[1], grant)
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
else
  grant = 0
end
return {grant, used}
`)

// returnScript gives back ARGV[1] unused units, or adds (negative) units
// admitted while Redis was down and the policy failed open.
var returnScript = rueidis.NewLuaScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[1])
if n > used then n = used end
if n == 0 then return used end
used = redis.call('DECRBY', KEYS[1], n)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return used
`)

// AttachQuotas makes q's counters shared: q admits only units reserved
// from Redis from now on. Call it before q serves.
func (c *Cluster) AttachQuotas(q *limiter.Quotas) {
	q.Share(c.wake)
	q.SetFailOpen(c.opt.QuotasFailOpen && !c.up.Load())
	c.mu.Lock()
	c.quotas[q] = struct{}{}
	c.mu.Unlock()
	c.signal()
}

// DetachQuotas stops sharing q and gives back the units it holds.
func (c *Cluster) DetachQuotas(q *limiter.Quotas) {
	c.mu.Lock()
	_, ok := c.quotas[q]
	delete(c.quotas, q)
	c.mu.Unlock()
	if !ok {
		return
	}
	if cl := c.conn(); cl != nil && c.Up() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
		defer cancel()
		c.giveBack(ctx, q)
	}
}

func (c *Cluster) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// quotaKey is the Redis key of one key's count in one period.
func (c *Cluster) quotaKey(key uint64, p limiter.Period, start time.Time) string {
	return fmt.Sprintf("%sq:{%016x}:%s:%d", c.prefix, key, p, start.Unix())
}

func expireAt(end time.Time) string {
	return strconv.FormatInt(end.Add(24*time.Hour).UnixMilli(), 10)
}

// refillQuotas tops up every reservation that runs low, and adds what was
// admitted failing open.
func (c *Cluster) refillQuotas() {
	c.mu.Lock()
	qs := make([]*limiter.Quotas, 0, len(c.quotas))
	for q := range c.quotas {
		qs = append(qs, q)
	}
	c.mu.Unlock()
	if len(qs) == 0 {
		return
	}
	cl := c.conn()
	up := cl != nil && c.Up()
	for _, q := range qs {
		q.SetFailOpen(c.opt.QuotasFailOpen && !up)
	}
	if !up {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	now := time.Now()
	share := strconv.FormatInt(2*max(1, c.instances.Load()), 10)
	// A reservation is sized on the key's rate of spending, not on what it
	// spent since the last look: the hot path wakes this loop as soon as a
	// reservation is half spent, so looks can be a few requests apart. It
	// covers the horizon: four sync intervals or four of the last
	// reservation's round trips, whichever is longer, so that the half
	// left when the loop is woken outlasts the next round trip.
	elapsed := c.opt.SyncInterval
	if !c.lastLook.IsZero() {
		elapsed = max(now.Sub(c.lastLook), time.Millisecond)
	}
	c.lastLook = now
	horizon := 4 * max(c.opt.SyncInterval, c.reserveTime)
	for _, q := range qs {
		var execs []rueidis.LuaExec
		var leases []limiter.QuotaLease
		var adds []rueidis.LuaExec
		q.Leases(now, func(l limiter.QuotaLease) {
			if st, n := q.Unreserved(l.Key); n > 0 {
				_, end := l.Quota.Period.Bounds(st)
				adds = append(adds, rueidis.LuaExec{Keys: []string{c.quotaKey(l.Key, l.Quota.Period, st)},
					Args: []string{strconv.FormatInt(-n, 10), expireAt(end)}})
			}
			if l.Wanted {
				c.leaseMisses.Add(1)
			}
			demand := int64(float64(l.Spent) * float64(horizon) / float64(elapsed))
			want := min(blockCap(l.Quota.Limit), max(1, 2*l.Spent, demand))
			if l.Held*2 >= want && !l.Wanted && l.Held > 0 || l.Quota.Limit == 0 {
				return
			}
			leases = append(leases, l)
			execs = append(execs, rueidis.LuaExec{Keys: []string{c.quotaKey(l.Key, l.Quota.Period, l.Start)},
				Args: []string{strconv.FormatInt(l.Quota.Limit, 10), strconv.FormatInt(want, 10), share, expireAt(l.End)}})
		})
		if len(adds) > 0 {
			for _, r := range returnScript.ExecMulti(ctx, cl, adds...) {
				if err := r.Error(); err != nil {
					c.markDown(fmt.Errorf("add unreserved quota: %w", err))
				}
			}
		}
		if len(execs) == 0 {
			continue
		}
		sent := time.Now()
		results := reserveScript.ExecMulti(ctx, cl, execs...)
		c.reserveTime = time.Since(sent)
		for i, r := range results {
			v, err := r.AsIntSlice()
			if err != nil || len(v) != 2 {
				c.markDown(fmt.Errorf("reserve quota: %w", err))
				continue
			}
			c.reserved.Add(uint64(v[0]))
			q.Grant(leases[i].Key, leases[i].Start, v[0], v[1])
		}
	}
}

// giveBack returns every unit q holds to the shared counters, and adds
// what it admitted failing open.
func (c *Cluster) giveBack(ctx context.Context, q *limiter.Quotas) {
	cl := c.conn()
	var execs []rueidis.LuaExec
	q.Leases(time.Now(), func(l limiter.QuotaLease) {
		if st, n := q.Unreserved(l.Key); n > 0 {
			_, end := l.Quota.Period.Bounds(st)
			execs = append(execs, rueidis.LuaExec{Keys: []string{c.quotaKey(l.Key, l.Quota.Period, st)},
				Args: []string{strconv.FormatInt(-n, 10), expireAt(end)}})
		}
		st, n := q.Reclaim(l.Key)
		if n <= 0 {
			return
		}
		_, end := l.Quota.Period.Bounds(st)
		execs = append(execs, rueidis.LuaExec{Keys: []string{c.quotaKey(l.Key, l.Quota.Period, st)},
			Args: []string{strconv.FormatInt(n, 10), expireAt(end)}})
		c.givenBack.Add(uint64(n))
	})
	if len(execs) == 0 || cl == nil {
		return
	}
	// A give-back that fails is sent once more. Right after Redis comes
	// back, the first script on a connection can fail with EOF without
	// having run (the count stays as if nothing was given back); sending
	// it again then gives the units back. Were a reply lost after the
	// script ran, the units would be given back twice: the shared count
	// would be short by at most one block (blockCap) until the period
	// ends, within the best effort API Gateway promises for quotas.
	res := returnScript.ExecMulti(ctx, cl, execs...)
	var again []rueidis.LuaExec
	for i, r := range res {
		if r.Error() != nil {
			again = append(again, execs[i])
		}
	}
	if len(again) > 0 {
		res = returnScript.ExecMulti(ctx, cl, again...)
	}
	for _, r := range res {
		if err := r.Error(); err != nil {
			c.log.Warn("quota units not given back; they count as used until the period ends", "err", err)
		}
	}
}
