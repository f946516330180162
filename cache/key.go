package cache

import (
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

// nsName identifies a namespace: one stage of one API.
type nsName struct{ api, stage string }

// Namespace is the invalidation scope of one (api, stage). Flushing it
// changes the key of every route under it in O(1).
type Namespace struct {
	store      *Store
	api, stage string
	gen        atomic.Uint64

	mu     sync.Mutex
	routes map[string]*RouteSpace
}

// RouteSpace is the key space of one route of a namespace: the starting
// point of its keys and its flush generation (the invalidation scope). The
// gateway resolves it once per configured route and keeps it; a RouteSpace
// is safe for concurrent use.
type RouteSpace struct {
	ns   *Namespace
	name string
	gen  atomic.Uint64
	// prefix is the length-prefixed api, stage and route, fixed for the
	// route's life so each key starts with one copy.
	prefix []byte
}

// Namespace returns the namespace of (api, stage), creating it on first use.
// Calling it again with the same names returns the same Namespace, so a
// configuration reload keeps generations, and with them flushes.
func (s *Store) Namespace(api, stage string) *Namespace {
	s.nsMu.Lock()
	defer s.nsMu.Unlock()
	name := nsName{api, stage}
	ns := s.namespaces[name]
	if ns == nil {
		ns = &Namespace{store: s, api: api, stage: stage, routes: make(map[string]*RouteSpace)}
		s.namespaces[name] = ns
	}
	return ns
}

// Route returns the key space of the named route of n (for example
// "GET /pets"), creating it on first use.
func (n *Namespace) Route(route string) *RouteSpace {
	n.mu.Lock()
	defer n.mu.Unlock()
	r := n.routes[route]
	if r == nil {
		prefix := appendField(nil, n.api)
		prefix = appendField(prefix, n.stage)
		prefix = appendField(prefix, route)
		r = &RouteSpace{ns: n, name: route, prefix: prefix}
		n.routes[route] = r
	}
	return r
}

// Flush invalidates every entry of the namespace.
func (n *Namespace) Flush() { n.gen.Add(1) }

// Flush invalidates every entry of the route.
func (r *RouteSpace) Flush() { r.gen.Add(1) }

// FlushNamespace invalidates every entry of (api, stage) and reports whether
// that namespace exists; one that was never used has nothing to flush.
func (s *Store) FlushNamespace(api, stage string) bool {
	ok := s.flushNamespace(api, stage)
	if ok {
		s.announceInv(Invalidation{Kind: InvalidateNamespace, API: api, Stage: stage})
	}
	return ok
}

func (s *Store) flushNamespace(api, stage string) bool {
	s.nsMu.Lock()
	ns := s.namespaces[nsName{api, stage}]
	s.nsMu.Unlock()
	if ns == nil {
		return false
	}
	ns.Flush()
	return true
}

// FlushRoute invalidates every entry of one route of (api, stage) and reports
// whether that route exists.
func (s *Store) FlushRoute(api, stage, route string) bool {
	ok := s.flushRoute(api, stage, route)
	if ok {
		s.announceInv(Invalidation{Kind: InvalidateRoute, API: api, Stage: stage, Route: route})
	}
	return ok
}

func (s *Store) flushRoute(api, stage, route string) bool {
	s.nsMu.Lock()
	ns := s.namespaces[nsName{api, stage}]
	s.nsMu.Unlock()
	if ns == nil {
		return false
	}
	ns.mu.Lock()
	r := ns.routes[route]
	ns.mu.Unlock()
	if r == nil {
		return false
	}
	r.Flush()
	return true
}

// generation is the route's current key generation. Each of the three
// counters only ever grows and any flush grows one of them, so their sum
// grows with every flush that concerns the route and never returns to an
// earlier value: one number in the key stands for all three.
func (r *RouteSpace) generation() uint64 {
	return r.ns.store.gen.Load() + r.ns.gen.Load() + r.gen.Load()
}

// KeyBuilder builds logical cache keys into a reused buffer. Use one per
// worker; it is not safe for concurrent use.
//
// Layout: uvarint-length-prefixed api, stage and route; the 8-byte
// generation; the length-prefixed method; 0x00, or 0x01 and the
// length-prefixed, lower-cased Host; then, per key parameter, the
// length-prefixed name and either 0x00 (absent) or 0x01 and the
// length-prefixed value. Every variable field carries its length, so no two
// different inputs produce the same key whatever bytes they contain.
type KeyBuilder struct {
	buf []byte
}

// Begin starts a key for a request to route r with the given method. ANY
// routes serve several methods, so the method is always part of the key.
func (k *KeyBuilder) Begin(r *RouteSpace, method []byte) {
	k.buf = append(k.buf[:0], r.prefix...)
	k.buf = binary.LittleEndian.AppendUint64(k.buf, r.generation())
	k.buf = appendField(k.buf, method)
	k.buf = append(k.buf, 0) // no Host, until Host says otherwise
}

// Host adds the request's Host, compared without case, to a key begun
// with Begin; call it before any parameter. Routes of APIs that answer
// any Host use it: their upstream sees the client's Host, so two Hosts
// may get two different answers.
func (k *KeyBuilder) Host(host []byte) {
	k.buf[len(k.buf)-1] = 1
	k.buf = binary.AppendUvarint(k.buf, uint64(len(host)))
	at := len(k.buf)
	k.buf = append(k.buf, host...)
	for i := at; i < len(k.buf); i++ {
		k.buf[i] = ascii.Lower(k.buf[i])
	}
}

// Param adds a key parameter that is present in the request (possibly with an
// empty value). Parameters must be added in the route's configured order.
// The name is part of the key so that a reload which reorders or renames key
// parameters never reads entries stored under the old meaning.
func (k *KeyBuilder) Param(name string, value []byte) {
	k.buf = appendField(k.buf, name)
	k.buf = append(k.buf, 1)
	k.buf = appendField(k.buf, value)
}

// Absent adds a key parameter missing from the request, which is distinct
// from one present with an empty value.
func (k *KeyBuilder) Absent(name string) {
	k.buf = appendField(k.buf, name)
	k.buf = append(k.buf, 0)
}

// Bytes returns the key. It aliases the builder's buffer and is valid until
// the next Begin.
func (k *KeyBuilder) Bytes() []byte { return k.buf }

func appendField[T string | []byte](b []byte, v T) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}
