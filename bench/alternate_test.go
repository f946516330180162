package bench

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

func TestSlicesAlternateWhoGoesFirstAndSumEachSide(t *testing.T) {
	s := &suite{clk: 100}
	var order []int
	// The measured side spends 10 ticks per 1000 responses, the
	// reference 12, except in one slice pair where a burst of other work
	// doubles the measured side's cost.
	a := Alternated{Slices: 4}
	err := s.runSlices(context.Background(), &a, 4, func(k int, rd *Round) error {
		order = append(order, k)
		ticks := uint64(10)
		if k == 1 {
			ticks = 12
		}
		if k == 0 && len(order) == 4 { // the second pair, measured side second
			ticks = 20
		}
		rd.Load = &loadgen.Result{Responses: 1000}
		rd.CPUTicks, rd.BackendTicks = ticks, 3
		rd.CPUUsPerReq, rd.BackendCPUUsPerReq = float64(ticks)*10, 30
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmtInts(order); got != "01100110" {
		t.Errorf("order %s, want AB BA AB BA (01100110)", got)
	}
	if a.Measured.Responses != 4000 || a.Measured.CPUTicks != 50 || a.Ref.CPUTicks != 48 {
		t.Errorf("sums: measured %d responses %d ticks, reference %d ticks", a.Measured.Responses, a.Measured.CPUTicks, a.Ref.CPUTicks)
	}
	if a.Measured.CPUUsPerReq != 125 || a.Ref.CPUUsPerReq != 120 || a.Ref.BackendCPUUsPerReq != 30 {
		t.Errorf("per request: measured %.1f, reference %.1f + %.1f µs", a.Measured.CPUUsPerReq, a.Ref.CPUUsPerReq, a.Ref.BackendCPUUsPerReq)
	}
	// Slice pairs 100/120 three times and 200/120 once: the median leaves
	// the burst out, a ratio of sums (125/120) would not.
	if r := a.Ratio(false); r < 0.83 || r > 0.84 {
		t.Errorf("ratio %.3f, want the median pair's 0.833", r)
	}
	if r := a.Ratio(true); r < 0.86 || r > 0.87 {
		t.Errorf("ratio with the backend %.3f, want (100+30)/(120+30) = 0.867", r)
	}
}

func fmtInts(xs []int) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteByte(byte('0' + x))
	}
	return b.String()
}

func TestAFailedSliceEndsTheAlternation(t *testing.T) {
	s := &suite{clk: 100}
	a := Alternated{}
	calls := 0
	err := s.runSlices(context.Background(), &a, 8, func(_ int, rd *Round) error {
		calls++
		if calls == 3 {
			return errors.New("proxy exited")
		}
		rd.Load = &loadgen.Result{Responses: 1000}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "slice 2: proxy exited") || calls != 3 {
		t.Fatalf("err %v after %d slices", err, calls)
	}
}

func TestOnlyTheBudgetsHTTPPairsAreAlternatedEachOnce(t *testing.T) {
	rep := &Report{Scenarios: []ScenarioResult{
		measured("nginx", 20), measured("frontdesk-proxy", 22), measured("frontdesk-tracing", 22),
		measured("frontdesk-cache-hit", 9), measured("frontdesk-mock", 8),
		measured("floor-ws-echo", 10), measured("frontdesk-ws-echo", 12),
		{Name: "frontdesk-pipeline", Status: Failed, Reason: "crash"},
	}}
	var got []string
	for _, p := range AlternatedPairs(rep, Scenarios()) {
		got = append(got, p[0].Name+"/"+p[1].Name)
	}
	want := "frontdesk-proxy/nginx frontdesk-tracing/frontdesk-proxy frontdesk-cache-hit/nginx frontdesk-cache-hit/frontdesk-mock frontdesk-cache-hit/frontdesk-proxy"
	if strings.Join(got, " ") != want {
		t.Errorf("pairs\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

func TestTheBudgetJudgesAnAlternatedPairOnItsMedianSlicePair(t *testing.T) {
	alt := func(m, ref []float64, err string) Alternated {
		return Alternated{Scenario: "frontdesk-proxy", Reference: "nginx", Slices: len(m), SliceS: 1,
			Measured: Side{CPUUsPerReq: 1, Slices: m, SlicesBackend: make([]float64, len(m))},
			Ref:      Side{CPUUsPerReq: 1, Slices: ref, SlicesBackend: make([]float64, len(ref))}, Err: err}
	}
	for _, tc := range []struct {
		name    string
		alt     []Alternated
		verdict string
		detail  string
	}{
		{"alternated below the limit passes though the rounds were above it",
			[]Alternated{alt([]float64{9, 9.2, 30}, []float64{10, 10, 10}, "")}, Pass, "0.92× (median slice pair; pairs 0.90–3.00×; limit 0.95×); in the rounds: frontdesk-proxy 26.00 µs vs nginx 20.00 µs"},
		{"alternated above the limit fails",
			[]Alternated{alt([]float64{10, 10}, []float64{10, 10}, "")}, Fail, "1.00× (median slice pair"},
		{"a failed alternation leaves the rounds to judge",
			[]Alternated{alt(nil, nil, "nginx: exited")}, Fail, "1.30× (median of the rounds' ratios); limit 0.95×; alternating the pair failed: nginx: exited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := &Report{Scenarios: []ScenarioResult{measured("nginx", 20), measured("frontdesk-proxy", 26)}, Alternated: tc.alt}
			l := CheckMacro(rep)[0]
			if l.Verdict != tc.verdict || !strings.Contains(l.Detail, tc.detail) {
				t.Errorf("got %s %q\nwant %s …%q…", l.Verdict, l.Detail, tc.verdict, tc.detail)
			}
		})
	}
}

func TestAlternationTimeCountsEachPairOnce(t *testing.T) {
	opt := Options{Alternations: 8, Slice: time.Second}
	for _, name := range []string{"nginx", "frontdesk-proxy", "frontdesk-cache-hit", "frontdesk-ws-echo", "floor-ws-echo"} {
		sc, ok := scenarioNamed(name)
		if !ok {
			t.Fatalf("no scenario %s", name)
		}
		opt.Scenarios = append(opt.Scenarios, sc)
	}
	// proxy/nginx, cache-hit/nginx and cache-hit/proxy (the WebSocket
	// pair is not alternated): 3 × (16 × 1.8 s + 2 s).
	if got, want := alternationTime(opt), 3*(16*1800*time.Millisecond+2*time.Second); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	opt.Alternations = 0
	if got := alternationTime(opt); got != 0 {
		t.Errorf("without alternation: %s", got)
	}
}

func scenarioNamed(name string) (Scenario, bool) {
	for _, sc := range Scenarios() {
		if sc.Name == name {
			return sc, true
		}
	}
	return Scenario{}, false
}

func TestReportsListTheAlternatedPairs(t *testing.T) {
	rep := &Report{
		Scenarios: []ScenarioResult{measured("nginx", 20), measured("frontdesk-proxy", 22)},
		Settings:  Settings{Alternations: 2, SliceS: 1},
		Alternated: []Alternated{{Scenario: "frontdesk-proxy", Reference: "nginx", Slices: 2, SliceS: 1,
			Measured: Side{CPUUsPerReq: 18, Slices: []float64{18, 18}, SlicesBackend: []float64{0, 0}},
			Ref:      Side{CPUUsPerReq: 20, Slices: []float64{20, 20}, SlicesBackend: []float64{0, 0}}}},
	}
	rep.judge()
	var table strings.Builder
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	want := "alternated frontdesk-proxy      with nginx            2×1s:  18.00 vs  20.00 µs CPU/req, median slice pair 0.90×"
	for name, out := range map[string]string{"table": table.String(), "results.md": rep.Markdown()} {
		if !strings.Contains(out, want) || !strings.Contains(out, "every 1s (2 slices each") {
			t.Errorf("%s lacks the alternated pair:\n%s", name, out)
		}
	}
	if l := rep.Budget[0]; l.Verdict != Pass || l.Alternated != 0.9 {
		t.Errorf("budget line %s %v", l.Verdict, l.Alternated)
	}
}
