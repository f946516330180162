package limiter

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"
)

// admitAll never refuses within a benchmark's run: each request pushes the
// TAT one nanosecond while the bucket holds about 18 minutes of them, so
// every decision takes the compare-and-swap path.
var admitAll = Limit{Rate: 1e9, Burst: 1 << 40}

const benchNow = int64(1_700_000_000) * int64(time.Second)

func benchKeys(n int) []uint64 {
	keys := make([]uint64, n)
	var buf [8]byte
	for i := range keys {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		keys[i] = Key(buf[:])
	}
	return keys
}

func BenchmarkBucketAllow(b *testing.B) {
	b.Run("admit", func(b *testing.B) {
		bk, _ := NewBucket(admitAll)
		b.ReportAllocs()
		for b.Loop() {
			bk.Allow(benchNow)
		}
	})
	b.Run("refuse", func(b *testing.B) {
		bk, _ := NewBucket(Limit{Rate: 1, Burst: 1})
		bk.Allow(benchNow)
		b.ReportAllocs()
		for b.Loop() {
			bk.Allow(benchNow)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		bk, _ := NewBucket(admitAll)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				bk.Allow(benchNow)
			}
		})
	})
}

func BenchmarkSetAllow(b *testing.B) {
	b.Run("existing_key", func(b *testing.B) {
		s, _ := NewSet(admitAll, 0)
		key := KeyString("203.0.113.7")
		s.Allow(key, benchNow)
		b.ReportAllocs()
		for b.Loop() {
			s.Allow(key, benchNow)
		}
	})
	b.Run("64k_existing_keys", func(b *testing.B) {
		s, _ := NewSet(admitAll, 0)
		keys := benchKeys(1 << 16)
		for _, k := range keys {
			s.Allow(k, benchNow)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Allow(keys[i&(len(keys)-1)], benchNow)
			i++
		}
	})
}

func BenchmarkSetAllowParallel(b *testing.B) {
	b.Run("many_keys", func(b *testing.B) {
		// Each goroutine serves its own 4,096 clients, as connections
		// spread over cores would; all share the Set and its shards.
		const perWorker = 1 << 12
		s, _ := NewSet(admitAll, 0)
		keys := benchKeys(perWorker * 16)
		for _, k := range keys {
			s.Allow(k, benchNow)
		}
		var worker atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := int(worker.Add(1)-1) % 16
			mine := keys[w*perWorker : (w+1)*perWorker]
			i := 0
			for pb.Next() {
				s.Allow(mine[i&(perWorker-1)], benchNow)
				i++
			}
		})
	})
	b.Run("hot_key", func(b *testing.B) {
		s, _ := NewSet(admitAll, 0)
		key := KeyString("203.0.113.7")
		s.Allow(key, benchNow)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Allow(key, benchNow)
			}
		})
	})
}

func BenchmarkQuotasTake(b *testing.B) {
	now := time.Unix(0, benchNow)
	q, _ := NewQuotas(map[uint64]Quota{1: {Limit: MaxQuota, Period: Month}})
	b.Run("one_key", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			q.Take(1, now)
		}
	})
	b.Run("one_key_parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				q.Take(1, now)
			}
		})
	})
}

func BenchmarkUsageRecord(b *testing.B) {
	u := NewUsage([]uint64{1})
	b.ReportAllocs()
	for b.Loop() {
		u.Record(1, true)
	}
}

// The throttle decision in cluster mode: the local GCRA step plus one
// count in the spend log the background sync drains.
func BenchmarkSetAllowClusterSpend(b *testing.B) {
	b.Run("existing_key", func(b *testing.B) {
		s, _ := NewSet(admitAll, 0)
		s.AttachSpend(NewSpendLog(DefaultMaxKeys))
		key := KeyString("203.0.113.7")
		s.Allow(key, benchNow)
		b.ReportAllocs()
		for b.Loop() {
			s.Allow(key, benchNow)
		}
	})
	b.Run("64k_keys_drained", func(b *testing.B) {
		s, _ := NewSet(admitAll, 0)
		l := NewSpendLog(DefaultMaxKeys)
		s.AttachSpend(l)
		keys := benchKeys(1 << 16)
		// Two intervals' worth: both of each shard's maps have grown, as
		// in steady state.
		for range 2 {
			for _, k := range keys {
				s.Allow(k, benchNow)
			}
			l.Drain(func(uint64, int64) {})
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Allow(keys[i&(len(keys)-1)], benchNow)
			i++
		}
	})
}

// Take in cluster mode spends a reserved unit.
func BenchmarkQuotasTakeShared(b *testing.B) {
	key := KeyString("k")
	q, _ := NewQuotas(map[uint64]Quota{key: {Limit: MaxQuota, Period: Month}})
	q.Share(make(chan struct{}, 1))
	now := time.Unix(0, benchNow)
	start, _ := Month.Bounds(now)
	q.Grant(key, start, MaxQuota-1, 0)
	b.ReportAllocs()
	for b.Loop() {
		q.Take(key, now)
	}
}
