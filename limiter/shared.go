package limiter

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// This file holds the seams cluster mode reconciles through. Single
// instance, none of it is set and the hot path pays one nil pointer check.
//
// Throttles: a Set keeps deciding locally (GCRA). With a SpendLog attached,
// every admitted request adds one to its key's spend; a background loop
// drains the spend, charges it to a shared bucket and raises the local TAT
// to the shared one (Raise), so every instance's bucket also carries what
// the others spent.
//
// Quotas: with sharing on, Take spends units reserved in blocks from a
// shared counter (Grant) instead of counting up to the limit locally; the
// background loop tops the reservation up before it runs out and gives the
// unused part back (Reclaim).

// spendShards spreads the spend log's locks; a power of two.
const spendShards = 16

type spendShard struct {
	mu    sync.Mutex
	m     map[uint64]int64
	spare map[uint64]int64 // swapped in by Drain; only Drain touches it
	max   int
	// dropped counts spends of new keys refused because the shard was
	// full; they are never charged to the shared bucket.
	dropped int64
}

type paddedSpendShard struct {
	spendShard
	_ [cacheLine - unsafe.Sizeof(spendShard{})%cacheLine]byte
}

// SpendLog counts admitted requests per key between two drains, for at
// most a bounded number of keys.
type SpendLog struct {
	shards [spendShards]paddedSpendShard
	// closed makes the Set refuse everything (a cluster failing closed
	// while its shared state is unreachable).
	closed atomic.Bool
}

// NewSpendLog returns a log sized for maxKeys keys between drains: each
// of its 16 shards takes up to twice its even share plus 8 (at most
// maxKeys), so uneven hashing does not drop keys; the whole log holds at
// most 16 times that.
// Its maps start small and grow to what one interval needs; Drain clears
// them without giving the room back, so in steady state counting does not
// allocate, and a throttle of one bucket costs a few hundred bytes.
func NewSpendLog(maxKeys int) *SpendLog {
	l := &SpendLog{}
	per := min(max(1, maxKeys), 2*((maxKeys+spendShards-1)/spendShards)+8)
	hint := min(per, spendHint)
	for i := range l.shards {
		l.shards[i].m = make(map[uint64]int64, hint)
		l.shards[i].spare = make(map[uint64]int64, hint)
		l.shards[i].max = per
	}
	return l
}

// spendHint is the keys a spend log shard has room for before it grows.
const spendHint = 64

// MaxKeys is the most buckets s holds.
func (s *Set) MaxKeys() int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].capacity
	}
	return n
}

func (l *SpendLog) add(key uint64) {
	sh := &l.shards[(key>>32)&(spendShards-1)]
	sh.mu.Lock()
	if n, ok := sh.m[key]; ok || len(sh.m) < sh.max {
		sh.m[key] = n + 1
	} else {
		sh.dropped++
	}
	sh.mu.Unlock()
}

// Drain calls fn for every key's spend since the last Drain and empties
// the log. It reports how many spends were dropped for want of room. The
// hot path waits for no more than a swap: each shard's map is exchanged
// for an empty spare under the lock, then read outside it. Drain must not
// run concurrently with itself.
func (l *SpendLog) Drain(fn func(key uint64, n int64)) (dropped int64) {
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		full := sh.m
		sh.m = sh.spare
		dropped += sh.dropped
		sh.dropped = 0
		sh.mu.Unlock()
		for k, n := range full {
			fn(k, n)
		}
		clear(full)
		sh.spare = full
	}
	return dropped
}

// SetClosed makes the Set refuse every request (true) or decide again
// (false).
func (l *SpendLog) SetClosed(closed bool) { l.closed.Store(closed) }

// AttachSpend makes s count admitted requests into l (nil detaches).
func (s *Set) AttachSpend(l *SpendLog) { s.spend.Store(l) }

// Spend returns the attached log, or nil.
func (s *Set) Spend() *SpendLog { return s.spend.Load() }

// Interval is the time one token stands for, in nanoseconds.
func (s *Set) Interval() int64 { return s.p.interval }

// Tau is the time an empty bucket takes to fill, in nanoseconds.
func (s *Set) Tau() int64 { return s.p.tau }

// Raise moves key's TAT forward to at least tat (unix ns), if key has a
// bucket here: the shared bucket is further behind than the local one
// when other instances spent. A key with no local bucket is left alone;
// it starts full when it comes, which the overshoot bound in
// docs/cluster.md accounts for.
func (s *Set) Raise(key uint64, tat int64) {
	s.update(key, func(old int64) int64 { return max(old, tat) })
}

// Charge spends n more tokens of key's bucket at now, as if n requests had
// been admitted: a cluster that cannot reach its shared state charges each
// instance for the others' likely spend.
func (s *Set) Charge(key uint64, n int64, now int64) {
	d := n * s.p.interval
	s.update(key, func(old int64) int64 { return max(old, now) + d })
}

func (s *Set) update(key uint64, f func(int64) int64) {
	if key == 0 {
		key = 1
	}
	sh := &s.shards[key&s.mask]
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	e := sh.find(key)
	if e == nil {
		return
	}
	for {
		old := atomic.LoadInt64(&e.tat)
		if next := f(old); next == old || atomic.CompareAndSwapInt64(&e.tat, old, next) {
			return
		}
	}
}

// sharedQuotas is the cluster side of a Quotas.
type sharedQuotas struct {
	wake chan struct{}
	// open admits requests beyond the reservation, counted in each
	// entry's unreserved, while the shared counter is unreachable and the
	// policy fails open.
	open atomic.Bool
}

// Share switches q to reserved units: from now on Take admits only what
// Grant reserved for it. wake receives (without blocking) whenever a key's
// reservation runs low or out. Call it before q serves requests.
func (q *Quotas) Share(wake chan struct{}) {
	q.shared.Store(&sharedQuotas{wake: wake})
}

// SetFailOpen admits requests beyond the reservation (true), counting
// them for Unreserved, or refuses them (false).
func (q *Quotas) SetFailOpen(open bool) {
	if sh := q.shared.Load(); sh != nil {
		sh.open.Store(open)
	}
}

// QuotaLease is one key's reservation state, as the refill loop sees it.
type QuotaLease struct {
	Key    uint64
	Quota  Quota
	Start  time.Time // the current period
	End    time.Time
	Held   int64 // reserved units not yet spent, in the current period
	Spent  int64 // units spent since the last Leases call
	Wanted bool  // a request found the reservation empty
}

// Leases calls fn with every key's reservation at now.
func (q *Quotas) Leases(now time.Time, fn func(QuotaLease)) {
	for k, e := range q.entries {
		w := q.window(e.period, now)
		ord, held := unpack(e.allow.Load())
		if ord != w.ord {
			held = 0
		}
		fn(QuotaLease{
			Key: k, Quota: Quota{Limit: e.limit, Period: e.period},
			Start: time.Unix(0, w.start).UTC(), End: w.endTime,
			Held: held, Spent: e.spent.Swap(0), Wanted: e.wanted.Swap(false),
		})
	}
}

// Grant adds units reserved for key in the period starting at start, and
// records the shared count after the reservation (for Peek). Units of a
// period that is no longer key's current one replace what is held.
func (q *Quotas) Grant(key uint64, start time.Time, units, sharedUsed int64) {
	e := q.entries[key]
	if e == nil {
		return
	}
	ord := e.period.ordinal(start)
	e.sharedUsed.Store(sharedUsed)
	for {
		old := e.allow.Load()
		cur, n := unpack(old)
		if cur > ord {
			return
		}
		if cur < ord {
			n = 0
		}
		if e.allow.CompareAndSwap(old, pack(ord, min(n+units, MaxQuota))) {
			return
		}
	}
}

// Reclaim takes back every unit key holds, to be given back to the shared
// counter, with the start of the period they belong to.
func (q *Quotas) Reclaim(key uint64) (start time.Time, units int64) {
	e := q.entries[key]
	if e == nil {
		return time.Time{}, 0
	}
	old := e.allow.Swap(0)
	ord, n := unpack(old)
	return e.period.start(ord), n
}

// Unreserved takes the count of requests admitted without a reservation
// (failing open) for key, to be added to the shared counter.
func (q *Quotas) Unreserved(key uint64) (start time.Time, n int64) {
	e := q.entries[key]
	if e == nil {
		return time.Time{}, 0
	}
	old := e.unreserved.Swap(0)
	ord, n := unpack(old)
	return e.period.start(ord), n
}

// takeShared is Take with reserved units.
func (q *Quotas) takeShared(sh *sharedQuotas, e *quotaEntry, w *window) (used, remaining int64, reset time.Time, ok bool) {
	for {
		old := e.allow.Load()
		ord, n := unpack(old)
		if ord != w.ord || n == 0 {
			e.wanted.Store(true)
			sh.signal()
			if sh.open.Load() {
				for {
					u := e.unreserved.Load()
					if e.unreserved.CompareAndSwap(u, pack(w.ord, unpackUsed(u, w.ord)+1)) {
						break
					}
				}
				e.spent.Add(1)
				return e.sharedUsed.Load(), 0, w.endTime, true
			}
			return e.sharedUsed.Load(), 0, w.endTime, false
		}
		if e.allow.CompareAndSwap(old, pack(ord, n-1)) {
			if e.spent.Add(1) >= n {
				// Spent as much since the last refill as is left: top up.
				sh.signal()
			}
			used := e.sharedUsed.Load() - (n - 1)
			return used, e.limit - used, w.endTime, true
		}
	}
}

func unpackUsed(st uint64, ord int64) int64 {
	o, n := unpack(st)
	if o != ord {
		return 0
	}
	return n
}

func (sh *sharedQuotas) signal() {
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}
