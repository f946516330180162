package server

import (
	"reflect"
	"sync"
)

// liveSet holds long-lived resources built from config entries (running
// functions, WebSocket bridges) across reloads. A reload prepares the next
// set without touching the live one — entries whose config is unchanged
// keep their resource, changed and new ones get a fresh one — and then
// either commits it or aborts it, so a refused reload leaves the running
// resources exactly as they were.
type liveSet[C, R any] struct {
	mu   sync.Mutex
	live map[string]liveEntry[C, R]
}

type liveEntry[C, R any] struct {
	cfg C
	res R
}

// livePlan is a prepared next set.
type livePlan[C, R any] struct {
	set     *liveSet[C, R]
	next    map[string]liveEntry[C, R]
	started []R
}

// prepare builds the next set for want, starting a resource for every
// entry whose config is new or changed. On failure what it started is
// stopped again.
func (s *liveSet[C, R]) prepare(want map[string]C, start func(name string, cfg C) (R, error), stop func(R)) (*livePlan[C, R], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &livePlan[C, R]{set: s, next: make(map[string]liveEntry[C, R], len(want))}
	for name, cfg := range want {
		if cur, ok := s.live[name]; ok && reflect.DeepEqual(cur.cfg, cfg) {
			p.next[name] = cur
			continue
		}
		res, err := start(name, cfg)
		if err != nil {
			p.abort(stop)
			return nil, err
		}
		p.started = append(p.started, res)
		p.next[name] = liveEntry[C, R]{cfg: cfg, res: res}
	}
	return p, nil
}

// resources are the plan's resources by name.
func (p *livePlan[C, R]) resources() map[string]R { return resourcesOf(p.next) }

// commit makes the plan live and returns the resources it replaced, for
// the caller to stop when requests no longer use them.
func (p *livePlan[C, R]) commit() (replaced []R) {
	s := p.set
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, cur := range s.live {
		if next, ok := p.next[name]; !ok || !reflect.DeepEqual(next.cfg, cur.cfg) {
			replaced = append(replaced, cur.res)
		}
	}
	s.live = p.next
	return replaced
}

// abort stops what the plan started; the live set is untouched.
func (p *livePlan[C, R]) abort(stop func(R)) {
	for _, r := range p.started {
		stop(r)
	}
	p.started = nil
}

// all returns the live resources by name.
func (s *liveSet[C, R]) all() map[string]R {
	s.mu.Lock()
	defer s.mu.Unlock()
	return resourcesOf(s.live)
}

func resourcesOf[C, R any](entries map[string]liveEntry[C, R]) map[string]R {
	out := make(map[string]R, len(entries))
	for name, e := range entries {
		out[name] = e.res
	}
	return out
}

// clear empties the set and returns what was live (shutdown).
func (s *liveSet[C, R]) clear() []R {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]R, 0, len(s.live))
	for _, e := range s.live {
		out = append(out, e.res)
	}
	s.live = nil
	return out
}
