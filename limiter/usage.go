package limiter

import "sync/atomic"

// Counts is one key's request tally.
type Counts struct {
	Admitted  uint64
	Throttled uint64 // refused by any throttle or quota
}

type counters struct {
	admitted, throttled atomic.Uint64

	// Cluster mode only: what was already added to the shared tallies,
	// and the shared totals last read.
	sentAdmitted, sentThrottled     atomic.Uint64
	sharedAdmitted, sharedThrottled atomic.Uint64
}

func (x *counters) sentAdmittedLoad() uint64  { return x.sentAdmitted.Load() }
func (x *counters) sentThrottledLoad() uint64 { return x.sentThrottled.Load() }

func (x *counters) storeSent(c Counts) {
	x.sentAdmitted.Store(c.Admitted)
	x.sentThrottled.Store(c.Throttled)
}

func (x *counters) load() Counts {
	return Counts{Admitted: x.admitted.Load(), Throttled: x.throttled.Load()}
}

// Usage tallies admitted and throttled requests per key for usage reports.
// Like Quotas, its key set is fixed at construction (the configured API
// keys), so recording needs no lock and memory cannot grow with traffic.
// It is safe for concurrent use.
type Usage struct {
	m      map[uint64]*counters
	shared atomic.Bool // Get reports the shared totals (cluster mode)
}

// NewUsage returns zeroed counters for keys.
func NewUsage(keys []uint64) *Usage {
	u := &Usage{m: make(map[uint64]*counters, len(keys))}
	for _, k := range keys {
		u.m[k] = new(counters)
	}
	return u
}

// Record counts one request for key, admitted or not. It reports false,
// counting nothing, for a key Usage was not built with.
func (u *Usage) Record(key uint64, admitted bool) bool {
	c := u.m[key]
	if c == nil {
		return false
	}
	if admitted {
		c.admitted.Add(1)
	} else {
		c.throttled.Add(1)
	}
	return true
}

// Get returns key's tally; found is false for a key Usage was not built with.
func (u *Usage) Get(key uint64) (c Counts, found bool) {
	x := u.m[key]
	if x == nil {
		return Counts{}, false
	}
	if u.shared.Load() {
		// The shared totals as last read, plus what this instance has
		// counted and not yet added to them.
		l := x.load()
		return Counts{Admitted: x.sharedAdmitted.Load() + l.Admitted - x.sentAdmittedLoad(),
			Throttled: x.sharedThrottled.Load() + l.Throttled - x.sentThrottledLoad()}, true
	}
	return x.load(), true
}

// Snapshot copies every key's tally. Each key's two numbers are read one
// after the other, not as a unit, which is exact enough for a report.
func (u *Usage) Snapshot() map[uint64]Counts {
	m := make(map[uint64]Counts, len(u.m))
	for k, x := range u.m {
		m[k] = x.load()
	}
	return m
}

// Restore adds tallies from an earlier Snapshot to the keys this Usage
// has, so a reload can swap the new Usage in first and lose nothing.
func (u *Usage) Restore(snap map[uint64]Counts) {
	for k, c := range snap {
		if x := u.m[k]; x != nil {
			x.admitted.Add(c.Admitted)
			x.throttled.Add(c.Throttled)
		}
	}
}

// Share makes Get report totals shared by a cluster (SetShared), rather
// than this instance's own.
func (u *Usage) Share() { u.shared.Store(true) }

// Deltas calls fn with what each key counted since the last Deltas, for
// adding to the shared tallies. It must not run concurrently with itself.
func (u *Usage) Deltas(fn func(key uint64, d Counts)) {
	for k, x := range u.m {
		l := x.load()
		d := Counts{Admitted: l.Admitted - x.sentAdmittedLoad(), Throttled: l.Throttled - x.sentThrottledLoad()}
		if d.Admitted == 0 && d.Throttled == 0 {
			continue
		}
		x.storeSent(l)
		fn(k, d)
	}
}

// SetShared records key's shared totals, which include everything this
// instance handed out through Deltas.
func (u *Usage) SetShared(key uint64, c Counts) {
	if x := u.m[key]; x != nil {
		x.sharedAdmitted.Store(c.Admitted)
		x.sharedThrottled.Store(c.Throttled)
	}
}

// Keys lists the keys tallied.
func (u *Usage) Keys() []uint64 {
	out := make([]uint64, 0, len(u.m))
	for k := range u.m {
		out = append(out, k)
	}
	return out
}
