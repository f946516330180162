package proxy

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Bounds of ClientStreams' table: a client is tracked while it holds at
// least one stream, in one of streamShards shards of at most
// maxClientsPerShard clients each (262,144 clients in all, about 40 bytes
// each).
const (
	streamShards       = 64
	maxClientsPerShard = 4096
)

// ClientStreams caps the streamed upstream responses one client address
// holds open at once. Large and unsized bodies stream to the client as it
// reads them, each holding a connection to the origin; without a cap one
// client that reads slowly, or not at all, could hold them all.
//
// Clients are counted under a 64-bit seeded hash of their address in a
// sharded table; a slot names the count to give back, so releasing needs
// no copy of the address. Safe for concurrent use; nothing allocates once
// a shard's map has grown to its working size.
type ClientStreams struct {
	max    atomic.Int64 // 0: no cap
	seed   maphash.Seed
	shards [streamShards]streamShard
}

type streamShard struct {
	mu    sync.Mutex
	count map[uint64]int32
	_     [40]byte // keeps neighbouring shards' locks off one cache line
}

// NewClientStreams returns a table capping each client at max streams
// (0: no cap).
func NewClientStreams(max int) *ClientStreams {
	c := &ClientStreams{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].count = map[uint64]int32{}
	}
	c.SetMax(max)
	return c
}

// SetMax changes the cap (0: no cap); streams open now keep their slots.
func (c *ClientStreams) SetMax(max int) { c.max.Store(int64(max)) }

// Acquire counts one more stream for client. It returns the slot to
// Release when the stream closes (0: nothing was counted, nothing to
// release), or false when client already holds the most it may. A client
// that finds its shard full is let through uncounted: the table's bound
// wins over the cap, and the origin's connection limit still holds.
func (c *ClientStreams) Acquire(client []byte) (slot uint64, ok bool) {
	max := c.max.Load()
	if max <= 0 {
		return 0, true
	}
	h := maphash.Bytes(c.seed, client) | 1 // 0 means "not counted"
	s := &c.shards[h>>58]
	s.mu.Lock()
	defer s.mu.Unlock()
	n, found := s.count[h]
	switch {
	case int64(n) >= max:
		return 0, false
	case !found && len(s.count) >= maxClientsPerShard:
		return 0, true
	}
	s.count[h] = n + 1
	return h, true
}

// Release gives back a slot Acquire returned.
func (c *ClientStreams) Release(slot uint64) {
	if slot == 0 {
		return
	}
	s := &c.shards[slot>>58]
	s.mu.Lock()
	if n := s.count[slot]; n > 1 {
		s.count[slot] = n - 1
	} else {
		delete(s.count, slot)
	}
	s.mu.Unlock()
}

// Open is the number of streams counted now, for tests and metrics.
func (c *ClientStreams) Open() int {
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for _, n := range s.count {
			total += int(n)
		}
		s.mu.Unlock()
	}
	return total
}
