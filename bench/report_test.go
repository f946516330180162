package bench

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
	"github.com/valyala/fasthttp"
)

func newRequestCtx(path string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	return &ctx
}

func round(n int, rps, cpu float64) Round {
	return Round{Round: n, Position: 1, Load: &loadgen.Result{RPS: rps, Responses: int64(rps), Status2xx: int64(rps), P50Us: 500, P99Us: 2000, P999Us: 9000}, CPUUsPerReq: cpu, PeakRSSKiB: 10240}
}

func TestMedianRound(t *testing.T) {
	failed := Round{Round: 9, Err: "boom"}
	for _, tc := range []struct {
		name   string
		rounds []Round
		want   int // Round number of the median; 0 = none
	}{
		{"odd count takes the middle", []Round{round(1, 300, 1), round(2, 100, 1), round(3, 200, 1)}, 3},
		{"even count takes the lower middle", []Round{round(1, 400, 1), round(2, 100, 1), round(3, 300, 1), round(4, 200, 1)}, 4},
		{"failed rounds are left out", []Round{failed, round(2, 100, 1), round(3, 300, 1), failed}, 2},
		{"one round", []Round{round(1, 5, 1)}, 1},
		{"all failed", []Round{failed, failed}, 0},
		{"none", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := MedianRound(tc.rounds)
			if ok != (tc.want != 0) || (ok && got.Round != tc.want) {
				t.Errorf("got round %d (%v), want %d", got.Round, ok, tc.want)
			}
		})
	}
}

// sampleReport is a run with every status, summarized as Run does.
func sampleReport() *Report {
	r := &Report{
		Started:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Elapsed:  "3m10s",
		Machine:  Machine{CPUModel: "Test CPU", Cores: 2, Kernel: "6.1", Go: "go1.26", Nginx: "nginx/1.22.1", Wrk: "not installed", Taskset: "/usr/bin/taskset", ClkTck: 100},
		Settings: Settings{DurationS: 8, WarmupS: 1, Rounds: 3, Conns: 64, Pinning: "proxy on CPU 0"},
		Missing:  []string{"wrk"},
		Scenarios: []ScenarioResult{
			{Name: "direct", Proxy: Direct, Generator: Loadgen, Status: Measured, Rounds: []Round{round(1, 90000, 8), round(2, 100000, 8), round(3, 95000, 8)}},
			{Name: "direct-wrk", Proxy: Direct, Generator: Wrk, Status: Measured, Rounds: []Round{round(1, 92000, 8), round(2, 93000, 8), round(3, 91000, 8)}},
			{Name: "nginx", Proxy: Nginx, Generator: Loadgen, Status: Measured, Rounds: []Round{round(1, 40000, 20), round(2, 41000, 20), round(3, 39000, 20)}},
			{Name: "frontdesk-proxy", Proxy: Frontdesk, Generator: Loadgen, Reference: "nginx", Status: Measured, Rounds: []Round{round(1, 44000, 18), {Round: 2, Err: "probe GET /small: status 502"}, round(3, 46000, 18)}},
			{Name: "frontdesk-pipeline", Proxy: Frontdesk, Reference: "nginx", Status: NotYet, Reason: "frontdesk: line 5: access_log: not yet supported"},
			{Name: "frontdesk-cache-hit", Proxy: Frontdesk, Reference: "nginx", Status: Measured, Rounds: []Round{round(1, 60000, 12)}},
			{Name: "frontdesk-lambda", Proxy: Frontdesk, Status: Measured, Rounds: []Round{{Round: 1, Err: "frontdesk exited"}}},
			{Name: "nginx-64k", Proxy: Nginx, Status: Skipped, Reason: "nginx not installed"},
		},
	}
	r.summarize()
	return r
}

func TestSummarizeSetsMediansRatiosAndChecks(t *testing.T) {
	r := sampleReport()
	fp := r.Scenario("frontdesk-proxy")
	if fp.Median == nil || fp.Median.Round != 1 || !strings.Contains(fp.Reason, "1 of 3 rounds failed") {
		t.Fatalf("frontdesk-proxy median %+v reason %q", fp.Median, fp.Reason)
	}
	if fp.CPURatio == nil || *fp.CPURatio != 0.9 || fp.RPSRatio == nil || *fp.RPSRatio != 44000.0/40000 {
		t.Errorf("ratios cpu %v rps %v, want 0.9 and 1.1", fp.CPURatio, fp.RPSRatio)
	}
	if l := r.Scenario("frontdesk-lambda"); l.Status != Failed || l.Reason != "frontdesk exited" {
		t.Errorf("lambda: %s %q, want failed with the round's error", l.Status, l.Reason)
	}
	// Per round 90/92, 100/93, 95/91 thousand: the median ratio is 95/91.
	if c := r.WrkCheck; c == nil || c.LoadgenRPS != 95000 || c.WrkRPS != 92000 || c.Ratio != 95000.0/91000 || len(c.Ratios) != 3 || !c.Pass {
		t.Errorf("wrk check %+v, want median rounds 95000 vs 92000 and ratio 95/91 passing", c)
	}
	// proxy 0.9× ≤ 0.95; pipeline not yet; tracing not in the run; Lambda
	// failed; cluster not in the run; cache
	// 0.6× > 0.5; the logged cache hit and the mock not in the run; cache
	// 12 µs vs proxy 18 µs with no backend figures (0.67×) > 0.4; the
	// WebSocket scenarios not in the run.
	want := []string{Pass, NotYetLine, NotMeasured, Fail, NotMeasured, Fail, NotMeasured, NotMeasured, Fail, NotMeasured, NotMeasured}
	if len(r.Budget) != len(want) {
		t.Fatalf("%d budget lines, want %d: %v", len(r.Budget), len(want), r.Budget)
	}
	for i, l := range r.Budget {
		if l.Verdict != want[i] {
			t.Errorf("budget %d %q: %s, want %s", i, l.Name, l.Verdict, want[i])
		}
	}
}

func TestBackendBudgetCountsTheUpstreamsCPU(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		hit, hitBackend       float64
		proxy, proxyBackend   float64
		verdict, wantInDetail string
	}{
		{"hit never reaches the backend", 8, 0.1, 17, 9, Pass, "8.00 + 0.10 µs vs frontdesk-proxy 17.00 + 9.00 µs"},
		{"hit that calls the backend", 8, 9, 17, 9, Fail, "; 0.65×"},
		{"gateway alone would pass", 6, 5, 17, 0, Fail, "; 0.65×"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hit, proxy := round(1, 100000, tc.hit), round(1, 50000, tc.proxy)
			hit.BackendCPUUsPerReq, proxy.BackendCPUUsPerReq = tc.hitBackend, tc.proxyBackend
			r := &Report{Scenarios: []ScenarioResult{
				{Name: "frontdesk-proxy", Proxy: Frontdesk, Status: Measured, Rounds: []Round{proxy}},
				{Name: "frontdesk-cache-hit", Proxy: Frontdesk, Status: Measured, Rounds: []Round{hit}},
			}}
			r.summarize()
			var line *BudgetLine
			for i := range r.Budget {
				if strings.Contains(r.Budget[i].Name, "gateway and backend") {
					line = &r.Budget[i]
				}
			}
			if line == nil {
				t.Fatalf("no gateway-and-backend line in %v", r.Budget)
			}
			if line.Verdict != tc.verdict || !strings.Contains(line.Detail, tc.wantInDetail) {
				t.Errorf("%s %q, want %s with %q", line.Verdict, line.Detail, tc.verdict, tc.wantInDetail)
			}
		})
	}
}

func TestWrkCheckFailsOutsideTenPercent(t *testing.T) {
	r := sampleReport()
	r.Scenario("direct-wrk").Rounds = []Round{round(1, 80000, 8)}
	r.summarize()
	if c := r.WrkCheck; c == nil || c.Pass || c.Ratio != 90000.0/80000 {
		t.Fatalf("wrk check %+v, want a failure at 90000 vs 80000 in round 1", c)
	}
	if !strings.Contains(r.wrkLine(), "FAIL") {
		t.Errorf("wrk line %q lacks FAIL", r.wrkLine())
	}
}

func TestTableShowsEveryScenario(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"scenario", "req/s", "p99.9", "CPU µs/req", "backend CPU µs/req", "CPU ratio",
		"frontdesk-proxy", "44000", "18.00", "10.0 MiB", "0.90×", "1.10×",
		"frontdesk-pipeline", "not yet available", "nginx-64k", "skipped",
		"Generator vs wrk on direct: PASS", "Not installed: wrk.",
		"FAIL", "cache hit", "3 rounds × 8s (+1s warm-up), 64 connections",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "scenario") || !strings.HasPrefix(lines[1], "direct ") {
		t.Errorf("table starts %q / %q, want the header then direct", lines[0], lines[1])
	}
}

func TestMarkdownHasMachineTableAndChecks(t *testing.T) {
	md := sampleReport().Markdown()
	for _, want := range []string{
		"# frontdesk benchmark results", "| CPU | Test CPU |", "| nginx | nginx/1.22.1 |", "| wrk | not installed |",
		"| frontdesk-proxy | measured | 44000 |", "| frontdesk-pipeline | not yet available | — |",
		"![requests/s and CPU per request by scenario](chart.svg)",
		"**frontdesk-pipeline**", "not yet available: frontdesk: line 5", "Generator vs wrk on direct: PASS",
		"Not installed: wrk.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table row has as many cells as the header.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| scenario |") {
			cols = strings.Count(line, "|")
		} else if cols > 0 && strings.HasPrefix(line, "| ") && strings.Count(line, "|")-strings.Count(line, `\|`) != cols {
			t.Errorf("row %q does not have %d separators", line, cols)
		}
	}
}

func TestSVGIsWellFormedWithABarPerMeasuredScenario(t *testing.T) {
	svg := sampleReport().SVG()
	d := xml.NewDecoder(strings.NewReader(svg))
	rects := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	// direct, direct-wrk, nginx, frontdesk-proxy, frontdesk-cache-hit: two
	// panels of five bars, plus the background and four legend swatches.
	if want := 2*5 + 1 + 4; rects != want {
		t.Errorf("%d rects, want %d", rects, want)
	}
	for _, want := range []string{"Requests per second", "CPU µs per request", "frontdesk-proxy", "18.00 µs", "44000"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, "frontdesk-pipeline") {
		t.Error("a scenario that was not measured has no bar")
	}
}

func TestSVGColoursEveryProxy(t *testing.T) {
	r := &Report{Scenarios: []ScenarioResult{
		{Name: "varnish-cache-hit", Proxy: Varnish, Status: Measured, Rounds: []Round{round(1, 1, 1)}},
		{Name: "kong", Proxy: External, Status: Measured, Rounds: []Round{round(1, 1, 1)}},
	}}
	r.summarize()
	svg := r.SVG()
	if strings.Contains(svg, `fill=""`) {
		t.Errorf("a bar without a colour:\n%s", svg)
	}
	if !strings.Contains(svg, `fill="`+barColors[otherProxies]+`"`) || !strings.Contains(svg, ">other</text>") {
		t.Errorf("proxies without their own colour are not drawn and named as the others:\n%s", svg)
	}
}

func TestSVGEscapesNames(t *testing.T) {
	r := &Report{Scenarios: []ScenarioResult{{Name: "a<b&c", Proxy: Frontdesk, Status: Measured, Rounds: []Round{round(1, 1, 1)}}}}
	r.summarize()
	if err := xml.Unmarshal([]byte(r.SVG()), new(struct{})); err != nil {
		t.Fatalf("chart with odd names is not XML: %v", err)
	}
}

func TestWriteFilesAndReadBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	r := sampleReport()
	if err := r.WriteFiles(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "results.md", "chart.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	back, err := ReadReport(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scenario("frontdesk-proxy"); got == nil || got.Median == nil || got.Median.CPUUsPerReq != 18 || *got.CPURatio != 0.9 {
		t.Errorf("read back %+v", got)
	}
	if back.Machine.Nginx != "nginx/1.22.1" || back.Settings.Conns != 64 || len(back.Budget) != len(Budgets()) {
		t.Errorf("read back machine %+v settings %+v budget %d", back.Machine, back.Settings, len(back.Budget))
	}
}

func TestWrkToResultKeepsCountsConsistent(t *testing.T) {
	w, err := ParseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	r := wrkToResult(w, 64)
	if r.Sent != r.Responses+r.ErrorCount() || r.Status2xx+r.Non2xx != r.Responses || r.P999Us != 0 || r.P50Us != 601 {
		t.Errorf("result %+v", r)
	}
	if wrkSeconds(1500*time.Millisecond) != "2s" || wrkSeconds(0) != "1s" {
		t.Errorf("wrk durations %s %s", wrkSeconds(1500*time.Millisecond), wrkSeconds(0))
	}
}

func TestNoisyMedianRoundsAreFlagged(t *testing.T) {
	r := sampleReport()
	r.Scenario("frontdesk-proxy").Median.OtherCPU = 0.84
	r.Budget = CheckMacro(r)
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Median rounds measured under other load: frontdesk-proxy (84%)", "measured under other load (frontdesk-proxy 84%, nginx 0%)", "84%"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if !strings.Contains(r.Markdown(), "Median rounds measured under other load: frontdesk-proxy (84%)") {
		t.Error("markdown does not flag the noisy round")
	}
	if strings.Contains(sampleReport().Markdown(), "under other load:") {
		t.Error("a quiet run is not flagged")
	}
}

// A machine that drifts between rounds moves every scenario the same way;
// the ratio is taken within each round, so the drift cancels.
func TestRatiosAreTakenWithinEachRound(t *testing.T) {
	rounds := func(cpu ...float64) []Round {
		var out []Round
		for i, c := range cpu {
			out = append(out, Round{Round: i + 1, Load: &loadgen.Result{Responses: 1000, RPS: 1000}, CPUUsPerReq: c})
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		s, ref   []float64
		want     float64
		medianOf float64 // what the ratio of the medians would say
	}{
		{"drift cancels", []float64{11, 16, 19}, []float64{10, 15, 20}, 1.0666666666666667, 16.0 / 15},
		{"a failed reference round is left out", []float64{10, 20, 30}, []float64{5, 0, 15}, 2, 20.0 / 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &ScenarioResult{Name: "s", Rounds: rounds(tc.s...)}
			ref := &ScenarioResult{Name: "ref", Rounds: rounds(tc.ref...)}
			for i, c := range tc.ref {
				if c == 0 {
					ref.Rounds[i].Err, ref.Rounds[i].Load = "failed", nil
				}
			}
			got := PairedRatio(s, ref, func(r *Round) float64 { return r.CPUUsPerReq })
			if math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("ratio %.4f, want %.4f (the ratio of the medians would be %.4f)", got, tc.want, tc.medianOf)
			}
		})
	}
}
