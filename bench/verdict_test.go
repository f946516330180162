package bench

import (
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

// result builds a measured scenario from its rounds' CPU µs/request and
// other load; the median round is picked as summarize picks it.
func result(name string, proxy ProxyKind, group string, cpu []float64, other float64) ScenarioResult {
	s := ScenarioResult{Name: name, Proxy: proxy, Group: group, Status: Measured}
	for i, c := range cpu {
		s.Rounds = append(s.Rounds, Round{Round: i + 1, CPUUsPerReq: c, OtherCPU: other,
			Load: &loadgen.Result{RPS: 1000 + float64(i), Responses: 1000, Status2xx: 1000}})
	}
	m, _ := MedianRound(s.Rounds)
	s.Median = &m
	return s
}

func TestVerdict(t *testing.T) {
	notMeasured := result("kong", External, "small", []float64{0}, 0.02)
	notMeasured.Median.CPUNotMeasured = true
	notMeasured.Rounds[0].CPUNotMeasured = true
	// One busy round that is not the median one: the machine was mostly
	// quiet.
	oneBusyRound := result("frontdesk-proxy", Frontdesk, "small", []float64{15, 15.1, 15.2}, 0.05)
	oneBusyRound.Rounds[2].OtherCPU = 0.5
	for _, tc := range []struct {
		name      string
		scenarios []ScenarioResult
		missing   []string
		want      []string
		not       []string
	}{
		{
			name: "clear lead on a quiet machine",
			scenarios: []ScenarioResult{
				result("nginx", Nginx, "small", []float64{17.0, 17.1, 17.2}, 0.03),
				result("frontdesk-proxy", Frontdesk, "small", []float64{15.2, 15.3, 15.4}, 0.05),
			},
			want: []string{"frontdesk-proxy was the cheapest per request at 15.30 µs of CPU, 11% below nginx (17.10 µs)", "beyond the 1% their rounds spread over",
				"The machine was quiet: other work took 4% of a CPU on average and 5% at worst (frontdesk-proxy, round 1)"},
			not: []string{"not a clear lead", "noisy"},
		},
		{
			name: "margin inside the spread, the rest as ratios, a noisy machine",
			scenarios: []ScenarioResult{
				result("nginx", Nginx, "small", []float64{16.0, 17.0, 19.0}, 0.40),
				result("frontdesk-proxy", Frontdesk, "small", []float64{16.5, 16.6, 16.8}, 0.10),
				result("haproxy", Haproxy, "small", []float64{20.4, 20.4, 20.4}, 0.10),
				result("frontdesk-pipeline", Frontdesk, "pipeline", []float64{30, 31, 32}, 0.10),
			},
			want: []string{"frontdesk-proxy was the cheapest per request at 16.60 µs of CPU, 2% below nginx (17.00 µs); then haproxy 1.23×, within the 18% their rounds spread over, so not a clear lead.",
				"The machine was noisy", "40% at worst (nginx, round 1)", "1 median round(s) ran above 25%"},
			not: []string{"frontdesk-pipeline was"},
		},
		{
			name: "one group per comparison, groups of one kind skipped, targets without CPU left out",
			scenarios: []ScenarioResult{
				result("nginx-tls", Nginx, "tls", []float64{14}, 0),
				result("frontdesk-tls", Frontdesk, "tls", []float64{14.7}, 0),
				result("direct", Direct, "direct", []float64{5}, 0),
				result("direct-wrk", Direct, "direct", []float64{5}, 0),
				result("frontdesk-pipeline", Frontdesk, "pipeline", []float64{30}, 0),
				result("frontdesk-cluster", Frontdesk, "pipeline", []float64{33}, 0),
				result("nginx", Nginx, "small", []float64{17}, 0),
				notMeasured,
			},
			want: []string{"nginx-tls was the cheapest per request at 14.00 µs of CPU, 5% below frontdesk-tls (14.70 µs) (one round each: no spread to judge the margin by).",
				"The machine was quiet"},
			not: []string{"direct", "frontdesk-pipeline was", "kong", "nginx was"},
		},
		{
			name:      "nothing to compare says what is missing",
			scenarios: []ScenarioResult{oneBusyRound},
			missing:   []string{"nginx", "wrk", "caddy"},
			want:      []string{"No two proxies were measured side by side in this run, so there is nobody to compare (not installed: nginx, caddy).", "The machine was mostly quiet: other work took 20% of a CPU on average, 50% at worst (frontdesk-proxy, round 3), which no median round reached."},
		},
		{
			name:      "no round succeeded",
			scenarios: []ScenarioResult{{Name: "nginx", Proxy: Nginx, Status: Failed, Rounds: []Round{{Round: 1, Err: "boom"}}}},
			want:      []string{"No two proxies", "No round succeeded"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Report{Scenarios: tc.scenarios, Missing: tc.missing}
			got := r.MakeVerdict()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("verdict lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("verdict has %q:\n%s", n, got)
				}
			}
			if strings.Contains(got, "\n") {
				t.Errorf("verdict is not one paragraph:\n%s", got)
			}
		})
	}
}

func TestVerdictIsInTheReportFiles(t *testing.T) {
	r := &Report{Scenarios: []ScenarioResult{
		result("nginx", Nginx, "small", []float64{17}, 0),
		result("frontdesk-proxy", Frontdesk, "small", []float64{16}, 0),
	}}
	r.summarize()
	if !strings.Contains(r.Verdict, "frontdesk-proxy was the cheapest") {
		t.Fatalf("verdict %q", r.Verdict)
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "\nVerdict: "+r.Verdict+"\n") {
		t.Errorf("table output lacks the verdict:\n%s", b.String())
	}
	if !strings.Contains(r.Markdown(), "## Verdict\n\n"+r.Verdict+"\n") {
		t.Errorf("results.md lacks the verdict:\n%s", r.Markdown())
	}
}
