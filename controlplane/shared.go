package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Shared is where instances of a cluster keep one state: every change is
// stored there as a new version, and every instance applies each new
// version it sees.
type Shared interface {
	// Load returns the stored state and its version (0: none yet).
	Load(ctx context.Context) (*State, int64, error)
	// Save stores st as version v+1 if the stored version is still v,
	// and tells the other instances; false when another change came
	// first.
	Save(ctx context.Context, st *State, v int64) (bool, error)
	// Watch calls seen with the versions it learns of until ctx ends.
	Watch(ctx context.Context, seen func(v int64))
}

// Redis keys and channel of the shared state.
const (
	redisStateKey   = "frontdesk:controlplane:state"
	redisVersionKey = "frontdesk:controlplane:version"
	redisChannel    = "frontdesk:controlplane:changed"
	// redisPoll is how often the version is read besides the channel's
	// messages, so a message lost while reconnecting delays a change by
	// this much at most.
	redisPoll = 250 * time.Millisecond
)

// RedisShared keeps the state in Redis (cluster.redis).
type RedisShared struct{ c *redis.Client }

// NewRedisShared connects to the Redis URL (redis://host:port/db).
func NewRedisShared(url string) (*RedisShared, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cluster.redis: %w", err)
	}
	return &RedisShared{c: redis.NewClient(opts)}, nil
}

// Close closes the connections.
func (r *RedisShared) Close() error { return r.c.Close() }

// Load implements Shared.
func (r *RedisShared) Load(ctx context.Context) (*State, int64, error) {
	vals, err := r.c.MGet(ctx, redisStateKey, redisVersionKey).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("read shared state: %w", err)
	}
	st := newState()
	raw, _ := vals[0].(string)
	ver, _ := vals[1].(string)
	if raw == "" {
		return st, 0, nil
	}
	v, err := strconv.ParseInt(ver, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("shared state version %q: %w", ver, err)
	}
	if err := json.Unmarshal([]byte(raw), st); err != nil {
		return nil, 0, fmt.Errorf("shared state is not valid JSON: %w", err)
	}
	st.fill()
	return st, v, nil
}

// Save implements Shared with an optimistic transaction on the version.
func (r *RedisShared) Save(ctx context.Context, st *State, v int64) (bool, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return false, fmt.Errorf("encode shared state: %w", err)
	}
	stale := errors.New("stale")
	err = r.c.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := tx.Get(ctx, redisVersionKey).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if cur != v {
			return stale
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, redisStateKey, b, 0)
			p.Set(ctx, redisVersionKey, v+1, 0)
			return nil
		})
		return err
	}, redisVersionKey)
	switch {
	case errors.Is(err, stale), errors.Is(err, redis.TxFailedErr):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("write shared state: %w", err)
	}
	r.c.Publish(ctx, redisChannel, v+1) // the poll covers a lost message
	return true, nil
}

// Watch implements Shared: the channel's messages, and a poll of the
// version.
func (r *RedisShared) Watch(ctx context.Context, seen func(v int64)) {
	sub := r.c.Subscribe(ctx, redisChannel)
	defer sub.Close()
	msgs := sub.Channel()
	tick := time.NewTicker(redisPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if v, err := strconv.ParseInt(m.Payload, 10, 64); err == nil {
				seen(v)
			}
		case <-tick.C:
			if v, err := r.c.Get(ctx, redisVersionKey).Int64(); err == nil {
				seen(v)
			}
		}
	}
}
