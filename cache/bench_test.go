package cache

import (
	"context"
	"encoding/binary"
	"testing"
)

// benchKey builds the key of a typical cached request: a route with a query
// and a header parameter.
func benchKey(s *Store, kb *KeyBuilder, id uint64) []byte {
	var v [8]byte
	binary.LittleEndian.PutUint64(v[:], id)
	kb.Begin(s.Namespace("petstore", "prod").Route("GET /pets"), []byte("GET"))
	kb.Param("query.limit", v[:])
	kb.Param("header.accept", []byte("application/json"))
	return kb.Bytes()
}

func BenchmarkGetHit1KiB6Headers(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 64 * mib})
	var kb KeyBuilder
	key := benchKey(s, &kb, 1)
	if err := s.Set(key, sampleEntry(1024, testNow+1)); err != nil {
		b.Fatal(err)
	}
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
	var kb KeyBuilder
	const keys = 1024
	for i := range keys {
		if err := s.Set(benchKey(s, &kb, uint64(i)), sampleEntry(1024, testNow+1)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var kb KeyBuilder
		var e Entry
		i := uint64(0)
		for pb.Next() {
			i++
			if !s.Get(benchKey(s, &kb, i%keys), testNow, &e) {
				b.Error("miss")
				return
			}
		}
	})
}

func BenchmarkGetMiss(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 64 * mib})
	var kb KeyBuilder
	key := benchKey(s, &kb, 1)
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
	var kb KeyBuilder
	e := sampleEntry(1024, testNow+1)
	// A working set that fits, so no live entry is evicted. Overwrites still
	// append to bigcache's FIFO, so run until its queues have grown to full
	// size and wrapped, and measure the steady state.
	const keys = 1024
	for i := range 2 * 8 * mib / 1024 {
		if err := s.Set(benchKey(s, &kb, uint64(i%keys)), e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		i++
		if err := s.Set(benchKey(s, &kb, i%keys), e); err != nil {
			b.Fatal(err)
		}
	}
	if ev := s.Stats().Evictions; ev != 0 {
		b.Fatalf("%d live entries evicted", ev)
	}
}

func BenchmarkSetEvicting(b *testing.B) {
	s := newTestStore(b, Config{MaxSize: 8 * mib})
	var kb KeyBuilder
	e := sampleEntry(1024, testNow+1)
	// Fill first so every measured Set evicts.
	for i := range 2 * 8 * mib / 1024 {
		if err := s.Set(benchKey(s, &kb, uint64(i)), e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := uint64(1 << 32)
	for b.Loop() {
		i++
		if err := s.Set(benchKey(s, &kb, i), e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyBuilder(b *testing.B) {
	s := newTestStore(b, Config{})
	r := s.Namespace("petstore", "prod").Route("GET /pets")
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
