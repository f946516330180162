// Package registry keeps the long-lived resources of a gateway — upstream
// pools and their health checks, throttle buckets and key counters,
// authorizers with their key and decision caches, functions, WebSocket
// bridges — across config reloads, with one life cycle for all of them:
// prepare, then commit or abort.
//
// A Set holds the live entries of one kind, each a resource built from a
// spec and found by a key. A reload opens a Gen, a pending generation, and
// asks each Set (Get) for what the new config names. An entry whose spec is
// unchanged hands out the live resource, so its state is kept; a new or
// changed one is opened for the generation, without becoming live and
// without touching what serves now. Commit then reconciles every Set the
// generation joined: its entries become the live ones, the live entries it
// no longer names or replaced are released, and the ones it opened are
// activated. Abort discards what the generation opened and leaves every
// Set as it was, so a refused reload changes nothing.
//
// A dry Gen (DryGen) opens nothing: every Get answers the zero resource
// after checking the spec, and only records the need. A nil Set resolves
// nothing in the same way. Either way Needs lists what was asked for.
//
// A Set holds exactly the entries of the last committed generation: its
// size is bounded by the config in use. Nothing here is on the request
// path; what is compiled from a generation holds the resources themselves.
package registry

import (
	"fmt"
	"reflect"
	"sync"
)

// Need is one thing a generation asked for: the key and spec given to a
// Set's Get. The spec's type says which registry it is for.
type Need struct {
	Key  any
	Spec any
}

// Checker is a spec that can be checked without opening its resource; a
// dry Get (and a Get on a nil Set) calls it.
type Checker interface {
	Check() error
}

// Hooks say how a Set builds and ends its resources.
type Hooks[K comparable, S, R any] struct {
	// Open builds the resource of a new or changed entry for generation
	// g, which it may ask for what the resource depends on. It must not
	// change what serves now. A Set without Open resolves nothing.
	Open func(g *Gen, key K, spec S) (R, error)
	// Equal reports whether an entry built from spec a serves spec b
	// unchanged (reflect.DeepEqual when nil).
	Equal func(a, b S) bool
	// Activate runs on commit for every resource the generation opened,
	// once it is live (optional).
	Activate func(R)
	// Release ends a live resource the committed generation no longer
	// names or replaced. Requests that started before the commit may
	// still be using it (optional).
	Release func(R)
	// Replace, when set, runs on commit in place of Release(old) and
	// Activate(r) for an entry the generation replaced: for resources
	// that hand over to their successor rather than end.
	Replace func(old, r R)
	// Discard ends a resource that never became live (an aborted
	// generation) and every live one at Close (Release when nil).
	Discard func(R)
	// LastWins lets one generation ask for a key again with another
	// spec: the later spec replaces the earlier. Without it that is an
	// error.
	LastWins bool
}

// Set is the registry of one kind of resource. Its methods are safe for
// concurrent use; generations are prepared and committed one at a time.
type Set[K comparable, S, R any] struct {
	name  string
	hooks Hooks[K, S, R]

	mu      sync.Mutex
	live    map[K]entry[S, R]
	version uint64 // commits so far: a generation prepared over an older one must not commit
}

type entry[S, R any] struct {
	spec S
	res  R
}

// NewSet returns an empty Set; name appears in its errors.
func NewSet[K comparable, S, R any](name string, h Hooks[K, S, R]) *Set[K, S, R] {
	return &Set[K, S, R]{name: name, hooks: h}
}

func (s *Set[K, S, R]) equal(a, b S) bool {
	if s.hooks.Equal != nil {
		return s.hooks.Equal(a, b)
	}
	return reflect.DeepEqual(a, b)
}

func (s *Set[K, S, R]) release(r R) {
	if s.hooks.Release != nil {
		s.hooks.Release(r)
	}
}

func (s *Set[K, S, R]) discard(r R) {
	if s.hooks.Discard != nil {
		s.hooks.Discard(r)
		return
	}
	s.release(r)
}

// Resolves reports whether Get in g opens resources: false for a dry
// generation, a nil Set and a Set without Open, whose Get answers the
// zero resource.
func (s *Set[K, S, R]) Resolves(g *Gen) bool {
	return s != nil && s.hooks.Open != nil && g != nil && !g.dry
}

// Join makes g reconcile s on commit even if it asks s for nothing (then
// every live entry is released).
func (s *Set[K, S, R]) Join(g *Gen) {
	if s.Resolves(g) {
		_ = s.part(g) // nil when g is finished: nothing to join
	}
}

// Get returns the resource for key in generation g: the live one when its
// spec is unchanged, else one opened for g. What it opens becomes live at
// g.Commit and is discarded at g.Abort.
func (s *Set[K, S, R]) Get(g *Gen, key K, spec S) (R, error) {
	var zero R
	if g != nil {
		g.note(reflect.TypeFor[S](), key, spec)
	}
	if !s.Resolves(g) {
		if c, ok := any(spec).(Checker); ok {
			return zero, c.Check()
		}
		return zero, nil
	}
	p := s.part(g)
	if p == nil {
		return zero, fmt.Errorf("%s %v: asked for in a generation already committed or aborted", s.name, key)
	}
	if e, ok := p.next[key]; ok {
		if s.equal(e.spec, spec) {
			return e.res, nil
		}
		if !s.hooks.LastWins {
			return zero, fmt.Errorf("%s %v: asked for twice with different specs", s.name, key)
		}
		if r, opened := p.opened[key]; opened {
			delete(p.opened, key)
			s.discard(r)
		}
		delete(p.next, key)
	}
	if cur, ok := s.current(key); ok && s.equal(cur.spec, spec) {
		p.next[key] = cur
		return cur.res, nil
	}
	// Open runs without the lock: it may ask other Sets, or this one's
	// Current, for what the resource depends on.
	r, err := s.hooks.Open(g, key, spec)
	if err != nil {
		return zero, err
	}
	p.next[key] = entry[S, R]{spec: spec, res: r}
	p.opened[key] = r
	return r, nil
}

// Current returns the live resource of key: what an Open may carry state
// over from.
func (s *Set[K, S, R]) Current(key K) (R, bool) {
	e, ok := s.current(key)
	return e.res, ok
}

func (s *Set[K, S, R]) current(key K) (entry[S, R], bool) {
	if s == nil {
		return entry[S, R]{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live[key]
	return e, ok
}

// Live returns the live resources by key.
func (s *Set[K, S, R]) Live() map[K]R {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[K]R, len(s.live))
	for k, e := range s.live {
		out[k] = e.res
	}
	return out
}

// Len is the number of live entries.
func (s *Set[K, S, R]) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// Close discards every live entry (shutdown). A generation prepared
// before cannot commit.
func (s *Set[K, S, R]) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	live := s.live
	s.live = nil
	s.version++
	s.mu.Unlock()
	for _, e := range live {
		s.discard(e.res)
	}
}

// part returns g's pending state of s, creating it on first use; nil once
// g is committed or aborted.
func (s *Set[K, S, R]) part(g *Gen) *pending[K, S, R] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return nil
	}
	if p, ok := g.parts[s]; ok {
		return p.(*pending[K, S, R])
	}
	s.mu.Lock()
	base := s.version
	s.mu.Unlock()
	p := &pending[K, S, R]{set: s, base: base, next: map[K]entry[S, R]{}, opened: map[K]R{}}
	if g.parts == nil {
		g.parts = map[any]part{}
	}
	g.parts[s] = p
	g.order = append(g.order, p)
	return p
}

// pending is one generation's next state of one Set.
type pending[K comparable, S, R any] struct {
	set    *Set[K, S, R]
	base   uint64
	next   map[K]entry[S, R]
	opened map[K]R // resources opened for the generation, by key
}

func (p *pending[K, S, R]) commit() {
	s := p.set
	s.mu.Lock()
	if s.version != p.base {
		s.mu.Unlock()
		panic(fmt.Sprintf("registry %s: a generation prepared over an older one was committed", s.name))
	}
	old := s.live
	s.live = p.next
	s.version++
	s.mu.Unlock()
	handedOver := map[K]bool{}
	for k, e := range old {
		n, kept := p.next[k]
		_, replaced := p.opened[k]
		switch {
		case replaced && s.hooks.Replace != nil:
			s.hooks.Replace(e.res, n.res)
			handedOver[k] = true
		case replaced || !kept:
			s.release(e.res)
		}
	}
	if s.hooks.Activate != nil {
		for k, r := range p.opened {
			if !handedOver[k] {
				s.hooks.Activate(r)
			}
		}
	}
}

func (p *pending[K, S, R]) abort() {
	for _, r := range p.opened {
		p.set.discard(r)
	}
}

type part interface {
	commit()
	abort()
}

// Gen is a pending generation of the Sets it joined or was asked from.
type Gen struct {
	dry bool

	mu    sync.Mutex
	parts map[any]part
	order []part
	needs []Need
	asked map[needKey]int // index in needs
	done  bool
}

type needKey struct {
	spec reflect.Type
	key  any
}

// NewGen returns a pending generation.
func NewGen() *Gen { return &Gen{} }

// DryGen returns a generation that opens nothing: it records what is
// asked for, checks specs, and cannot commit anything.
func DryGen() *Gen { return &Gen{dry: true} }

// Dry reports whether g opens nothing.
func (g *Gen) Dry() bool { return g == nil || g.dry }

func (g *Gen) note(spec reflect.Type, key, s any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := needKey{spec, key}
	if i, ok := g.asked[k]; ok {
		g.needs[i].Spec = s
		return
	}
	if g.asked == nil {
		g.asked = map[needKey]int{}
	}
	g.asked[k] = len(g.needs)
	g.needs = append(g.needs, Need{Key: key, Spec: s})
}

// Needs lists what g was asked for, each key once (with its last spec),
// in the order first asked.
func (g *Gen) Needs() []Need {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Need(nil), g.needs...)
}

// Commit makes g live in every Set it joined or was asked from, in the
// order they joined: each Set releases what g no longer names or replaced,
// then activates what g opened. It does nothing after Commit or Abort.
func (g *Gen) Commit() {
	for _, p := range g.finish() {
		p.commit()
	}
}

// Abort discards everything g opened, in the order the Sets joined, and
// leaves every Set as it was. It does nothing after Commit or Abort.
func (g *Gen) Abort() {
	for _, p := range g.finish() {
		p.abort()
	}
}

func (g *Gen) finish() []part {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return nil
	}
	g.done = true
	return g.order
}
