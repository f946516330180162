package limiter

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func date(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestPeriodBoundsFollowUTCCalendar(t *testing.T) {
	plus2 := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		name            string
		period          Period
		at              time.Time
		wantStart, want time.Time
	}{
		{"day", Day, date(2025, 6, 15, 13, 45), date(2025, 6, 15, 0, 0), date(2025, 6, 16, 0, 0)},
		{"day starts at midnight", Day, date(2025, 6, 15, 0, 0), date(2025, 6, 15, 0, 0), date(2025, 6, 16, 0, 0)},
		{"day ends just before midnight", Day, date(2025, 6, 15, 23, 59), date(2025, 6, 15, 0, 0), date(2025, 6, 16, 0, 0)},
		{"day counts UTC, not the caller's zone", Day, time.Date(2025, 6, 16, 1, 0, 0, 0, plus2), date(2025, 6, 15, 0, 0), date(2025, 6, 16, 0, 0)},
		{"day over new year", Day, date(2024, 12, 31, 12, 0), date(2024, 12, 31, 0, 0), date(2025, 1, 1, 0, 0)},
		{"day 29 February", Day, date(2024, 2, 29, 12, 0), date(2024, 2, 29, 0, 0), date(2024, 3, 1, 0, 0)},
		{"week starts Monday", Week, date(2025, 6, 16, 0, 0), date(2025, 6, 16, 0, 0), date(2025, 6, 23, 0, 0)},
		{"week ends Sunday night", Week, date(2025, 6, 22, 23, 59), date(2025, 6, 16, 0, 0), date(2025, 6, 23, 0, 0)},
		{"week midweek", Week, date(2025, 6, 18, 9, 0), date(2025, 6, 16, 0, 0), date(2025, 6, 23, 0, 0)},
		{"week across new year", Week, date(2025, 1, 1, 0, 0), date(2024, 12, 30, 0, 0), date(2025, 1, 6, 0, 0)},
		{"week of the epoch", Week, date(1970, 1, 1, 0, 0), date(1969, 12, 29, 0, 0), date(1970, 1, 5, 0, 0)},
		{"month", Month, date(2025, 6, 15, 13, 45), date(2025, 6, 1, 0, 0), date(2025, 7, 1, 0, 0)},
		{"month December rolls into January", Month, date(2025, 12, 31, 23, 59), date(2025, 12, 1, 0, 0), date(2026, 1, 1, 0, 0)},
		{"month January", Month, date(2026, 1, 1, 0, 0), date(2026, 1, 1, 0, 0), date(2026, 2, 1, 0, 0)},
		{"month February in a leap year", Month, date(2024, 2, 29, 23, 59), date(2024, 2, 1, 0, 0), date(2024, 3, 1, 0, 0)},
		{"month February in a common year", Month, date(2025, 2, 28, 23, 59), date(2025, 2, 1, 0, 0), date(2025, 3, 1, 0, 0)},
		{"month February 2000, leap by the 400 rule", Month, date(2000, 2, 29, 0, 0), date(2000, 2, 1, 0, 0), date(2000, 3, 1, 0, 0)},
		{"month February 2100, not leap", Month, date(2100, 2, 28, 12, 0), date(2100, 2, 1, 0, 0), date(2100, 3, 1, 0, 0)},
		{"month counts UTC, not the caller's zone", Month, time.Date(2026, 1, 1, 1, 0, 0, 0, plus2), date(2025, 12, 1, 0, 0), date(2026, 1, 1, 0, 0)},
		{"a clock before 1970 counts in the first period", Day, date(1960, 5, 5, 0, 0), date(1970, 1, 1, 0, 0), date(1970, 1, 2, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := tt.period.Bounds(tt.at)
			if !start.Equal(tt.wantStart) || !end.Equal(tt.want) {
				t.Errorf("%v at %v: [%v, %v), want [%v, %v)", tt.period, tt.at, start, end, tt.wantStart, tt.want)
			}
		})
	}
}

func TestParsePeriodReadsConfigSpelling(t *testing.T) {
	for _, p := range []Period{Day, Week, Month} {
		got, err := ParsePeriod(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePeriod(%q) = %v, %v", p.String(), got, err)
		}
	}
	for _, s := range []string{"", "DAY", "year", "hour"} {
		if _, err := ParsePeriod(s); err == nil {
			t.Errorf("ParsePeriod(%q) accepted", s)
		}
	}
}

func mustQuotas(t testing.TB, m map[uint64]Quota) *Quotas {
	t.Helper()
	q, err := NewQuotas(m)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestNewQuotasRejectsInvalidQuotas(t *testing.T) {
	tests := []struct {
		name string
		q    Quota
	}{
		{"no period", Quota{Limit: 10}},
		{"unknown period", Quota{Limit: 10, Period: Month + 1}},
		{"negative limit", Quota{Limit: -1, Period: Day}},
		{"limit above the counter", Quota{Limit: MaxQuota + 1, Period: Day}},
	}
	for _, tt := range tests {
		if _, err := NewQuotas(map[uint64]Quota{7: tt.q}); err == nil {
			t.Errorf("%s: accepted %+v", tt.name, tt.q)
		}
	}
	if _, err := NewQuotas(map[uint64]Quota{7: {Limit: 0, Period: Day}, 8: {Limit: MaxQuota, Period: Month}}); err != nil {
		t.Errorf("valid quotas rejected: %v", err)
	}
}

type take struct {
	at            time.Time
	ok            bool
	used, remains int64
	reset         time.Time
}

func TestQuotaTakeCountsAndResetsAtPeriodEnd(t *testing.T) {
	tests := []struct {
		name  string
		quota Quota
		takes []take
	}{
		{
			name:  "day",
			quota: Quota{Limit: 2, Period: Day},
			takes: []take{
				{date(2025, 3, 10, 8, 0), true, 1, 1, date(2025, 3, 11, 0, 0)},
				{date(2025, 3, 10, 9, 0), true, 2, 0, date(2025, 3, 11, 0, 0)},
				{date(2025, 3, 10, 23, 59), false, 2, 0, date(2025, 3, 11, 0, 0)},
				{date(2025, 3, 11, 0, 0), true, 1, 1, date(2025, 3, 12, 0, 0)},
			},
		},
		{
			name:  "week resets on Monday",
			quota: Quota{Limit: 1, Period: Week},
			takes: []take{
				{date(2025, 3, 12, 8, 0), true, 1, 0, date(2025, 3, 17, 0, 0)},
				{date(2025, 3, 16, 23, 59), false, 1, 0, date(2025, 3, 17, 0, 0)},
				{date(2025, 3, 17, 0, 0), true, 1, 0, date(2025, 3, 24, 0, 0)},
			},
		},
		{
			name:  "month rolls over the year",
			quota: Quota{Limit: 1, Period: Month},
			takes: []take{
				{date(2025, 12, 31, 23, 0), true, 1, 0, date(2026, 1, 1, 0, 0)},
				{date(2025, 12, 31, 23, 59), false, 1, 0, date(2026, 1, 1, 0, 0)},
				{date(2026, 1, 1, 0, 0), true, 1, 0, date(2026, 2, 1, 0, 0)},
			},
		},
		{
			name:  "idle periods in between start from zero",
			quota: Quota{Limit: 3, Period: Day},
			takes: []take{
				{date(2025, 3, 10, 8, 0), true, 1, 2, date(2025, 3, 11, 0, 0)},
				{date(2025, 4, 2, 8, 0), true, 1, 2, date(2025, 4, 3, 0, 0)},
			},
		},
		{
			name:  "a lagging clock counts in the newer period",
			quota: Quota{Limit: 2, Period: Day},
			takes: []take{
				{date(2025, 3, 11, 0, 0), true, 1, 1, date(2025, 3, 12, 0, 0)},
				{date(2025, 3, 10, 23, 59), true, 2, 0, date(2025, 3, 12, 0, 0)},
				{date(2025, 3, 10, 23, 59), false, 2, 0, date(2025, 3, 12, 0, 0)},
			},
		},
		{
			name:  "a zero quota admits nothing",
			quota: Quota{Limit: 0, Period: Day},
			takes: []take{
				{date(2025, 3, 10, 8, 0), false, 0, 0, date(2025, 3, 11, 0, 0)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := mustQuotas(t, map[uint64]Quota{42: tt.quota})
			for i, tk := range tt.takes {
				used, rem, reset, ok := q.Take(42, tk.at)
				if ok != tk.ok || used != tk.used || rem != tk.remains || !reset.Equal(tk.reset) {
					t.Errorf("take %d at %v: (%d, %d, %v, %v), want (%d, %d, %v, %v)",
						i, tk.at, used, rem, reset, ok, tk.used, tk.remains, tk.reset, tk.ok)
				}
			}
		})
	}
}

func TestQuotaUnknownKeyFailsClosed(t *testing.T) {
	q := mustQuotas(t, map[uint64]Quota{1: {Limit: 5, Period: Day}})
	now := date(2025, 3, 10, 8, 0)
	if used, rem, reset, ok := q.Take(2, now); ok || used != 0 || rem != 0 || !reset.IsZero() {
		t.Errorf("unknown key: (%d, %d, %v, %v)", used, rem, reset, ok)
	}
	if _, _, _, found := q.Peek(2, now); found {
		t.Error("Peek found an unknown key")
	}
}

func TestQuotaAdmitsExactlyLimitUnderConcurrency(t *testing.T) {
	const limit, workers, tries = 1000, 8, 500
	q := mustQuotas(t, map[uint64]Quota{9: {Limit: limit, Period: Day}})
	now := date(2025, 3, 10, 8, 0)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range tries {
				if _, _, _, ok := q.Take(9, now); ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != limit {
		t.Errorf("admitted %d of %d tries, want exactly %d", got, workers*tries, limit)
	}
	if used, rem, _, _ := q.Peek(9, now); used != limit || rem != 0 {
		t.Errorf("Peek: used %d, remaining %d", used, rem)
	}
}

func TestQuotaPeekDoesNotCount(t *testing.T) {
	q := mustQuotas(t, map[uint64]Quota{1: {Limit: 5, Period: Day}})
	now := date(2025, 3, 10, 8, 0)
	q.Take(1, now)
	for range 3 {
		used, rem, reset, found := q.Peek(1, now)
		if !found || used != 1 || rem != 4 || !reset.Equal(date(2025, 3, 11, 0, 0)) {
			t.Fatalf("Peek: (%d, %d, %v, %v)", used, rem, reset, found)
		}
	}
	if used, rem, _, _ := q.Peek(1, now.Add(24*time.Hour)); used != 0 || rem != 5 {
		t.Errorf("Peek the next day: used %d, remaining %d", used, rem)
	}
}

func TestQuotaSnapshotRestoreCarriesCountsAcrossReload(t *testing.T) {
	now := date(2025, 3, 10, 8, 0)
	old := mustQuotas(t, map[uint64]Quota{
		1: {Limit: 10, Period: Day},
		2: {Limit: 10, Period: Day},
		3: {Limit: 10, Period: Day},
		4: {Limit: 10, Period: Month},
	})
	for k := uint64(1); k <= 4; k++ {
		for range int(k) + 2 {
			old.Take(k, now)
		}
	}
	snap := old.Snapshot()

	next := mustQuotas(t, map[uint64]Quota{
		1: {Limit: 10, Period: Day},  // unchanged: carried
		2: {Limit: 4, Period: Day},   // lowered below use: carried, none left
		3: {Limit: 10, Period: Week}, // period changed: starts over
		5: {Limit: 10, Period: Day},  // new key: starts at zero
	})
	next.Take(1, now) // a request the new Quotas counted before Restore
	if got := next.Restore(snap); got != 2 {
		t.Errorf("Restore carried %d keys, want 2", got)
	}
	tests := []struct {
		key       uint64
		used, rem int64
	}{
		{1, 3 + 1, 10 - 4},
		{2, 4, 0},
		{3, 0, 10},
		{5, 0, 10},
	}
	for _, tt := range tests {
		used, rem, _, _ := next.Peek(tt.key, now)
		if used != tt.used || rem != tt.rem {
			t.Errorf("key %d: used %d, remaining %d; want %d, %d", tt.key, used, rem, tt.used, tt.rem)
		}
	}

	// A snapshot from an earlier period does not count against this one.
	later := mustQuotas(t, map[uint64]Quota{1: {Limit: 10, Period: Day}})
	later.Take(1, now.Add(24*time.Hour))
	later.Restore(snap)
	if used, _, _, _ := later.Peek(1, now.Add(24*time.Hour)); used != 1 {
		t.Errorf("yesterday's count carried into today: used %d, want 1", used)
	}
}
