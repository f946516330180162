package cache

import (
	"context"
	"encoding/binary"
	"testing"
)

// benchRoute is the route of the benchmarks' requests, resolved once as the
// gateway does per configured route.
func benchRoute(s *Store) *RouteSpace { return s.Namespace("petstore", "prod").Route("GET /pets") }

// benchKey builds the key of a typical cached request: a route with a query
// and a header parameter.
func benchKey(r *RouteSpace, kb *KeyBuilder, id uint64) []byte {
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], id)
	kb.Begin(r, []byte("GET"))
	kb.Param("query.limit", v[:])
	kb.Param("header.accept", []byte("application/json"))
	return kb.Bytes()
}

func BenchmarkGetHit1KiB6Headers(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 64 * mib})
	r := benchRoute(s)
	var kb KeyBuilder
	key := benchKey(r, &kb, 1)
	mustSet(b, s, key, sampleEntry(1024, testNow+1))
	var e Entry
	b.ReportAllocs()
	for b.Loop() {
		if !s.Get(key, testNow, &e) {
			b.Fatal("miss")
		}
	}
}

func BenchmarkGetHitParallel(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 64 * mib})
	r := benchRoute(s)
	var kb KeyBuilder
	const keys = 1024
	for i := range keys {
		mustSet(b, s, benchKey(r, &kb, uint64(i)), sampleEntry(1024, testNow+1))
	}
	// Steady state: a first read of each key copies it out of bigcache
	// into the hot front, once.
	var e Entry
	for i := range keys {
		s.Get(benchKey(r, &kb, uint64(i)), testNow, &e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var kb KeyBuilder
		var e Entry
		i := uint64(0)
		for pb.Next() {
			i++
			if !s.Get(benchKey(r, &kb, i%keys), testNow, &e) {
				b.Error("miss")
				return
			}
		}
	})
}

func BenchmarkGetMiss(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 64 * mib})
	r := benchRoute(s)
	var kb KeyBuilder
	key := benchKey(r, &kb, 1)
	var e Entry
	b.ReportAllocs()
	for b.Loop() {
		if s.Get(key, testNow, &e) {
			b.Fatal("hit")
		}
	}
}

func BenchmarkSet1KiB6Headers(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 8 * mib})
	r := benchRoute(s)
	var kb KeyBuilder
	e := sampleEntry(1024, testNow+1)
	// A working set that fits, so no live entry is evicted. Overwrites still
	// append to bigcache's FIFO, so run until its queues have grown to full
	// size and wrapped, and measure the steady state.
	const keys = 1024
	for i := range 2 * 8 * mib / 1024 {
		mustSet(b, s, benchKey(r, &kb, uint64(i%keys)), e)
	}
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		if err := s.Set(benchKey(r, &kb, i%keys), e); err != nil {
			b.Fatal(err)
		}
	}
	if ev := s.Stats().Evictions; ev != 0 {
		b.Fatalf("%d live entries evicted", ev)
	}
}

func BenchmarkSetEvicting(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 8 * mib})
	r := benchRoute(s)
	var kb KeyBuilder
	e := sampleEntry(1024, testNow+1)
	// Fill first so every measured Set evicts.
	for i := range 2 * 8 * mib / 1024 {
		mustSet(b, s, benchKey(r, &kb, uint64(i)), e)
	}
	b.ReportAllocs()
	i := uint64(1 << 32)
	for b.Loop() {
		i++
		if err := s.Set(benchKey(r, &kb, i), e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyBuilder(b *testing.B) {
	s := newTestStore(b, Config{})
	r := benchRoute(s)
	var kb KeyBuilder
	method, limit, accept := []byte("GET"), []byte("25"), []byte("application/json")
	b.ReportAllocs()
	for b.Loop() {
		kb.Begin(r, method)
		kb.Param("query.limit", limit)
		kb.Param("header.accept", accept)
	}
}

func BenchmarkFlightUncontended(b *testing.B) {
	s := newTestStore(b, Config{})
	ctx := context.Background()
	b.ReportAllocs()
	h := uint64(0)
	for b.Loop() {
		h++
		f, out, err := s.Flight(ctx, h)
		if err != nil || out != Lead {
			b.Fatal(out, err)
		}
		f.Release()
	}
}
