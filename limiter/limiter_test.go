package limiter

import (
	"errors"
	"math"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

type step struct {
	at         int64 // ns after the start
	allowed    bool
	remaining  int
	reset      time.Duration
	retryAfter time.Duration
}

func TestBucketAdmitsBurstThenRate(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{
			name:  "burst at once, then one token per interval",
			limit: Limit{Rate: 10, Burst: 3},
			steps: []step{
				{at: 0, allowed: true, remaining: 2, reset: 100 * time.Millisecond},
				{at: 0, allowed: true, remaining: 1, reset: 200 * time.Millisecond},
				{at: 0, allowed: true, remaining: 0, reset: 300 * time.Millisecond},
				{at: 0, reset: 300 * time.Millisecond, retryAfter: 100 * time.Millisecond},
				{at: 50 * ms, reset: 250 * time.Millisecond, retryAfter: 50 * time.Millisecond},
				{at: 100 * ms, allowed: true, remaining: 0, reset: 300 * time.Millisecond},
				{at: 100 * ms, reset: 300 * time.Millisecond, retryAfter: 100 * time.Millisecond},
				{at: 400 * ms, allowed: true, remaining: 2, reset: 100 * time.Millisecond},
			},
		},
		{
			name:  "burst of one admits one per interval",
			limit: Limit{Rate: 1, Burst: 1},
			steps: []step{
				{at: 0, allowed: true, remaining: 0, reset: time.Second},
				{at: 500 * ms, reset: 500 * time.Millisecond, retryAfter: 500 * time.Millisecond},
				{at: 1000 * ms, allowed: true, remaining: 0, reset: time.Second},
			},
		},
		{
			name:  "rate below one per second",
			limit: Limit{Rate: 0.5, Burst: 2},
			steps: []step{
				{at: 0, allowed: true, remaining: 1, reset: 2 * time.Second},
				{at: 0, allowed: true, remaining: 0, reset: 4 * time.Second},
				{at: 1000 * ms, reset: 3 * time.Second, retryAfter: time.Second},
				{at: 2000 * ms, allowed: true, remaining: 0, reset: 4 * time.Second},
			},
		},
		{
			name:  "partly refilled bucket floors remaining",
			limit: Limit{Rate: 10, Burst: 4},
			steps: []step{
				{at: 0, allowed: true, remaining: 3, reset: 100 * time.Millisecond},
				{at: 0, allowed: true, remaining: 2, reset: 200 * time.Millisecond},
				{at: 0, allowed: true, remaining: 1, reset: 300 * time.Millisecond},
				{at: 150 * ms, allowed: true, remaining: 1, reset: 250 * time.Millisecond},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBucket(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			const start = int64(1_700_000_000) * int64(time.Second)
			for i, st := range tt.steps {
				got := b.Allow(start + st.at)
				want := Decision{Allowed: st.allowed, Limit: tt.limit.Burst, Remaining: st.remaining, Reset: st.reset, RetryAfter: st.retryAfter}
				if got != want {
					t.Errorf("step %d at +%v: got %+v, want %+v", i, time.Duration(st.at), got, want)
				}
			}
		})
	}
}

func TestBucketAdmitsBurstPlusRateTimesElapsed(t *testing.T) {
	tests := []struct {
		name    string
		limit   Limit
		every   time.Duration
		elapsed time.Duration
		want    int
	}{
		{"50/s burst 10 over 2s", Limit{Rate: 50, Burst: 10}, time.Millisecond, 2 * time.Second, 10 + 100},
		{"1000/s burst 1 over 1s", Limit{Rate: 1000, Burst: 1}, 100 * time.Microsecond, time.Second, 1 + 1000},
		{"3/s burst 5 over 10s", Limit{Rate: 3, Burst: 5}, 10 * time.Millisecond, 10 * time.Second, 5 + 30},
		{"requests slower than the rate are all admitted", Limit{Rate: 100, Burst: 1}, 20 * time.Millisecond, time.Second, 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBucket(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			admitted := 0
			for at := time.Duration(0); at <= tt.elapsed; at += tt.every {
				if b.Allow(int64(at)).Allowed {
					admitted++
				}
			}
			if admitted != tt.want {
				t.Errorf("admitted %d, want %d", admitted, tt.want)
			}
		})
	}
}

func TestLimitValidateRejectsUnusableLimits(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		want  error // nil: any error; ok: no error
		ok    bool
	}{
		{name: "ordinary", limit: Limit{Rate: 10, Burst: 20}, ok: true},
		{name: "one per nanosecond", limit: Limit{Rate: 1e9, Burst: 1}, ok: true},
		{name: "one a day", limit: Limit{Rate: 1.0 / 86400, Burst: 1}, ok: true},
		{name: "zero rate", limit: Limit{Rate: 0, Burst: 1}, want: errRate},
		{name: "negative rate", limit: Limit{Rate: -1, Burst: 1}, want: errRate},
		{name: "NaN rate", limit: Limit{Rate: math.NaN(), Burst: 1}, want: errRate},
		{name: "infinite rate", limit: Limit{Rate: math.Inf(1), Burst: 1}, want: errRate},
		{name: "rate finer than a nanosecond", limit: Limit{Rate: 2e9, Burst: 1}},
		{name: "zero burst", limit: Limit{Rate: 1, Burst: 0}, want: errBurst},
		{name: "bucket fills over centuries", limit: Limit{Rate: 1e-10, Burst: 1}},
		{name: "burst overflows time", limit: Limit{Rate: 1, Burst: math.MaxInt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limit.Validate()
			switch {
			case tt.ok && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case !tt.ok && err == nil:
				t.Fatal("no error")
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if _, err := NewBucket(tt.limit); (err == nil) != tt.ok {
				t.Errorf("NewBucket error %v, want ok=%v", err, tt.ok)
			}
			if _, err := NewSet(tt.limit, 0); (err == nil) != tt.ok {
				t.Errorf("NewSet error %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestKeyHashesBytesAndStringsAlike(t *testing.T) {
	for _, s := range []string{"", "203.0.113.7", "x-api-key-value-0123456789"} {
		if Key([]byte(s)) != KeyString(s) {
			t.Errorf("Key and KeyString differ for %q", s)
		}
	}
	if KeyString("a") == KeyString("b") {
		t.Error("distinct identities share a key")
	}
}
