package limiter

import (
	"testing"
	"time"
)

func TestSpendLogCountsAdmittedRequestsPerKeyUntilDrained(t *testing.T) {
	s, err := NewSet(Limit{Rate: 1, Burst: 3}, 100)
	if err != nil {
		t.Fatal(err)
	}
	l := NewSpendLog(100)
	s.AttachSpend(l)
	now := time.Unix(1_000, 0).UnixNano()
	for range 5 { // 3 admitted, 2 refused
		s.Allow(7, now)
	}
	s.Allow(9, now)
	got := map[uint64]int64{}
	l.Drain(func(k uint64, n int64) { got[k] += n })
	if got[7] != 3 || got[9] != 1 || len(got) != 2 {
		t.Fatalf("spend = %v, want key 7: 3 (refusals not counted), key 9: 1", got)
	}
	got = map[uint64]int64{}
	l.Drain(func(k uint64, n int64) { got[k] += n })
	if len(got) != 0 {
		t.Fatalf("a drained log reports %v again", got)
	}
}

func TestSpendLogOfOneKeyHoldsOne(t *testing.T) {
	l := NewSpendLog(1)
	l.add(1)
	l.add(1)
	l.add(2) // same shard, a second key
	got := map[uint64]int64{}
	if dropped := l.Drain(func(k uint64, n int64) { got[k] = n }); len(got) != 1 || got[1] != 2 || dropped != 1 {
		t.Fatalf("kept %v, dropped %d: want key 1 twice and the second key dropped", got, dropped)
	}
}

func TestSpendLogDropsNewKeysBeyondItsBound(t *testing.T) {
	l := NewSpendLog(spendShards) // 10 keys a shard: twice one, plus 8
	for k := range uint64(1000) {
		l.add(k << 32) // bits 32..35 pick the shard
	}
	n := 0
	dropped := l.Drain(func(uint64, int64) { n++ })
	if n != spendShards*10 {
		t.Fatalf("kept %d keys, want %d", n, spendShards*10)
	}
	if dropped != 1000-int64(n) {
		t.Fatalf("dropped = %d, want %d", dropped, 1000-n)
	}
}

func TestRaiseCarriesOtherInstancesSpendIntoTheLocalBucket(t *testing.T) {
	s, _ := NewSet(Limit{Rate: 10, Burst: 5}, 10)
	now := time.Unix(1_000, 0).UnixNano()
	if d := s.Allow(3, now); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("first request: %+v", d)
	}
	// The shared bucket says four more tokens went elsewhere.
	s.Raise(3, now+5*s.Interval())
	if d := s.Allow(3, now); d.Allowed {
		t.Fatalf("admitted after the shared bucket was spent: %+v", d)
	}
	// Raising backwards changes nothing.
	s.Raise(3, now)
	if d := s.Allow(3, now); d.Allowed {
		t.Fatalf("a lower shared TAT refilled the bucket: %+v", d)
	}
}

func TestChargeSpendsTokensAsIfAdmitted(t *testing.T) {
	s, _ := NewSet(Limit{Rate: 10, Burst: 5}, 10)
	now := time.Unix(1_000, 0).UnixNano()
	s.Allow(3, now)
	s.Charge(3, 3, now)
	if d := s.Allow(3, now); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after 1 admitted + 3 charged, want the last token: %+v", d)
	}
}

func TestClosedSpendLogRefusesEverything(t *testing.T) {
	s, _ := NewSet(Limit{Rate: 10, Burst: 5}, 10)
	l := NewSpendLog(10)
	s.AttachSpend(l)
	l.SetClosed(true)
	if d := s.Allow(3, time.Now().UnixNano()); d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("closed set admitted: %+v", d)
	}
	l.SetClosed(false)
	if d := s.Allow(3, time.Now().UnixNano()); !d.Allowed {
		t.Fatalf("reopened set refused: %+v", d)
	}
}

func TestSharedQuotaAdmitsOnlyGrantedUnits(t *testing.T) {
	q, _ := NewQuotas(map[uint64]Quota{1: {Limit: 100, Period: Day}})
	wake := make(chan struct{}, 1)
	q.Share(wake)
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	if _, _, _, ok := q.Take(1, now); ok {
		t.Fatal("admitted with nothing reserved")
	}
	select {
	case <-wake:
	default:
		t.Fatal("an empty reservation did not wake the refill loop")
	}
	start, _ := Day.Bounds(now)
	q.Grant(1, start, 3, 40) // the shared counter now says 40, 3 of them ours
	for i := range 3 {
		used, left, _, ok := q.Take(1, now)
		if !ok {
			t.Fatalf("take %d refused with units held", i)
		}
		if used != 38+int64(i) || left != 100-used {
			t.Fatalf("take %d: used %d left %d", i, used, left)
		}
	}
	if _, _, _, ok := q.Take(1, now); ok {
		t.Fatal("admitted beyond the reservation")
	}
	var ls []QuotaLease
	q.Leases(now, func(l QuotaLease) { ls = append(ls, l) })
	if len(ls) != 1 || ls[0].Held != 0 || ls[0].Spent != 3 || !ls[0].Wanted {
		t.Fatalf("leases = %+v", ls)
	}
}

func TestSharedQuotaUnitsOfAnEndedPeriodAreNotSpent(t *testing.T) {
	q, _ := NewQuotas(map[uint64]Quota{1: {Limit: 100, Period: Day}})
	q.Share(make(chan struct{}, 1))
	day1 := time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC)
	start, _ := Day.Bounds(day1)
	q.Grant(1, start, 5, 5)
	if _, _, _, ok := q.Take(1, day1.Add(2*time.Hour)); ok {
		t.Fatal("yesterday's units admitted a request today")
	}
	st, n := q.Reclaim(1)
	if !st.Equal(start) || n != 5 {
		t.Fatalf("reclaim = %v %d, want yesterday's 5", st, n)
	}
}

func TestSharedQuotaFailingOpenCountsWhatItAdmits(t *testing.T) {
	q, _ := NewQuotas(map[uint64]Quota{1: {Limit: 100, Period: Day}})
	q.Share(make(chan struct{}, 1))
	q.SetFailOpen(true)
	now := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	for range 4 {
		if _, _, _, ok := q.Take(1, now); !ok {
			t.Fatal("failing open refused")
		}
	}
	st, n := q.Unreserved(1)
	if want, _ := Day.Bounds(now); !st.Equal(want) || n != 4 {
		t.Fatalf("unreserved = %v %d, want 4 today", st, n)
	}
	q.SetFailOpen(false)
	if _, _, _, ok := q.Take(1, now); ok {
		t.Fatal("failing closed admitted without units")
	}
}

func TestSharedUsageReportsClusterTotalsPlusWhatIsNotSentYet(t *testing.T) {
	u := NewUsage([]uint64{1, 2})
	u.Share()
	for range 3 {
		u.Record(1, true)
	}
	u.Record(1, false)
	got := map[uint64]Counts{}
	u.Deltas(func(k uint64, d Counts) { got[k] = d })
	if len(got) != 1 || got[1] != (Counts{Admitted: 3, Throttled: 1}) {
		t.Fatalf("deltas %v", got)
	}
	// The cluster's totals include ours (3, 1) and another instance's.
	u.SetShared(1, Counts{Admitted: 10, Throttled: 4})
	u.Record(1, true) // not sent yet
	if c, _ := u.Get(1); c != (Counts{Admitted: 11, Throttled: 4}) {
		t.Fatalf("get = %+v, want the shared 10+1 and 4", c)
	}
	got = map[uint64]Counts{}
	u.Deltas(func(k uint64, d Counts) { got[k] = d })
	if got[1] != (Counts{Admitted: 1}) {
		t.Fatalf("second deltas %v, want only the new admission", got)
	}
}
