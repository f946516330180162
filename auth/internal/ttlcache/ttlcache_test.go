package ttlcache

import (
	"fmt"
	"sync"
	"testing"
)

func TestGet(t *testing.T) {
	c := New[string](8)
	c.Put(1, []byte("token-a"), "a", 100, 0)
	tests := []struct {
		name string
		hash uint64
		key  string
		now  int64
		want string // "" = miss
	}{
		{"hit before the deadline", 1, "token-a", 99, "a"},
		{"miss at the deadline", 1, "token-a", 100, ""},
		{"same hash, other key is a miss", 1, "token-b", 50, ""},
		{"key prefix is a miss", 1, "token-", 50, ""},
		{"unknown hash", 2, "token-a", 50, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Get(tt.hash, []byte(tt.key), tt.now)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Get = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestPutCopiesTheKey(t *testing.T) {
	c := New[int](2)
	key := []byte("abc")
	c.Put(7, key, 1, 10, 0)
	key[0] = 'x'
	if _, ok := c.Get(7, []byte("abc"), 0); !ok {
		t.Fatal("entry lost after the caller reused its key buffer")
	}
}

func TestBoundIsHeld(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		expires int64 // of every entry; now is 50
	}{
		{"live entries evicted arbitrarily", 64, 1000},
		{"expired entries swept first", 64, 10},
		{"bound of one", 1, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[int](tt.max)
			for i := range 10 * tt.max {
				c.Put(uint64(i), []byte(fmt.Sprint(i)), i, tt.expires, 50)
				if n := c.Len(); n > tt.max {
					t.Fatalf("after %d puts the cache holds %d entries, bound %d", i+1, n, tt.max)
				}
			}
			last := 10*tt.max - 1
			if got, ok := c.Get(uint64(last), []byte(fmt.Sprint(last)), 0); !ok || got != last {
				t.Fatalf("the newest entry is missing")
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	c := New[int](32)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				h := uint64(g*1000 + i%50)
				c.Put(h, []byte{byte(g), byte(i % 50)}, i, 1<<62, 0)
				c.Get(h, []byte{byte(g), byte(i % 50)}, 0)
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 32 {
		t.Fatalf("cache holds %d entries, bound 32", n)
	}
}
