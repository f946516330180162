package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/frontdeskgw/frontdesk/limiter"
	"github.com/frontdeskgw/frontdesk/registry"
)

// Level names a throttle level, for counters and metrics.
type Level uint8

// Throttle levels, in the order a request meets them.
const (
	LevelPlanRoute Level = iota // usage plan, per API key and route
	LevelPlan                   // usage plan, per API key
	LevelQuota                  // usage plan quota
	LevelRoute                  // the route's throttle, or the stage default
	numLevels
)

var levelNames = [numLevels]string{"plan_route", "plan", "quota", "route"}

func (l Level) String() string { return levelNames[l] }

// State is the throttle state that outlives snapshots: the registry of
// bucket sets, one per throttle by a stable identity, and of the key
// counters (quota counts and usage tallies), plus the process's refusal
// counters. A reload asks it, in its pending generation, for the buckets
// of each level; a throttle whose limits did not change gets the same
// buckets back, so an unchanged route keeps its state, and the sets a
// committed generation no longer names are dropped. The zero value is
// usable.
type State struct {
	// Shared, when set before first use, shares the buckets and quota
	// counters with other instances (cluster mode).
	Shared Shared

	once     sync.Once
	sets     *registry.Set[string, ThrottleSpec, *limiter.Set]
	counters *registry.Set[string, CountersSpec, *keyCounters]

	throttled [numLevels]atomic.Uint64
}

// Shared reconciles throttles and quotas with other instances. A set or
// counters table is attached when built and detached when dropped; the
// request path never calls it.
type Shared interface {
	AttachSet(id string, s *limiter.Set)
	DetachSet(s *limiter.Set)
	AttachQuotas(q *limiter.Quotas)
	DetachQuotas(q *limiter.Quotas)
	AttachUsage(u *limiter.Usage)
	DetachUsage(u *limiter.Usage)
}

// ThrottleSpec is what a bucket set is built from.
type ThrottleSpec struct {
	Limit   limiter.Limit
	MaxKeys int
}

// Check reports what limiter.NewSet would refuse in the spec.
func (t ThrottleSpec) Check() error {
	if err := t.Limit.Validate(); err != nil {
		return fmt.Errorf("new set: %w", err)
	}
	if t.MaxKeys < 0 {
		return fmt.Errorf("new set: max keys %d: must be at least 1", t.MaxKeys)
	}
	return nil
}

// CountersSpec is what the key counters are built from: each key's quota
// and every key tallied.
type CountersSpec struct {
	Quotas map[uint64]limiter.Quota
	Keys   []uint64
}

// Check reports what limiter.NewQuotas would refuse in the spec.
func (c CountersSpec) Check() error {
	for _, k := range slices.Sorted(maps.Keys(c.Quotas)) {
		if err := c.Quotas[k].Validate(); err != nil {
			return fmt.Errorf("new quotas: key %016x: %w", k, err)
		}
	}
	return nil
}

func (c CountersSpec) same(o CountersSpec) bool {
	return maps.Equal(c.Quotas, o.Quotas) && sameKeys(c.Keys, o.Keys)
}

func sameKeys(a, b []uint64) bool {
	in := make(map[uint64]bool, len(a))
	for _, k := range a {
		in[k] = true
	}
	if len(in) != len(b) {
		return false
	}
	for _, k := range b {
		if !in[k] {
			return false
		}
	}
	return true
}

type keyCounters struct {
	quotas *limiter.Quotas
	usage  *limiter.Usage
}

// countersKey is the one entry of the counters registry: every key of
// the config shares the tables.
const countersKey = "api keys"

// MaxKeysPerSet bounds the distinct clients (or keys) one throttle tracks;
// see docs/limiter.md for the bytes per key.
const MaxKeysPerSet = limiter.DefaultMaxKeys

func (s *State) init() {
	s.once.Do(func() {
		sets := registry.Hooks[string, ThrottleSpec, *limiter.Set]{
			Open: func(_ *registry.Gen, id string, t ThrottleSpec) (*limiter.Set, error) {
				set, err := limiter.NewSet(t.Limit, t.MaxKeys)
				if err == nil && s.Shared != nil {
					s.Shared.AttachSet(id, set)
				}
				return set, err
			},
		}
		counters := registry.Hooks[string, CountersSpec, *keyCounters]{
			Open:  s.openCounters,
			Equal: CountersSpec.same,
		}
		if s.Shared != nil {
			sets.Release = s.Shared.DetachSet
			counters.Release = func(c *keyCounters) {
				s.Shared.DetachQuotas(c.quotas)
				s.Shared.DetachUsage(c.usage)
			}
		}
		s.sets = registry.NewSet("throttle", sets)
		s.counters = registry.NewSet("key counters", counters)
	})
}

// openCounters builds counters for the spec's keys carrying the counts of
// the live ones, so a reload that changes keys or quotas keeps them.
func (s *State) openCounters(_ *registry.Gen, key string, spec CountersSpec) (*keyCounters, error) {
	q, err := limiter.NewQuotas(spec.Quotas)
	if err != nil {
		return nil, err
	}
	u := limiter.NewUsage(spec.Keys)
	if s.Shared != nil {
		// Counted in the shared counters: nothing local to carry (the
		// old tables add their last counts as they are released).
		s.Shared.AttachQuotas(q)
		s.Shared.AttachUsage(u)
		return &keyCounters{quotas: q, usage: u}, nil
	}
	if cur, ok := s.counters.Current(key); ok {
		q.Restore(cur.quotas.Snapshot())
		u.Restore(cur.usage.Snapshot())
	}
	return &keyCounters{quotas: q, usage: u}, nil
}

func (s *State) registries() (*registry.Set[string, ThrottleSpec, *limiter.Set], *registry.Set[string, CountersSpec, *keyCounters]) {
	if s == nil {
		return nil, nil
	}
	s.init()
	return s.sets, s.counters
}

// Join makes g reconcile the state on commit: the bucket sets g does not
// ask for are dropped.
func (s *State) Join(g *registry.Gen) {
	sets, counters := s.registries()
	sets.Join(g)
	counters.Join(g)
}

// set returns the bucket set for id in generation g, the live one when
// its limit is unchanged (nil when g resolves nothing).
func (s *State) set(g *registry.Gen, id string, l limiter.Limit, maxKeys int) (*limiter.Set, error) {
	sets, _ := s.registries()
	return sets.Get(g, id, ThrottleSpec{Limit: l, MaxKeys: maxKeys})
}

// keyState returns quota counters and usage tallies for the given keys
// in generation g, carrying the counts of keys that existed before.
func (s *State) keyState(g *registry.Gen, quotas map[uint64]limiter.Quota, keys []uint64) (*limiter.Quotas, *limiter.Usage, error) {
	_, counters := s.registries()
	c, err := counters.Get(g, countersKey, CountersSpec{Quotas: quotas, Keys: keys})
	if err != nil || c == nil {
		return nil, nil, err
	}
	return c.quotas, c.usage, nil
}

// Sets returns the live bucket sets by throttle identity.
func (s *State) Sets() map[string]*limiter.Set {
	sets, _ := s.registries()
	return sets.Live()
}

// Usage is the live usage tallies and quota counters (nil before the
// first commit).
func (s *State) Usage() (*limiter.Usage, *limiter.Quotas) {
	_, counters := s.registries()
	c, ok := counters.Current(countersKey)
	if !ok {
		return nil, nil
	}
	return c.usage, c.quotas
}

// Throttled returns the requests refused at each level since start.
func (s *State) Throttled() map[string]uint64 {
	out := make(map[string]uint64, numLevels)
	for l := Level(0); l < numLevels; l++ {
		out[l.String()] = s.throttled[l].Load()
	}
	return out
}
