package limiter

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Period is a quota's calendar window. All periods follow UTC.
type Period uint8

// Periods. A week starts on Monday 00:00 UTC (ISO 8601).
const (
	Day Period = iota + 1
	Week
	Month
	numPeriods = iota + 1
)

// ParsePeriod reads the configuration spelling: day, week or month.
func ParsePeriod(s string) (Period, error) {
	switch s {
	case "day":
		return Day, nil
	case "week":
		return Week, nil
	case "month":
		return Month, nil
	}
	return 0, fmt.Errorf("quota period %q: want day, week or month", s)
}

func (p Period) String() string {
	switch p {
	case Day:
		return "day"
	case Week:
		return "week"
	case Month:
		return "month"
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

const (
	// A quota's state is one word: the period's ordinal in the high 24
	// bits (room for 45,000 years of days), the count taken in it in the
	// low 40. One word lets a compare-and-swap reset and count at once.
	usedBits = 40
	usedMask = MaxQuota

	// The unix epoch was a Thursday; Monday-based weeks are counted from
	// Monday 1969-12-29, three days before it.
	weekOffsetDays = 3
)

// ordinal numbers t's period from the epoch. A clock before 1970 is
// broken; its requests count in the first period rather than corrupt the
// packed word with a negative ordinal.
func (p Period) ordinal(t time.Time) int64 {
	if t.Unix() < 0 {
		t = time.Unix(0, 0)
	}
	switch p {
	case Day:
		return t.Unix() / 86400
	case Week:
		return (t.Unix()/86400 + weekOffsetDays) / 7
	default:
		y, m, _ := t.UTC().Date()
		return int64(y-1970)*12 + int64(m-1)
	}
}

// start is when period number ord begins.
func (p Period) start(ord int64) time.Time {
	switch p {
	case Day:
		return time.Unix(ord*86400, 0).UTC()
	case Week:
		return time.Unix((ord*7-weekOffsetDays)*86400, 0).UTC()
	default:
		return time.Date(1970+int(ord/12), time.Month(ord%12+1), 1, 0, 0, 0, 0, time.UTC)
	}
}

// Bounds returns the period containing t: [start, end).
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	ord := p.ordinal(t)
	return p.start(ord), p.start(ord + 1)
}

// MaxQuota is the largest Quota.Limit: what the 40-bit count can hold.
const MaxQuota = 1<<40 - 1

// Quota admits Limit requests per Period.
type Quota struct {
	Limit  int64
	Period Period
}

// Validate reports why q cannot be used, or nil.
func (q Quota) Validate() error {
	if q.Period < Day || q.Period > Month {
		return fmt.Errorf("quota {limit: %d, period: %v}: %w", q.Limit, q.Period, errPeriod)
	}
	if q.Limit < 0 || q.Limit > MaxQuota {
		return fmt.Errorf("quota {limit: %d, period: %v}: limit must be between 0 and %d", q.Limit, q.Period, MaxQuota)
	}
	return nil
}

var errPeriod = errors.New("period must be day, week or month")

type quotaEntry struct {
	limit  int64
	period Period
	state  atomic.Uint64 // ordinal<<usedBits | used

	// Cluster mode only (shared.go).
	allow      atomic.Uint64 // ordinal<<usedBits | reserved units left
	unreserved atomic.Uint64 // ordinal<<usedBits | admitted failing open
	sharedUsed atomic.Int64  // the shared count after the last reservation
	spent      atomic.Int64  // units spent since the refill loop last looked
	wanted     atomic.Bool   // a request found no units
}

// window caches one period's bounds so Take does no calendar arithmetic
// until the period ends.
type window struct {
	ord        int64
	start, end int64 // unix ns
	endTime    time.Time
}

// Quotas counts requests per key against each key's Quota. The key set is
// fixed at construction (one per configured API key), so lookups need no
// lock. It is safe for concurrent use.
type Quotas struct {
	entries map[uint64]*quotaEntry
	windows [numPeriods]atomic.Pointer[window]
	shared  atomic.Pointer[sharedQuotas] // nil on a single instance
}

// NewQuotas returns counters, all at zero, for the given quota per key.
func NewQuotas(quotas map[uint64]Quota) (*Quotas, error) {
	q := &Quotas{entries: make(map[uint64]*quotaEntry, len(quotas))}
	for k, v := range quotas {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("new quotas: key %016x: %w", k, err)
		}
		q.entries[k] = &quotaEntry{limit: v.Limit, period: v.Period}
	}
	return q, nil
}

// window returns the period of kind p containing now.
func (q *Quotas) window(p Period, now time.Time) *window {
	ns := now.UnixNano()
	w := q.windows[p].Load()
	if w != nil && ns >= w.start && ns < w.end {
		return w
	}
	w2 := newWindow(p, p.ordinal(now))
	// Only move the cache forward: a caller with a lagging clock must not
	// flip it back and forth.
	if w == nil || w2.ord > w.ord {
		q.windows[p].CompareAndSwap(w, w2)
	}
	return w2
}

func newWindow(p Period, ord int64) *window {
	start, end := p.start(ord), p.start(ord+1)
	return &window{ord: ord, start: start.UnixNano(), end: end.UnixNano(), endTime: end}
}

// Take counts one request for key at now if the key's quota for the
// current period is not used up. It reports the count after the request
// (or the count that refused it), what is left, and when the period ends.
// ok is false when the request is refused or key has no quota: the caller
// is meant to ask only for keys it configured, and an unknown key fails
// closed (reset is then zero).
func (q *Quotas) Take(key uint64, now time.Time) (used, remaining int64, reset time.Time, ok bool) {
	e := q.entries[key]
	if e == nil {
		return 0, 0, time.Time{}, false
	}
	w := q.window(e.period, now)
	if sh := q.shared.Load(); sh != nil {
		return q.takeShared(sh, e, w)
	}
	for {
		old := e.state.Load()
		n, in := e.read(old, w)
		if n >= e.limit {
			return n, 0, in.endTime, false
		}
		if e.state.CompareAndSwap(old, pack(in.ord, n+1)) {
			return n + 1, e.limit - n - 1, in.endTime, true
		}
	}
}

// Peek reports key's usage in the period containing now without counting a
// request. found is false for a key without a quota.
func (q *Quotas) Peek(key uint64, now time.Time) (used, remaining int64, reset time.Time, found bool) {
	e := q.entries[key]
	if e == nil {
		return 0, 0, time.Time{}, false
	}
	w := q.window(e.period, now)
	if q.shared.Load() != nil {
		held := unpackUsed(e.allow.Load(), w.ord)
		n := max(0, e.sharedUsed.Load()-held)
		return n, max(0, e.limit-n), w.endTime, true
	}
	n, in := e.read(e.state.Load(), w)
	return n, max(0, e.limit-n), in.endTime, true
}

// read interprets state word st for a caller whose clock is in w: the
// count in w, zero if the word is from an earlier period. A word already in
// a later period (another caller's clock ran ahead) keeps counting there
// rather than resetting backwards.
func (e *quotaEntry) read(st uint64, w *window) (used int64, in *window) {
	ord, n := unpack(st)
	switch {
	case ord < w.ord:
		return 0, w
	case ord > w.ord:
		return n, newWindow(e.period, ord)
	}
	return n, w
}

func pack(ord, used int64) uint64 { return uint64(ord)<<usedBits | uint64(used) }

func unpack(st uint64) (ord, used int64) { return int64(st >> usedBits), int64(st & usedMask) }

// QuotaCount is one key's count in one period, as carried across a reload.
type QuotaCount struct {
	Period Period
	Start  time.Time // the period's start
	Used   int64
}

// Snapshot copies every key's count in the period it last counted in.
func (q *Quotas) Snapshot() map[uint64]QuotaCount {
	m := make(map[uint64]QuotaCount, len(q.entries))
	for k, e := range q.entries {
		ord, n := unpack(e.state.Load())
		if n == 0 {
			continue
		}
		m[k] = QuotaCount{Period: e.period, Start: e.period.start(ord), Used: n}
	}
	return m
}

// Restore adds counts from an earlier Snapshot to the keys that still have
// a quota of the same period. A count from a period this Quotas has already
// moved past is dropped. Adding rather than overwriting lets a reload swap
// the new Quotas in first and Restore after, losing no request counted in
// between. It reports how many keys it carried over.
func (q *Quotas) Restore(snap map[uint64]QuotaCount) int {
	carried := 0
	for k, c := range snap {
		e := q.entries[k]
		if e == nil || e.period != c.Period || c.Used <= 0 {
			continue
		}
		ord := c.Period.ordinal(c.Start)
		for {
			old := e.state.Load()
			cur, n := unpack(old)
			if cur > ord {
				break
			}
			if cur < ord {
				n = 0
			}
			if e.state.CompareAndSwap(old, pack(ord, min(n+c.Used, MaxQuota))) {
				carried++
				break
			}
		}
	}
	return carried
}
