package limiter

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustSet(t testing.TB, l Limit, maxKeys int) *Set {
	t.Helper()
	s, err := NewSet(l, maxKeys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// present reports whether key has a bucket in s.
func (s *Set) present(key uint64) bool {
	sh := &s.shards[key&s.mask]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.find(key) != nil
}

// checkTables verifies every shard's table: counts match, every stored key
// is found where it sits, and the bounds hold.
func checkTables(t *testing.T, s *Set) {
	t.Helper()
	for si := range s.shards {
		sh := &s.shards[si]
		n := 0
		for i := range sh.slots {
			k := sh.slots[i].key
			if k == 0 {
				continue
			}
			n++
			if k&s.mask != uint64(si) {
				t.Fatalf("shard %d holds key %x of shard %d", si, k, k&s.mask)
			}
			if got := sh.find(k); got != &sh.slots[i] {
				t.Fatalf("shard %d: key %x at slot %d is not found there", si, k, i)
			}
		}
		if n != sh.count {
			t.Fatalf("shard %d: count %d, %d slots used", si, sh.count, n)
		}
		if sh.count > sh.capacity || len(sh.slots) > sh.maxSlots || sh.count >= len(sh.slots) {
			t.Fatalf("shard %d: count %d, capacity %d, slots %d, max slots %d", si, sh.count, sh.capacity, len(sh.slots), sh.maxSlots)
		}
	}
}

func TestNewSetSplitsMaxKeysAcrossShards(t *testing.T) {
	tests := []struct {
		maxKeys    int
		wantShards int
		wantMax    int
	}{
		{maxKeys: 1, wantShards: 1, wantMax: 1},
		{maxKeys: 127, wantShards: 1, wantMax: 127},
		{maxKeys: 128, wantShards: 2, wantMax: 128},
		{maxKeys: 1000, wantShards: 8, wantMax: 1000},
		{maxKeys: 100_001, wantShards: 64, wantMax: 100_001},
		{maxKeys: 0, wantShards: 64, wantMax: DefaultMaxKeys},
	}
	for _, tt := range tests {
		s := mustSet(t, Limit{Rate: 1, Burst: 1}, tt.maxKeys)
		total := 0
		for i := range s.shards {
			total += s.shards[i].capacity
		}
		if len(s.shards) != tt.wantShards || total != tt.wantMax {
			t.Errorf("maxKeys %d: %d shards holding %d keys, want %d holding %d", tt.maxKeys, len(s.shards), total, tt.wantShards, tt.wantMax)
		}
	}
	if _, err := NewSet(Limit{Rate: 1, Burst: 1}, -1); err == nil {
		t.Error("negative max keys accepted")
	}
}

func TestSetDecidesLikeOneBucketPerKey(t *testing.T) {
	l := Limit{Rate: 20, Burst: 4}
	s := mustSet(t, l, 0)
	buckets := map[uint64]*Bucket{}
	rng := rand.New(rand.NewPCG(1, 2))
	now := int64(0)
	for i := range 20_000 {
		key := uint64(rng.IntN(300)) + 1
		b := buckets[key]
		if b == nil {
			var err error
			if b, err = NewBucket(l); err != nil {
				t.Fatal(err)
			}
			buckets[key] = b
		}
		now += rng.Int64N(int64(time.Millisecond))
		if got, want := s.Allow(key, now), b.Allow(now); got != want {
			t.Fatalf("request %d, key %d: set says %+v, bucket says %+v", i, key, got, want)
		}
	}
	checkTables(t, s)
}

func TestSetAdmitsBurstPlusRateUnderConcurrency(t *testing.T) {
	l := Limit{Rate: 50, Burst: 10}
	s := mustSet(t, l, 0)
	key := KeyString("203.0.113.7")
	// The clock is a shared counter each call advances by 1 ms: the calls
	// race as on a real machine, but the span they cover does not depend
	// on how fast the machine runs, and no gap lets the bucket sit full.
	const workers, calls, step = 4, 2000, int64(time.Millisecond)
	base := time.Now().UnixNano()
	var clock atomic.Int64

	var wg sync.WaitGroup
	admitted := make([]int, workers)
	for w := range workers {
		wg.Go(func() {
			for range calls {
				if s.Allow(key, base+clock.Add(step)).Allowed {
					admitted[w]++
				}
			}
		})
	}
	wg.Wait()

	total := 0
	for _, n := range admitted {
		total += n
	}
	elapsed := time.Duration(clock.Load() - step) // from the first call's time to the last's
	want := float64(l.Burst) + l.Rate*elapsed.Seconds()
	if lo, hi := want*0.95, want*1.05; float64(total) < lo || float64(total) > hi {
		t.Errorf("admitted %d in %v, want %.1f ±5%%", total, elapsed, want)
	}
	t.Logf("admitted %d in %v; burst + rate × elapsed = %.1f", total, elapsed, want)
}

func TestSetEvictsIdleBucketsFirst(t *testing.T) {
	s := mustSet(t, Limit{Rate: 10, Burst: 5}, 64) // one shard of 64
	sec := int64(time.Second)
	var old, recent []uint64
	for i := range 32 {
		old = append(old, uint64(2*i+2))
		recent = append(recent, uint64(2*i+1001))
	}
	for _, k := range old {
		s.Allow(k, 0) // full again at 100ms
	}
	for _, k := range recent {
		s.Allow(k, sec) // full again at 1.1s
	}
	s.Allow(99_999, sec+50*ms) // the shard is full: make room
	for _, k := range recent {
		if !s.present(k) {
			t.Errorf("bucket %d in debt was evicted while idle ones were there", k)
		}
	}
	for _, k := range old {
		if s.present(k) {
			t.Errorf("idle bucket %d kept", k)
		}
	}
	if got := s.Len(); got != 33 {
		t.Errorf("len %d, want 33", got)
	}
	checkTables(t, s)
}

func TestSetEvictionKeepsIndebtedBuckets(t *testing.T) {
	s := mustSet(t, Limit{Rate: 1, Burst: 100}, 64) // one shard of 64
	var heavy []uint64
	for i := range 64 {
		key := uint64(i + 1)
		s.Allow(key, 0)
		if i%4 == 0 {
			heavy = append(heavy, key)
			for range 50 {
				s.Allow(key, 0)
			}
		}
	}
	for i := range 200 { // a flood of new clients; nothing is idle
		s.Allow(uint64(1000+i), 0)
		if got := s.Len(); got > 64 {
			t.Fatalf("len %d above max keys", got)
		}
	}
	for _, k := range heavy {
		if !s.present(k) {
			t.Errorf("heavily used bucket %d evicted before lightly used ones", k)
		}
	}
	checkTables(t, s)
}

func TestSetKeepsBucketsIntactThroughChurn(t *testing.T) {
	// Inserts, evictions and table growth move slots; every bucket that
	// stays must keep its exact state.
	s := mustSet(t, Limit{Rate: 100, Burst: 3}, 200)
	rng := rand.New(rand.NewPCG(3, 4))
	tats := map[uint64]int64{}
	now := int64(0)
	for i := range 10_000 {
		key := rng.Uint64N(1000) + 1
		now += rng.Int64N(int64(100 * time.Microsecond))
		s.Allow(key, now)
		sh := &s.shards[key&s.mask]
		tats[key] = sh.find(key).tat

		seen := 0
		for si := range s.shards {
			for j := range s.shards[si].slots {
				sl := &s.shards[si].slots[j]
				if sl.key == 0 {
					continue
				}
				seen++
				want, ok := tats[sl.key]
				if !ok {
					t.Fatalf("op %d: key %d present but never allowed or already evicted", i, sl.key)
				}
				if got := sl.tat; got != want {
					t.Fatalf("op %d: key %d TAT %d, want %d", i, sl.key, got, want)
				}
			}
		}
		if seen != len(tats) {
			for k := range tats {
				if !s.present(k) {
					delete(tats, k)
				}
			}
		}
	}
	checkTables(t, s)
}

func TestSetNeverHoldsMoreThanMaxKeys(t *testing.T) {
	for _, maxKeys := range []int{1, 2, 3, 63, 64, 129, 1000} {
		s := mustSet(t, Limit{Rate: 10, Burst: 2}, maxKeys)
		rng := rand.New(rand.NewPCG(uint64(maxKeys), 5))
		now := int64(0)
		for i := range 5_000 {
			now += rng.Int64N(int64(time.Millisecond))
			if !s.Allow(rng.Uint64(), now).Allowed {
				t.Fatalf("maxKeys %d: request %d for a new key refused", maxKeys, i)
			}
			if n := s.Len(); n > maxKeys {
				t.Fatalf("maxKeys %d: len %d after %d new keys", maxKeys, n, i+1)
			}
		}
		checkTables(t, s)
	}
}

func TestSetStaysConsistentUnderConcurrentEviction(t *testing.T) {
	// Readers update buckets under the read lock while inserts evict and
	// move slots under the write lock; the race detector checks the two
	// never overlap.
	s := mustSet(t, Limit{Rate: 1000, Burst: 5}, 256)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			now := int64(0)
			for range 20_000 {
				now += rng.Int64N(int64(10 * time.Microsecond))
				s.Allow(rng.Uint64N(2000)+1, now)
			}
		})
	}
	wg.Wait()
	checkTables(t, s)
	if n := s.Len(); n > 256 {
		t.Errorf("len %d above max keys", n)
	}
}

func TestSetStaysBoundedUnderDistinctKeys(t *testing.T) {
	tests := []struct {
		name   string
		step   int64 // ns between requests
		minLen int   // evicting buckets in debt frees only 1/16 of a shard
	}{
		{name: "buckets go idle as traffic moves on", step: int64(time.Microsecond)},
		{name: "every bucket still in debt", step: 0, minLen: DefaultMaxKeys * 9 / 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)

			s := mustSet(t, Limit{Rate: 50, Burst: 10}, DefaultMaxKeys)
			var buf [8]byte
			now := int64(1_700_000_000) * int64(time.Second)
			for i := range 1_000_000 {
				binary.LittleEndian.PutUint64(buf[:], uint64(i))
				if !s.Allow(Key(buf[:]), now).Allowed {
					t.Fatalf("new key %d refused", i)
				}
				now += tt.step
				if i%100_000 == 0 {
					if n := s.Len(); n > DefaultMaxKeys {
						t.Fatalf("after %d keys, len %d above %d", i+1, n, DefaultMaxKeys)
					}
				}
			}
			n := s.Len()
			if n > DefaultMaxKeys || n < tt.minLen {
				t.Errorf("len %d, want between %d and %d", n, tt.minLen, DefaultMaxKeys)
			}

			runtime.GC()
			runtime.ReadMemStats(&after)
			grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			// MaxBytes is the bound docs/limiter.md documents. The slack
			// covers the Set value itself and what the test framework and
			// the allocator's per-P caches move in between, which measures
			// within ±40 KiB.
			bound := int64(s.MaxBytes()) + 64<<10
			t.Logf("%d keys held, heap grew %d bytes (%.1f B/key), bound %d", n, grew, float64(grew)/float64(n), bound)
			if grew > bound {
				t.Errorf("heap grew %d bytes, above the bound %d", grew, bound)
			}
			checkTables(t, s)
			runtime.KeepAlive(s)
		})
	}
}

func TestSetAliasesKeyZeroToOne(t *testing.T) {
	s := mustSet(t, Limit{Rate: 1, Burst: 1}, 0)
	if !s.Allow(0, 0).Allowed {
		t.Fatal("first request for key 0 refused")
	}
	if s.Allow(1, 0).Allowed {
		t.Error("key 1 has a bucket apart from key 0")
	}
	if s.Len() != 1 {
		t.Errorf("len %d, want 1", s.Len())
	}
}
