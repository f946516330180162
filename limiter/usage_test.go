package limiter

import (
	"sync"
	"testing"
)

func TestUsageCountsOutcomesPerKey(t *testing.T) {
	u := NewUsage([]uint64{1, 2})
	for _, r := range []struct {
		key     uint64
		allowed bool
	}{{1, true}, {1, true}, {1, false}, {2, false}} {
		if !u.Record(r.key, r.allowed) {
			t.Fatalf("Record(%d) refused a configured key", r.key)
		}
	}
	if u.Record(3, true) {
		t.Error("Record counted a key Usage was not built with")
	}
	tests := []struct {
		key   uint64
		want  Counts
		found bool
	}{
		{1, Counts{Admitted: 2, Throttled: 1}, true},
		{2, Counts{Throttled: 1}, true},
		{3, Counts{}, false},
	}
	for _, tt := range tests {
		if got, found := u.Get(tt.key); got != tt.want || found != tt.found {
			t.Errorf("Get(%d) = %+v, %v; want %+v, %v", tt.key, got, found, tt.want, tt.found)
		}
	}
}

func TestUsageCountsEveryConcurrentRequest(t *testing.T) {
	u := NewUsage([]uint64{7})
	const workers, each = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				u.Record(7, w%2 == 0)
			}
		})
	}
	wg.Wait()
	want := Counts{Admitted: workers / 2 * each, Throttled: workers / 2 * each}
	if got, _ := u.Get(7); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestUsageSnapshotRestoreAddsToNewCounters(t *testing.T) {
	old := NewUsage([]uint64{1, 2})
	old.Record(1, true)
	old.Record(2, false)
	next := NewUsage([]uint64{1, 3})
	next.Record(1, true) // counted after the swap, before Restore
	next.Restore(old.Snapshot())

	want := map[uint64]Counts{1: {Admitted: 2}, 3: {}}
	got := next.Snapshot()
	if len(got) != len(want) {
		t.Fatalf("snapshot %+v, want %+v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("key %d: %+v, want %+v", k, got[k], w)
		}
	}
}
