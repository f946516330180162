package pipeline

import (
	"sync"
	"sync/atomic"

	"github.com/frontdeskgw/frontdesk/limiter"
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

// State is the throttle state that outlives snapshots: buckets, quota
// counters and usage tallies. A reload asks it for the buckets of each
// level by a stable identity; one whose limits did not change gets the
// same buckets back, so an unchanged route keeps its state.
type State struct {
	mu      sync.Mutex
	sets    map[string]*setEntry
	usage   *limiter.Usage
	quotas  *limiter.Quotas
	quotaOf map[uint64]limiter.Quota

	throttled [numLevels]atomic.Uint64
}

type setEntry struct {
	limit   limiter.Limit
	maxKeys int
	set     *limiter.Set
	used    bool
}

// MaxKeysPerSet bounds the distinct clients (or keys) one throttle tracks;
// see docs/limiter.md for the bytes per key.
const MaxKeysPerSet = limiter.DefaultMaxKeys

// set returns the bucket set for id, reusing the current one when its
// limit is unchanged.
func (s *State) set(id string, l limiter.Limit, maxKeys int) (*limiter.Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sets == nil {
		s.sets = map[string]*setEntry{}
	}
	if e := s.sets[id]; e != nil && e.limit == l && e.maxKeys == maxKeys {
		e.used = true
		return e.set, nil
	}
	set, err := limiter.NewSet(l, maxKeys)
	if err != nil {
		return nil, err
	}
	s.sets[id] = &setEntry{limit: l, maxKeys: maxKeys, set: set, used: true}
	return set, nil
}

// BeginCompile marks every set unused; Sweep drops the ones the new
// snapshot did not ask for.
func (s *State) BeginCompile() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.sets {
		e.used = false
	}
}

// Sweep forgets sets no snapshot uses any more.
func (s *State) Sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.sets {
		if !e.used {
			delete(s.sets, id)
		}
	}
}

// keyState returns quota counters and usage tallies for the given keys,
// carrying the counts of keys that existed before.
func (s *State) keyState(quotas map[uint64]limiter.Quota, keys []uint64) (*limiter.Quotas, *limiter.Usage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.quotas != nil && sameQuotas(s.quotaOf, quotas) && s.usage != nil && sameKeys(s.usage, keys) {
		return s.quotas, s.usage, nil
	}
	q, err := limiter.NewQuotas(quotas)
	if err != nil {
		return nil, nil, err
	}
	u := limiter.NewUsage(keys)
	if s.quotas != nil {
		q.Restore(s.quotas.Snapshot())
	}
	if s.usage != nil {
		u.Restore(s.usage.Snapshot())
	}
	s.quotas, s.usage, s.quotaOf = q, u, quotas
	return q, u, nil
}

func sameQuotas(a, b map[uint64]limiter.Quota) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameKeys(u *limiter.Usage, keys []uint64) bool {
	snap := u.Snapshot()
	if len(snap) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := snap[k]; !ok {
			return false
		}
	}
	return true
}

// Throttled returns the requests refused at each level since start.
func (s *State) Throttled() map[string]uint64 {
	out := make(map[string]uint64, numLevels)
	for l := Level(0); l < numLevels; l++ {
		out[l.String()] = s.throttled[l].Load()
	}
	return out
}

// Usage is the current usage tallies and quota counters.
func (s *State) Usage() (*limiter.Usage, *limiter.Quotas) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage, s.quotas
}
