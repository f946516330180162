package wsbridge

import "sync"

// registryShards spreads the connection map over several locks so that
// connects, disconnects and @connections look-ups on different ids do not
// contend.
const registryShards = 64

type registry struct {
	shards [registryShards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*conn
	_  [32]byte // keep neighbouring shard locks off one cache line
}

func newRegistry() *registry {
	r := &registry{}
	for i := range r.shards {
		r.shards[i].m = make(map[string]*conn)
	}
	return r
}

// shardOf hashes the id with FNV-1a; ids are random, so any mix will do.
func (r *registry) shardOf(id string) *shard {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return &r.shards[h%registryShards]
}

// add registers c unless its id is taken, and reports whether it did.
func (r *registry) add(c *conn) bool {
	s := r.shardOf(c.id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.m[c.id]; dup {
		return false
	}
	s.m[c.id] = c
	return true
}

func (r *registry) get(id string) *conn {
	s := r.shardOf(id)
	s.mu.RLock()
	c := s.m[id]
	s.mu.RUnlock()
	return c
}

func (r *registry) remove(id string) {
	s := r.shardOf(id)
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// each calls f for every registered connection, one shard at a time,
// without holding a shard lock while f runs.
func (r *registry) each(f func(*conn)) {
	var batch []*conn
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.RLock()
		batch = batch[:0]
		for _, c := range s.m {
			batch = append(batch, c)
		}
		s.mu.RUnlock()
		for _, c := range batch {
			f(c)
		}
	}
}
