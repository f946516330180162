package bench

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const microOutput = `goos: linux
goarch: amd64
pkg: github.com/frontdeskgw/frontdesk/router
cpu: AMD EPYC
BenchmarkLookup/literal-2         	54000000	        21.68 ns/op	       0 B/op	       0 allocs/op
BenchmarkFasthttpRouterLookup/param-2           	10000000	       115.7 ns/op	      37 B/op	       3 allocs/op
BenchmarkFasthttpRouterLookup/greedy-2          	10000000	        99.64 ns/op	      48 B/op	       3 allocs/op
PASS
ok  	github.com/frontdeskgw/frontdesk/router	3.115s
# github.com/frontdeskgw/frontdesk/lambda
lambda/event.go:12:2: undefined: nope
FAIL	github.com/frontdeskgw/frontdesk/lambda [build failed]
goos: linux
goarch: amd64
pkg: github.com/frontdeskgw/frontdesk/gateway
cpu: AMD EPYC
BenchmarkMockRoute-2   	 7000000	       172 ns/op	       0 B/op	       0 allocs/op
BenchmarkProxyGET-2    	  200000	      5556 ns/op	     864 B/op	       5 allocs/op
--- FAIL: BenchmarkBroken
    gateway_test.go:9: boom
FAIL
FAIL	github.com/frontdeskgw/frontdesk/gateway	2.0s
FAIL
`

func TestParseBenchOutput(t *testing.T) {
	res, failures := ParseBenchOutput(microOutput)
	var got []string
	for _, r := range res {
		got = append(got, r.Pkg[strings.LastIndex(r.Pkg, "/")+1:]+" "+r.Name)
	}
	want := []string{"router BenchmarkLookup/literal-2", "router BenchmarkFasthttpRouterLookup/param-2",
		"router BenchmarkFasthttpRouterLookup/greedy-2", "gateway BenchmarkMockRoute-2", "gateway BenchmarkProxyGET-2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("benchmarks %q, want %q", got, want)
	}
	if res[4].AllocsOp != 5 || res[4].NsOp != 5556 {
		t.Errorf("ProxyGET parsed as %+v", res[4])
	}
	wantFail := []string{"github.com/frontdeskgw/frontdesk/lambda: build failed",
		"github.com/frontdeskgw/frontdesk/gateway BenchmarkBroken failed",
		"github.com/frontdeskgw/frontdesk/gateway: failed"}
	if !reflect.DeepEqual(failures, wantFail) {
		t.Errorf("failures %q, want %q", failures, wantFail)
	}
}

func TestCheckMicro(t *testing.T) {
	for _, tc := range []struct {
		name     string
		results  []MicroResult
		failures []string
		want     []string // verdict and a piece of the detail, in order
	}{
		{
			name:    "all zero passes",
			results: []MicroResult{{Pkg: "p", Name: "BenchmarkA-2"}, {Pkg: "q", Name: "BenchmarkB/x-2"}},
			want:    []string{"PASS 2 benchmarks in 2 packages"},
		},
		{
			name:    "an allocating benchmark fails by name",
			results: []MicroResult{{Pkg: "p", Name: "BenchmarkA-2"}, {Pkg: "p", Name: "BenchmarkB-2", AllocsOp: 5}},
			want:    []string{"FAIL p BenchmarkB-2: 5 allocs/op", "FAIL 1 of 2 benchmarks allocate"},
		},
		{
			name: "excluded families are listed once and not counted",
			results: []MicroResult{{Pkg: "r", Name: "BenchmarkFasthttpRouterLookup/param-2", AllocsOp: 3},
				{Pkg: "r", Name: "BenchmarkFasthttpRouterLookup/greedy-2", AllocsOp: 3}, {Pkg: "r", Name: "BenchmarkLookup/param-2"}},
			want: []string{"SKIP r BenchmarkFasthttpRouterLookup: measures github.com/fasthttp/router", "PASS 1 benchmarks in 1 packages"},
		},
		{
			name:     "a failed package fails",
			results:  []MicroResult{{Pkg: "p", Name: "BenchmarkA-2"}},
			failures: []string{"q: build failed"},
			want:     []string{"FAIL q: build failed", "FAIL 0 of 1 benchmarks allocate, 1 packages or benchmarks failed"},
		},
		{name: "nothing ran fails", want: []string{"FAIL no benchmark ran"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := CheckMicro(tc.results, tc.failures, MicroExclusions())
			if len(lines) != len(tc.want) {
				t.Fatalf("lines %v, want %d", lines, len(tc.want))
			}
			for i, l := range lines {
				verdict, detail, _ := strings.Cut(tc.want[i], " ")
				if l.Verdict != verdict || !strings.Contains(l.Detail, detail) {
					t.Errorf("line %d = %s %q, want %s …%q…", i, l.Verdict, l.Detail, verdict, detail)
				}
			}
		})
	}
}

func TestBaseNameDropsProcsSuffix(t *testing.T) {
	for in, want := range map[string]string{"BenchmarkA-2": "BenchmarkA", "BenchmarkA/x-y-16": "BenchmarkA/x-y", "BenchmarkA": "BenchmarkA", "BenchmarkA/b-c": "BenchmarkA/b-c"} {
		if got := baseName(in); got != want {
			t.Errorf("baseName(%q) = %q, want %q", in, got, want)
		}
	}
}

// measured is a scenario whose median round spent cpu µs per request.
func measured(name string, cpu float64) ScenarioResult {
	rd := round(1, 1000, cpu)
	return ScenarioResult{Name: name, Status: Measured, Median: &rd}
}

func TestCheckMacroVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		scenarios []ScenarioResult
		want      string // verdict of the plain proxy line
		detail    string
	}{
		{"at 0.95× nginx's CPU passes", []ScenarioResult{measured("nginx", 20), measured("frontdesk-proxy", 19)}, Pass, "0.95×"},
		{"at nginx's CPU fails", []ScenarioResult{measured("nginx", 20), measured("frontdesk-proxy", 20)}, Fail, "1.00×"},
		{"scenario not run", []ScenarioResult{measured("nginx", 20)}, NotMeasured, "not in this run"},
		{"nginx not installed", []ScenarioResult{{Name: "nginx", Status: Skipped, Reason: "nginx not installed"}, measured("frontdesk-proxy", 5)}, NotMeasured, "nginx not installed"},
		{"not yet available", []ScenarioResult{measured("nginx", 20), {Name: "frontdesk-proxy", Status: NotYet, Reason: "later"}}, NotYetLine, "later"},
		{"failed scenario fails", []ScenarioResult{measured("nginx", 20), {Name: "frontdesk-proxy", Status: Failed, Reason: "crash"}}, Fail, "crash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := CheckMacro(&Report{Scenarios: tc.scenarios})
			if l := lines[0]; l.Verdict != tc.want || !strings.Contains(l.Detail, tc.detail) {
				t.Errorf("got %s %q, want %s …%q…", l.Verdict, l.Detail, tc.want, tc.detail)
			}
		})
	}
}

func TestBenchPackagesFindsBenchmarkFiles(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                  "module x\n",
		"a/a_test.go":             "package a\n\nfunc BenchmarkA(b *testing.B) {}\n",
		"a/b/b_test.go":           "package b\n\nfunc TestB(t *testing.T) {}\n",
		"c/c_test.go":             "package c\n\nfunc BenchmarkC(b *testing.B) {}\n",
		"c/testdata/x_test.go":    "package x\n\nfunc BenchmarkX(b *testing.B) {}\n",
		".hidden/h_test.go":       "package h\n\nfunc BenchmarkH(b *testing.B) {}\n",
		"d/d.go":                  "package d\n\nfunc BenchmarkNotATest() {}\n",
		"e/e_test.go":             "package e\n\n// func BenchmarkE is mentioned only\n",
		"bench/loadgen/l_test.go": "package loadgen\n\nfunc BenchmarkRoundTrip(b *testing.B) {}\n",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := BenchPackages(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"./a/", "./bench/loadgen/", "./c/"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAbsoluteBudgetLinesNeedNoReference(t *testing.T) {
	for _, tc := range []struct {
		cpu  float64
		want string
	}{{100, Pass}, {123, Fail}} {
		lines := CheckMacro(&Report{Scenarios: []ScenarioResult{measured("frontdesk-lambda", tc.cpu)}})
		var got *BudgetLine
		for i := range lines {
			if strings.HasPrefix(lines[i].Name, "Lambda") {
				got = &lines[i]
			}
		}
		if got == nil || got.Verdict != tc.want || !strings.Contains(got.Detail, "limit 100 µs") {
			t.Errorf("Lambda at %.0f µs: %+v, want %s", tc.cpu, got, tc.want)
		}
	}
}

// A ratio line shows each round's ratio and the best of them beside the
// median it is judged on: on a shared host the rounds spread widely.
func TestRatioLinesShowEachRoundAndTheBest(t *testing.T) {
	withRounds := func(name string, cpus ...float64) ScenarioResult {
		s := ScenarioResult{Name: name, Status: Measured}
		for i, c := range cpus {
			s.Rounds = append(s.Rounds, round(i+1, 1000, c))
		}
		s.Median = &s.Rounds[1]
		return s
	}
	lines := CheckMacro(&Report{Scenarios: []ScenarioResult{
		withRounds("nginx", 10, 20, 10),
		withRounds("frontdesk-proxy", 12, 18, 12),
	}})
	l := lines[0]
	if l.Verdict != Fail || !strings.Contains(l.Detail, "1.20× (median") {
		t.Fatalf("got %s %q, want FAIL at the median round ratio 1.20×", l.Verdict, l.Detail)
	}
	if want := "rounds 1.20 / 0.90 / 1.20, best 0.90×"; !strings.Contains(l.Detail, want) {
		t.Errorf("detail %q lacks %q", l.Detail, want)
	}
	if !reflect.DeepEqual(l.RoundRatios, []float64{1.2, 0.9, 1.2}) || l.Best != 0.9 {
		t.Errorf("round ratios %v, best %v", l.RoundRatios, l.Best)
	}
}
