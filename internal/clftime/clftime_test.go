package clftime

import (
	"testing"
	"time"
)

const layout = "02/Jan/2006:15:04:05 +0000"

func TestAppendIsCLFInUTC(t *testing.T) {
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"UTC", time.Date(2015, time.April, 9, 12, 34, 56, 0, time.UTC), "09/Apr/2015:12:34:56 +0000"},
		{"other zone converted", time.Date(2015, time.December, 31, 23, 30, 0, 0, time.FixedZone("X", -90*60)), "01/Jan/2016:01:00:00 +0000"},
		{"single digits padded", time.Date(2009, time.January, 2, 3, 4, 5, 0, time.UTC), "02/Jan/2009:03:04:05 +0000"},
		{"every month's name", time.Date(2026, time.September, 30, 0, 0, 0, 0, time.UTC), "30/Sep/2026:00:00:00 +0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Append(nil, tt.at)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if std := tt.at.UTC().Format(layout); std != tt.want {
				t.Errorf("time.Format gives %q, want %q", std, tt.want)
			}
		})
	}
	for m := time.January; m <= time.December; m++ {
		at := time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC)
		if got, want := string(Append(nil, at)), at.Format(layout); got != want {
			t.Errorf("%v: got %q, want %q", m, got, want)
		}
	}
}

// TestCacheFollowsTheSecond: the cached text is the second's own, a time
// in the next second (or an earlier one, from a slow request) gets its
// own, and a zone other than UTC is converted as without the cache.
func TestCacheFollowsTheSecond(t *testing.T) {
	var c Cache
	base := time.Date(2026, time.December, 31, 23, 59, 58, 0, time.UTC)
	for _, at := range []time.Time{
		base,
		base.Add(999 * time.Millisecond),
		base.Add(time.Second),
		base.Add(2 * time.Second),
		base.Add(1500 * time.Millisecond),
		base.Add(2 * time.Second).In(time.FixedZone("X", 5*3600)),
	} {
		if got, want := string(c.Append([]byte("x"), at)), "x"+at.UTC().Format(layout); got != want {
			t.Errorf("%v: got %q, want %q", at, got, want)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	at := time.Date(2026, time.December, 6, 7, 30, 0, 0, time.UTC)
	buf := make([]byte, 0, 64)
	b.Run("clftime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = Append(buf[:0], at)
		}
	})
	b.Run("cached", func(b *testing.B) {
		var c Cache
		b.ReportAllocs()
		for b.Loop() {
			buf = c.Append(buf[:0], at)
		}
	})
	b.Run("AppendFormat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = at.AppendFormat(buf[:0], "02/Jan/2006:15:04:05 -0700")
		}
	})
}
