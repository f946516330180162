// Package limiter decides whether a request may pass a throttle or a quota.
// It holds token buckets (one unkeyed Bucket per stage or route default, and
// a bounded keyed Set per client identity), calendar quotas per API key, and
// per-key usage counters. It knows nothing of HTTP or configuration: callers
// hash whatever identifies a client with Key and pass the current time in.
//
// Hot path: Bucket.Allow and Set.Allow for a key already present. A bucket
// is a single int64 (GCRA's theoretical arrival time) updated with a
// compare-and-swap; a Set finds it under a per-shard read lock. Neither
// allocates. Quotas.Take and Usage.Record are a read-only map lookup plus
// atomics.
package limiter

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Key hashes a client identity (IP, API key, header value) to the key Set,
// Quotas and Usage take. Both the request side and the configuration side
// must hash through here, or the same API key would land on two entries.
func Key(b []byte) uint64 { return xxhash.Sum64(b) }

// KeyString is Key for a string, without copying it.
func KeyString(s string) uint64 { return xxhash.Sum64String(s) }

// Limit is a token bucket: Rate tokens per second refill a bucket of Burst
// tokens, and each request takes one.
type Limit struct {
	Rate  float64 // requests per second, > 0
	Burst int     // bucket capacity, >= 1
}

// maxTau caps burst/rate (the time an empty bucket takes to fill) so that
// now + tau stays far from int64 overflow for any plausible clock: 2^62 ns
// is about 146 years.
const maxTau = 1 << 62

// maxRate keeps the emission interval at one nanosecond or more, the
// resolution of the state word.
const maxRate = 1e9

var (
	errRate  = errors.New("rate must be a finite number above 0")
	errBurst = errors.New("burst must be at least 1")
)

// Validate reports why l cannot be used, or nil.
func (l Limit) Validate() error {
	_, err := l.params()
	return err
}

// params turns a Limit into GCRA's integer form. The interval is rounded to
// whole nanoseconds; the rate error this causes is below 1e-6 relative for
// rates under 1e3/s and grows toward the 1e9/s ceiling.
func (l Limit) params() (params, error) {
	if !(l.Rate > 0) || math.IsInf(l.Rate, 0) {
		return params{}, fmt.Errorf("limit {rate: %v, burst: %d}: %w", l.Rate, l.Burst, errRate)
	}
	if l.Rate > maxRate {
		return params{}, fmt.Errorf("limit {rate: %v, burst: %d}: rate above %g/s cannot be timed in nanoseconds", l.Rate, l.Burst, float64(maxRate))
	}
	if l.Burst < 1 {
		return params{}, fmt.Errorf("limit {rate: %v, burst: %d}: %w", l.Rate, l.Burst, errBurst)
	}
	interval := math.Round(1e9 / l.Rate)
	if interval*float64(l.Burst) > maxTau {
		return params{}, fmt.Errorf("limit {rate: %v, burst: %d}: bucket takes longer than %v to fill", l.Rate, l.Burst, time.Duration(maxTau))
	}
	iv := int64(interval)
	return params{interval: iv, tau: iv * int64(l.Burst), burst: l.Burst}, nil
}

// Decision is the outcome of one request against one bucket, with what the
// IETF RateLimit headers need.
type Decision struct {
	Allowed bool
	// Limit is the bucket capacity (burst).
	Limit int
	// Remaining is how many more requests the bucket would admit right now,
	// after this one.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is how long until one token is back; zero when Allowed.
	RetryAfter time.Duration
}

// params is a Limit in GCRA form: each request pushes the theoretical
// arrival time (TAT) one interval forward, and a request is admitted while
// the pushed TAT stays within tau of now.
type params struct {
	interval int64 // ns per token
	tau      int64 // ns an empty bucket takes to fill: burst × interval
	burst    int
}

// decide runs one GCRA step on tat. A TAT at or before now means a full
// bucket, so the zero value is a full bucket at any time after 1970. A
// refusal writes nothing, which keeps a flooded bucket's cache line shared
// instead of bouncing between cores.
func (p *params) decide(tat *int64, now int64) Decision {
	for {
		old := atomic.LoadInt64(tat)
		start := max(old, now)
		next := start + p.interval
		if next-now > p.tau {
			return Decision{
				Limit:      p.burst,
				Reset:      time.Duration(start - now),
				RetryAfter: time.Duration(next - now - p.tau),
			}
		}
		if atomic.CompareAndSwapInt64(tat, old, next) {
			debt := next - now
			return Decision{
				Allowed:   true,
				Limit:     p.burst,
				Remaining: int((p.tau - debt) / p.interval),
				Reset:     time.Duration(debt),
			}
		}
	}
}

// Bucket is a single unkeyed token bucket, for levels every request shares
// (stage and route defaults). It is safe for concurrent use.
type Bucket struct {
	tat int64 // atomic only; first, for 64-bit alignment on 32-bit platforms
	p   params
}

// NewBucket returns a full bucket for l.
func NewBucket(l Limit) (*Bucket, error) {
	p, err := l.params()
	if err != nil {
		return nil, fmt.Errorf("new bucket: %w", err)
	}
	return &Bucket{p: p}, nil
}

// Allow takes one token at now (unix nanoseconds) if one is there.
func (b *Bucket) Allow(now int64) Decision { return b.p.decide(&b.tat, now) }
