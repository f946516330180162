package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/redis/rueidis"
)

// Usage tallies (GET /usage admitted and throttled) are shared as Redis
// hashes, one per API key: every sync adds what each key counted since the
// last one, and the totals come back for the report. They are eventually
// consistent: a report shows the others' counts as of the last refresh.

// usageTTL keeps a key's shared tallies while it is used; a key idle
// longer starts from zero.
const usageTTL = 31 * 24 * time.Hour

// usageRefreshEvery is how many syncs pass between two reads of every
// key's totals (keys that counted are read at every sync).
const usageRefreshEvery = 10

func (c *Cluster) usageKey(key uint64) string { return fmt.Sprintf("%su:{%016x}", c.prefix, key) }

// AttachUsage makes u report cluster-wide tallies.
func (c *Cluster) AttachUsage(u *limiter.Usage) {
	u.Share()
	c.mu.Lock()
	c.usages[u] = struct{}{}
	c.mu.Unlock()
}

// DetachUsage adds what u counted last and stops sharing it.
func (c *Cluster) DetachUsage(u *limiter.Usage) {
	c.mu.Lock()
	_, ok := c.usages[u]
	delete(c.usages, u)
	c.mu.Unlock()
	if cl := c.conn(); ok && cl != nil && c.Up() {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
		defer cancel()
		if err := c.pushUsage(ctx, cl, u, false); err != nil {
			c.log.Debug("usage tallies not added", "err", err)
		}
	}
}

// syncUsage adds every tally's news and, every usageRefreshEvery syncs,
// reads all totals back.
func (c *Cluster) syncUsage(ctx context.Context, cl rueidis.Client) error {
	c.mu.Lock()
	us := make([]*limiter.Usage, 0, len(c.usages))
	for u := range c.usages {
		us = append(us, u)
	}
	c.usageRound++
	all := c.usageRound%usageRefreshEvery == 1
	c.mu.Unlock()
	for _, u := range us {
		if err := c.pushUsage(ctx, cl, u, all); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) pushUsage(ctx context.Context, cl rueidis.Client, u *limiter.Usage, all bool) error {
	type pushed struct {
		key uint64
		at  int // index of its first command
	}
	var cmds rueidis.Commands
	var keys []pushed
	seen := map[uint64]bool{}
	u.Deltas(func(k uint64, d limiter.Counts) {
		keys = append(keys, pushed{k, len(cmds)})
		seen[k] = true
		uk := c.usageKey(k)
		cmds = append(cmds,
			cl.B().Hincrby().Key(uk).Field("a").Increment(int64(d.Admitted)).Build(),
			cl.B().Hincrby().Key(uk).Field("t").Increment(int64(d.Throttled)).Build(),
			cl.B().Pexpire().Key(uk).Milliseconds(usageTTL.Milliseconds()).Build())
	})
	var reads []uint64
	readAt := len(cmds)
	if all {
		for _, k := range u.Keys() {
			if !seen[k] {
				reads = append(reads, k)
				cmds = append(cmds, cl.B().Hmget().Key(c.usageKey(k)).Field("a", "t").Build())
			}
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	res := cl.DoMulti(ctx, cmds...)
	for _, p := range keys {
		a, err1 := res[p.at].AsUint64()
		t, err2 := res[p.at+1].AsUint64()
		if err1 != nil || err2 != nil {
			return fmt.Errorf("usage tallies: %w", firstErr(err1, err2))
		}
		u.SetShared(p.key, limiter.Counts{Admitted: a, Throttled: t})
	}
	for i, k := range reads {
		v, err := res[readAt+i].ToArray()
		if err != nil {
			return fmt.Errorf("usage tallies: %w", err)
		}
		var n [2]uint64
		for j := range min(2, len(v)) {
			if x, err := v[j].AsUint64(); err == nil {
				n[j] = x
			}
		}
		u.SetShared(k, limiter.Counts{Admitted: n[0], Throttled: n[1]})
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
