// Package ttlcache is the small bounded cache behind the authorizers'
// result caches: entries are found by a 64-bit hash of their key, expire at
// a deadline, and the cache never holds more than its bound.
//
// The full key is stored beside the value and compared on every hit:
// xxhash is not collision resistant, so a caller who crafts a token or
// identity with the same hash as someone else's must get a miss, not their
// authorization. The comparison need not be constant-time: reaching it
// with someone else's entry already takes a hash match on their secret,
// which is what the comparison exists to make worthless.
//
// Hot path: Get takes a read lock, one map lookup and one comparison; it
// does not allocate.
package ttlcache

import (
	"bytes"
	"sync"
)

type entry[V any] struct {
	key     []byte
	val     V
	expires int64 // unix nanoseconds
}

// Cache maps hashed keys to values until their deadline. The zero value is
// not usable; call New.
type Cache[V any] struct {
	mu  sync.RWMutex
	max int
	m   map[uint64]entry[V]
}

// New returns a cache holding at most limit entries (at least one).
func New[V any](limit int) *Cache[V] {
	limit = max(limit, 1)
	return &Cache[V]{max: limit, m: make(map[uint64]entry[V], min(limit, 1024))}
}

// Get returns the value stored under hash h for exactly key, if it has not
// expired at now (unix nanoseconds).
func (c *Cache[V]) Get(h uint64, key []byte, now int64) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[h]
	c.mu.RUnlock()
	if !ok || now >= e.expires || !bytes.Equal(e.key, key) {
		var zero V
		return zero, false
	}
	return e.val, true
}

// Put stores val under hash h and a copy of key until expires (unix
// nanoseconds). A full cache first drops expired entries and, when that
// frees less than a sixteenth of it, arbitrary ones: eviction is rare and
// amortised instead of an LRU list touched on every hit.
func (c *Cache[V]) Put(h uint64, key []byte, val V, expires, now int64) {
	e := entry[V]{key: append([]byte(nil), key...), val: val, expires: expires}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[h]; !ok && len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[h] = e
}

// evict makes room; the caller holds the write lock.
func (c *Cache[V]) evict(now int64) {
	for h, e := range c.m {
		if now >= e.expires {
			delete(c.m, h)
		}
	}
	target := c.max - max(c.max/16, 1)
	for h := range c.m {
		if len(c.m) <= target {
			break
		}
		delete(c.m, h) // map order is unspecified: an arbitrary victim
	}
}

// Len reports how many entries are stored, expired ones included.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
