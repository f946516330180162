package bench

import (
	"strings"
	"testing"
	"time"
)

func TestFitDurationShortensOnlyWhenTheRunWouldNotFit(t *testing.T) {
	base := Options{Rounds: 3, Warmup: time.Second, Duration: 8 * time.Second, TimeLimit: 270 * time.Second}
	for _, tc := range []struct {
		name      string
		opt       Options
		scenarios int
		want      time.Duration
	}{
		{"fits", base, 8, 8 * time.Second},              // 24 × 9.5s = 228s
		{"too long", base, 11, 6600 * time.Millisecond}, // 270s / 33 = 8.18s, less 1.5s
		{"never below 3s", base, 60, 3 * time.Second},   // 270s / 180 = 1.5s
		{"no limit", Options{Rounds: 3, Duration: time.Minute}, 50, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, note := fitDuration(tc.opt, tc.scenarios)
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if (got != tc.opt.Duration) != strings.Contains(note, "shortened") {
				t.Errorf("note %q does not match the change", note)
			}
		})
	}
}

func TestAccountSeparatesTheMachinesOtherWork(t *testing.T) {
	s := &suite{clk: 100}
	t0 := time.Unix(100, 0)
	before := sample{at: t0, system: SystemTicks{Busy: 1000}, target: 50, helpers: 70}
	// Two seconds: the machine ran 300 ticks, of which the proxy 150, the
	// upstream and generator 80, and the generator's exit status 20 more:
	// 50 ticks over 2s is a quarter of a CPU elsewhere.
	after := sample{at: t0.Add(2 * time.Second), system: SystemTicks{Busy: 1300}, target: 200, helpers: 150}
	var rd Round
	s.account(&rd, before, after, 20)
	if rd.CPUTicks != 150 || rd.OtherCPU != 0.25 {
		t.Errorf("cpu ticks %d other %.3f, want 150 and 0.25", rd.CPUTicks, rd.OtherCPU)
	}
	// Sampling at slightly different moments can make ours exceed the
	// machine's busy time; that is no other load, not a negative one.
	after.system.Busy = 1100
	rd = Round{}
	s.account(&rd, before, after, 20)
	if rd.OtherCPU != 0 {
		t.Errorf("other %.3f, want 0", rd.OtherCPU)
	}
}
