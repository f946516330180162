package cache

import "encoding/binary"

// Invalidation is one invalidation made on this instance, as other
// instances of a cluster need it to do the same: a whole-store flush, a
// namespace or route flush, or one refreshed entry. Entry keys travel
// without their generation (each instance has its own flush counts) and
// are given the receiver's on arrival.
type Invalidation struct {
	Kind       InvalidationKind `json:"kind"`
	API        string           `json:"api,omitempty"`
	Stage      string           `json:"stage,omitempty"`
	Route      string           `json:"route,omitempty"`
	LogicalKey []byte           `json:"key,omitempty"`
}

// InvalidationKind says what an Invalidation covers.
type InvalidationKind uint8

// Invalidation kinds.
const (
	InvalidateAll InvalidationKind = iota + 1
	InvalidateNamespace
	InvalidateRoute
	InvalidateEntry
)

// Announcer hears the invalidations made on this store (cluster mode);
// it must not block.
type Announcer func(Invalidation)

// announcer is kept beside the Store rather than in it, so a Store built
// by New needs no change; nil means a single instance.
type announcerBox struct{ fn Announcer }

// SetAnnouncer makes every flush, and every entry refreshed through
// Announce, reported to fn (nil stops it).
func (s *Store) SetAnnouncer(fn Announcer) {
	if fn == nil {
		s.announce.Store(nil)
		return
	}
	s.announce.Store(&announcerBox{fn})
}

func (s *Store) announceInv(inv Invalidation) {
	if b := s.announce.Load(); b != nil {
		b.fn(inv)
	}
}

// Announce reports that the entry under key (as KeyBuilder built it) was
// refreshed on this instance, so other instances drop their copy. Without
// an announcer it does nothing.
func (s *Store) Announce(key []byte) {
	b := s.announce.Load()
	if b == nil {
		return
	}
	if lk, ok := stripGeneration(key); ok {
		b.fn(Invalidation{Kind: InvalidateEntry, LogicalKey: lk})
	}
}

// Apply carries out an invalidation another instance made, without
// announcing it again.
func (s *Store) Apply(inv Invalidation) {
	switch inv.Kind {
	case InvalidateAll:
		_ = s.flushAll()
	case InvalidateNamespace:
		s.flushNamespace(inv.API, inv.Stage)
	case InvalidateRoute:
		s.flushRoute(inv.API, inv.Stage, inv.Route)
	case InvalidateEntry:
		api, stage, route, ok := splitPrefix(inv.LogicalKey)
		if !ok {
			return
		}
		s.nsMu.Lock()
		ns := s.namespaces[nsName{api, stage}]
		s.nsMu.Unlock()
		if ns == nil {
			return // never cached here
		}
		ns.mu.Lock()
		r := ns.routes[route]
		ns.mu.Unlock()
		if r == nil {
			return
		}
		n := len(r.prefix)
		key := make([]byte, 0, len(inv.LogicalKey)+8)
		key = append(key, inv.LogicalKey[:n]...)
		key = binary.LittleEndian.AppendUint64(key, r.generation())
		key = append(key, inv.LogicalKey[n:]...)
		s.Delete(key)
	}
}

// splitPrefix reads the api, stage and route a key starts with.
func splitPrefix(k []byte) (api, stage, route string, ok bool) {
	var f [3]string
	at := 0
	for i := range f {
		n, w := binary.Uvarint(k[at:])
		if w <= 0 || uint64(len(k)-at-w) < n {
			return "", "", "", false
		}
		at += w
		f[i] = string(k[at : at+int(n)])
		at += int(n)
	}
	return f[0], f[1], f[2], true
}

// stripGeneration removes the 8-byte generation that follows the prefix.
func stripGeneration(key []byte) ([]byte, bool) {
	at := 0
	for range 3 {
		n, w := binary.Uvarint(key[at:])
		if w <= 0 || uint64(len(key)-at-w) < n {
			return nil, false
		}
		at += w + int(n)
	}
	if len(key) < at+8 {
		return nil, false
	}
	out := make([]byte, 0, len(key)-8)
	out = append(out, key[:at]...)
	return append(out, key[at+8:]...), true
}
