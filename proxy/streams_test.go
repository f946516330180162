package proxy

import (
	"fmt"
	"hash/maphash"
	"sync"
	"testing"
)

func TestClientStreamsCapEachClient(t *testing.T) {
	c := NewClientStreams(2)
	a, b := []byte("198.51.100.1"), []byte("198.51.100.2")
	s1, ok1 := c.Acquire(a)
	s2, ok2 := c.Acquire(a)
	if !ok1 || !ok2 || s1 == 0 || s1 != s2 {
		t.Fatalf("first two streams: %v %v, slots %d %d", ok1, ok2, s1, s2)
	}
	if _, ok := c.Acquire(a); ok {
		t.Error("a third stream of one client admitted")
	}
	if _, ok := c.Acquire(b); !ok {
		t.Error("another client refused")
	}
	c.Release(s1)
	if _, ok := c.Acquire(a); !ok {
		t.Error("a released slot was not given back")
	}
	c.SetMax(0)
	for i := 0; i < 10; i++ {
		if s, ok := c.Acquire(a); !ok || s != 0 {
			t.Fatalf("no cap: slot %d, ok %v", s, ok)
		}
	}
	c.Release(0) // nothing counted, nothing to give back
	if n := c.Open(); n != 3 {
		t.Errorf("%d streams counted, want 3", n)
	}
}

// The table never holds more than maxClientsPerShard clients a shard; a
// client that finds its shard full is let through uncounted.
func TestClientStreamsTableIsBounded(t *testing.T) {
	c := NewClientStreams(1)
	var full []byte
	inShard := 0
	for i := 0; full == nil && i < 64*maxClientsPerShard*4; i++ {
		addr := []byte(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if (maphash.Bytes(c.seed, addr)|1)>>58 != 0 {
			continue
		}
		if inShard == maxClientsPerShard {
			full = addr
			break
		}
		if _, ok := c.Acquire(addr); !ok {
			t.Fatalf("client %s refused", addr)
		}
		inShard++
	}
	if full == nil {
		t.Fatal("no address found for a full shard")
	}
	for i := 0; i < 3; i++ {
		if s, ok := c.Acquire(full); !ok || s != 0 {
			t.Fatalf("a client of a full shard: slot %d, ok %v; want let through uncounted", s, ok)
		}
	}
	if n := len(c.shards[0].count); n != maxClientsPerShard {
		t.Errorf("shard holds %d clients", n)
	}
}

func TestClientStreamsConcurrentAcquireAndRelease(t *testing.T) {
	c := NewClientStreams(3)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := []byte(fmt.Sprintf("192.0.2.%d", w%4))
			for i := 0; i < 2000; i++ {
				if s, ok := c.Acquire(addr); ok {
					c.Release(s)
				}
			}
		}()
	}
	wg.Wait()
	if n := c.Open(); n != 0 {
		t.Errorf("%d streams left counted", n)
	}
}

func TestClientStreamsAllocateNothing(t *testing.T) {
	c := NewClientStreams(4)
	addr := []byte("198.51.100.9")
	if n := testing.AllocsPerRun(100, func() {
		s, _ := c.Acquire(addr)
		c.Release(s)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
