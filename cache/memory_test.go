package cache

import (
	"encoding/binary"
	"runtime"
	"testing"
)

func heapInuse() int64 {
	runtime.GC()
	runtime.GC() // a second cycle frees what the first one's finalisers and pools let go
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

func TestHeapStaysBoundedWhenFilledFiveTimesOver(t *testing.T) {
	tests := []struct {
		name    string
		bodyLen int
	}{
		{"1 KiB JSON responses", 1024},
		{"tiny responses, where the index dominates", 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const maxSize = 8 * mib
			before := heapInuse()
			s := newTestStore(t, Config{MaxSize: maxSize})

			e := sampleEntry(tt.bodyLen, testNow+1)
			perEntry, _ := encodedSize(make([]byte, 40), e)
			n := 5 * maxSize / perEntry
			var kb KeyBuilder
			r := s.Namespace("petstore", "prod").Route("GET /pets/{id}")
			var id [8]byte
			for i := range n {
				binary.LittleEndian.PutUint64(id[:], uint64(i))
				kb.Begin(r, []byte("GET"))
				kb.Param("path.id", id[:])
				if err := s.Set(kb.Bytes(), e); err != nil {
					t.Fatalf("Set %d: %v", i, err)
				}
			}

			grew := heapInuse() - before
			st := s.Stats()
			bound := int64(maxSize) + memoryOverhead(st.Entries, st.Shards, perEntry)
			t.Logf("%d sets of %d bytes: %d entries held, %d evictions, queues %d bytes, heap grew %d bytes = max size + %d (bound max size + %d)",
				n, perEntry, st.Entries, st.Evictions, st.Bytes, grew, grew-maxSize, bound-maxSize)
			if grew > bound {
				t.Fatalf("heap grew %d bytes, over max size %d + overhead = %d", grew, maxSize, bound)
			}
			if st.Evictions == 0 || st.Entries >= n/4 {
				t.Fatalf("%d entries held and %d evictions after writing 5x the max size", st.Entries, st.Evictions)
			}
			// FIFO eviction keeps the most recent entry.
			var got Entry
			if !s.Get(kb.Bytes(), testNow, &got) {
				t.Fatal("newest entry was evicted")
			}
			runtime.KeepAlive(s)
		})
	}
}

// memoryOverhead is the heap a full store uses beyond MaxSize, as documented
// in docs/cache.md: per held entry up to 128 bytes of index (bigcache's and the live byte count's, each a
// map[uint64]uint32 slot with load-factor slack; 51 to 60 measured), per
// shard one encode buffer as large as the largest entry stored (at most the
// item cap), and about 1 MiB fixed (shard structs, initial maps, flight maps,
// pooled encode buffers).
func memoryOverhead(entries, shards, largestEntry int) int64 {
	return int64(entries)*128 + int64(shards)*int64(largestEntry+bigcacheOverhead) + 1*mib
}
