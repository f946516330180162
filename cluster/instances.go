package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// instanceTTL is how long an instance counts as live after its last
// heartbeat: a few missed syncs are tolerated, a dead instance drops out
// within it.
func (c *Cluster) instanceTTL() time.Duration { return max(3*time.Second, 10*c.opt.SyncInterval) }

func (c *Cluster) instancesKey() string { return c.prefix + "{cluster}:instances" }

func (c *Cluster) instanceKey(id string) string { return c.prefix + "{cluster}:instance:" + id }

// heartbeat announces this instance and counts the live ones.
func (c *Cluster) heartbeat(ctx context.Context, cl rueidis.Client) error {
	now := time.Now()
	ttl := c.instanceTTL()
	info := map[string]string{"started": c.started.UTC().Format(time.RFC3339), "seen": now.UTC().Format(time.RFC3339Nano)}
	maps.Copy(info, c.opt.Info())
	h := cl.B().Hset().Key(c.instanceKey(c.opt.InstanceID)).FieldValue()
	for _, k := range slices.Sorted(maps.Keys(info)) {
		h = h.FieldValue(k, info[k])
	}
	res := cl.DoMulti(ctx,
		cl.B().Zadd().Key(c.instancesKey()).ScoreMember().ScoreMember(float64(now.UnixMilli()), c.opt.InstanceID).Build(),
		cl.B().Zremrangebyscore().Key(c.instancesKey()).Min("-inf").Max("("+strconv.FormatInt(now.Add(-ttl).UnixMilli(), 10)).Build(),
		h.Build(),
		cl.B().Pexpire().Key(c.instanceKey(c.opt.InstanceID)).Milliseconds(ttl.Milliseconds()).Build(),
		cl.B().Zcard().Key(c.instancesKey()).Build(),
	)
	for _, r := range res {
		if err := r.Error(); err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
	}
	n, err := res[4].AsInt64()
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	c.instances.Store(max(1, n))
	return nil
}

// leave removes this instance from the live ones at shutdown.
func (c *Cluster) leave(ctx context.Context, cl rueidis.Client) {
	for _, r := range cl.DoMulti(ctx,
		cl.B().Zrem().Key(c.instancesKey()).Member(c.opt.InstanceID).Build(),
		cl.B().Del().Key(c.instanceKey(c.opt.InstanceID)).Build()) {
		if err := r.Error(); err != nil {
			c.log.Debug("leave", "err", err)
		}
	}
}

// Instance is one live instance as it last announced itself.
type Instance struct {
	ID string `json:"id"`
	// Info holds what the instance announces: config_hash, listen,
	// started, seen.
	Info map[string]string `json:"info"`
}

// Status is the cluster as one instance sees it.
type Status struct {
	Self      string     `json:"self"`
	RedisUp   bool       `json:"redis_up"`
	SyncLag   string     `json:"sync_lag"`
	Instances []Instance `json:"instances"`
}

// Status lists the live instances, read from Redis now, by id.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	st := Status{Self: c.opt.InstanceID, RedisUp: c.Up(), SyncLag: c.SyncLag().Round(time.Millisecond).String()}
	cl := c.conn()
	if cl == nil {
		return st, fmt.Errorf("cluster status: not connected to redis")
	}
	min := strconv.FormatInt(time.Now().Add(-c.instanceTTL()).UnixMilli(), 10)
	ids, err := cl.Do(ctx, cl.B().Zrangebyscore().Key(c.instancesKey()).Min(min).Max("+inf").Build()).AsStrSlice()
	if err != nil {
		return st, fmt.Errorf("cluster status: %w", err)
	}
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = cl.B().Hgetall().Key(c.instanceKey(id)).Build()
	}
	for i, r := range cl.DoMulti(ctx, cmds...) {
		m, err := r.AsStrMap()
		if err != nil {
			return st, fmt.Errorf("cluster status: %w", err)
		}
		if len(m) == 0 {
			continue // expired between the two reads
		}
		st.Instances = append(st.Instances, Instance{ID: ids[i], Info: m})
	}
	// Redis orders them by last heartbeat, which changes from one read to
	// the next; a listing is read by people, in a stable order.
	slices.SortFunc(st.Instances, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	return st, nil
}
