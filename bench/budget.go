package bench

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Verdicts of a budget line.
const (
	Pass        = "PASS"
	Fail        = "FAIL"
	NotMeasured = "not measured"
	NotYetLine  = "not measured yet" // the scenario exists but cannot run yet
	Excluded    = "SKIP"             // a benchmark outside the allocation budget, with the reason
)

// BudgetLine is one checked promise of the performance budget.
type BudgetLine struct {
	Verdict string `json:"verdict"`
	Name    string `json:"name"`
	Detail  string `json:"detail"`
	// RoundRatios are the ratio of each round, in round order, for a
	// line judged on a ratio; Best is the lowest of them.
	RoundRatios []float64 `json:"round_ratios,omitempty"`
	Best        float64   `json:"best_round_ratio,omitempty"`
	// Alternated is the ratio of the pair measured in alternating slices
	// (alternate.go); when there is one, the verdict is on it.
	Alternated float64 `json:"alternated_ratio,omitempty"`
}

func (l BudgetLine) String() string {
	return fmt.Sprintf("%-16s %s: %s", l.Verdict, l.Name, l.Detail)
}

// Budget is a CPU-per-request promise against a reference measured in the
// same run (bench/README.md), or, without a reference, an absolute one.
type Budget struct {
	Name      string
	Scenario  string
	Reference string  // "": MaxUs is the limit
	Max       float64 // largest allowed CPU/request ratio
	MaxUs     float64 // largest allowed CPU µs/request, without a reference
	// WithBackend compares the proxy's and the upstream's CPU together:
	// what a request costs the machine, not only the gateway.
	WithBackend bool
}

// cpu is the CPU per request the budget line compares.
func (b Budget) cpu(r *Round) float64 {
	if b.WithBackend {
		return r.CPUUsPerReq + r.BackendCPUUsPerReq
	}
	return r.CPUUsPerReq
}

// Budgets is the macro part of the performance budget.
func Budgets() []Budget {
	return []Budget{
		{Name: "plain proxy CPU/request ≤ 0.95× nginx's", Scenario: "frontdesk-proxy", Reference: "nginx", Max: 0.95},
		{Name: "full pipeline CPU/request ≤ 1.1× nginx's plain proxy", Scenario: "frontdesk-pipeline", Reference: "nginx", Max: 1.1},
		{Name: "tracing at sample_ratio 0.01 CPU/request ≤ 1.05× the plain proxy's", Scenario: "frontdesk-tracing", Reference: "frontdesk-proxy", Max: 1.05},
		{Name: "Lambda on the local function host ≤ 100 µs CPU/request, gateway and function together", Scenario: "frontdesk-lambda", MaxUs: 100},
		{Name: "cluster mode CPU/request ≤ 1.15× the same pipeline alone", Scenario: "frontdesk-cluster", Reference: "frontdesk-pipeline", Max: 1.15},
		{Name: "cache hit CPU/request ≤ 0.5× nginx's proxy", Scenario: "frontdesk-cache-hit", Reference: "nginx", Max: 0.5},
		{Name: "cache hit with the JSON access log on, CPU/request ≤ 0.5× nginx's proxy", Scenario: "frontdesk-cache-hit-log", Reference: "nginx", Max: 0.5},
		{Name: "cache hit CPU/request ≤ 1.1× frontdesk's mock route", Scenario: "frontdesk-cache-hit", Reference: "frontdesk-mock", Max: 1.1},
		{Name: "cache hit, gateway and backend CPU/request ≤ 0.4× a proxied request's", Scenario: "frontdesk-cache-hit", Reference: "frontdesk-proxy", Max: 0.4, WithBackend: true},
		// WebSocket, against a plain fasthttp/websocket server doing the
		// same work (bench/websocket.go).
		{Name: "WebSocket echo CPU/message ≤ 1.5× the floor's", Scenario: "frontdesk-ws-echo", Reference: "floor-ws-echo", Max: 1.5},
		{Name: "WebSocket broadcast CPU/delivered message ≤ 1.5× the floor's", Scenario: "frontdesk-ws-broadcast", Reference: "floor-ws-broadcast", Max: 1.5},
	}
}

// CheckMacro judges the report against Budgets.
func CheckMacro(r *Report) []BudgetLine {
	var out []BudgetLine
	for _, b := range Budgets() {
		out = append(out, checkBudget(r, b))
	}
	return out
}

func checkBudget(r *Report, b Budget) BudgetLine {
	line := BudgetLine{Name: b.Name}
	s, ref := r.Scenario(b.Scenario), r.Scenario(b.Reference)
	switch {
	case s == nil:
		line.Verdict, line.Detail = NotMeasured, b.Scenario+" was not in this run"
		return line
	case s.Status == NotYet:
		line.Verdict, line.Detail = NotYetLine, b.Scenario+": "+s.Reason
		return line
	case s.Status == Failed:
		line.Verdict, line.Detail = Fail, b.Scenario+" failed: "+s.Reason
		return line
	case s.Median == nil:
		line.Verdict, line.Detail = NotMeasured, fmt.Sprintf("%s %s: %s", b.Scenario, s.Status, s.Reason)
		return line
	case b.Reference == "":
		us := s.Median.CPUUsPerReq
		line.Verdict = Pass
		if us > b.MaxUs {
			line.Verdict = Fail
		}
		line.Detail = fmt.Sprintf("%s %.2f µs (median round; limit %.0f µs)", b.Scenario, us, b.MaxUs)
		return line
	case ref == nil || ref.Median == nil:
		why := "was not in this run"
		if ref != nil {
			why = fmt.Sprintf("%s: %s", ref.Status, ref.Reason)
		}
		line.Verdict, line.Detail = NotMeasured, fmt.Sprintf("reference %s %s", b.Reference, why)
		return line
	case b.cpu(ref.Median) <= 0:
		line.Verdict, line.Detail = NotMeasured, fmt.Sprintf("reference %s used no measurable CPU", b.Reference)
		return line
	}
	ratio := PairedRatio(s, ref, b.cpu)
	rounds := fmt.Sprintf("%s %.2f µs vs %s %.2f µs (medians); %.2f× (median of the rounds' ratios)",
		b.Scenario, b.cpu(s.Median), b.Reference, b.cpu(ref.Median), ratio)
	if b.WithBackend {
		rounds = fmt.Sprintf("%s %.2f + %.2f µs vs %s %.2f + %.2f µs (gateway + backend, medians); %.2f× (median of the rounds' ratios)",
			b.Scenario, s.Median.CPUUsPerReq, s.Median.BackendCPUUsPerReq,
			b.Reference, ref.Median.CPUUsPerReq, ref.Median.BackendCPUUsPerReq, ratio)
	}
	if rr := RoundRatios(s, ref, b.cpu); len(rr) > 1 {
		line.RoundRatios, line.Best = rr, slices.Min(rr)
		rounds += fmt.Sprintf("; rounds %s, best %.2f×", joinRatios(rr, " / "), line.Best)
	}
	if s.Median.Noisy() || ref.Median.Noisy() {
		rounds += fmt.Sprintf("; measured under other load (%s %.0f%%, %s %.0f%%)",
			b.Scenario, s.Median.OtherCPU*100, b.Reference, ref.Median.OtherCPU*100)
	}
	judged := ratio
	line.Detail = fmt.Sprintf("%s; limit %.2f×", rounds, b.Max)
	if a := r.Alternation(b.Scenario, b.Reference); a != nil {
		if alt := a.Ratio(b.WithBackend); alt > 0 {
			judged, line.Alternated = alt, alt
			sr := a.SliceRatios(b.WithBackend)
			line.Detail = fmt.Sprintf("alternated %d×%gs: %.2f vs %.2f µs, %.2f× (median slice pair; pairs %.2f–%.2f×; limit %.2f×); in the rounds: %s",
				a.Slices, a.SliceS, a.Measured.cpu(b.WithBackend), a.Ref.cpu(b.WithBackend), alt, slices.Min(sr), slices.Max(sr), b.Max, rounds)
		} else if a.Err != "" {
			line.Detail += "; alternating the pair failed: " + a.Err
		}
	}
	line.Verdict = Pass
	if judged > b.Max {
		line.Verdict = Fail
	}
	return line
}

func joinRatios(rs []float64, sep string) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatFloat(r, 'f', 2, 64)
	}
	return strings.Join(parts, sep)
}

// MicroResult is one benchmark line of `go test -bench -benchmem`.
type MicroResult struct {
	Pkg      string
	Name     string // with the -GOMAXPROCS suffix, as printed
	NsOp     float64
	AllocsOp int64
}

var benchFunc = regexp.MustCompile(`(?m)^func Benchmark`)

var benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+([0-9.]+) ns/op.*?\s(\d+) allocs/op`)

// ParseBenchOutput reads `go test -bench . -benchmem` output over several
// packages: the benchmark lines, and the packages or benchmarks that
// failed (a build error, a b.Fatal, a panic).
func ParseBenchOutput(out string) ([]MicroResult, []string) {
	var results []MicroResult
	var failures []string
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimSpace(strings.TrimPrefix(line, "pkg: "))
		case strings.HasPrefix(line, "--- FAIL: "):
			failures = append(failures, fmt.Sprintf("%s %s failed", pkg, strings.Fields(line)[2]))
		case strings.HasPrefix(line, "FAIL\t") || strings.HasPrefix(line, "FAIL "):
			f := strings.Fields(line)
			if len(f) >= 2 {
				why := "failed"
				if i := strings.Index(line, "["); i >= 0 {
					why = strings.Trim(line[i:], "[]")
				}
				failures = append(failures, fmt.Sprintf("%s: %s", f[1], why))
			}
		default:
			m := benchLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			ns, _ := strconv.ParseFloat(m[2], 64)
			allocs, _ := strconv.ParseInt(m[3], 10, 64)
			results = append(results, MicroResult{Pkg: pkg, Name: m[1], NsOp: ns, AllocsOp: allocs})
		}
	}
	return results, failures
}

// Exclusion is a benchmark that is not a frontdesk hot path, so outside
// the zero-allocation budget.
type Exclusion struct {
	Name   string // benchmark name without the -GOMAXPROCS suffix; covers its sub-benchmarks
	Reason string
}

// MicroExclusions lists the benchmarks outside the allocation budget.
func MicroExclusions() []Exclusion {
	return []Exclusion{
		{Name: "BenchmarkFasthttpRouterLookup", Reason: "measures github.com/fasthttp/router for comparison (docs/architecture.md)"},
		{Name: "BenchmarkVerifyRS256", Reason: "uncached JWT signature check, crypto/rsa allocates; the per-request path is BenchmarkVerifyCached"},
		{Name: "BenchmarkWritePrometheus", Reason: "metrics exposition, once per scrape of the admin listener, not per request"},
		{Name: "BenchmarkSet1KiB6Headers", Reason: "storing after a miss; the allocation is bigcache's own \"queue full\" error value, made inside Set whenever a full shard drops its oldest bytes; the per-request path of a cached route is BenchmarkCacheHit (docs/cache.md)"},
		{Name: "BenchmarkSetEvicting", Reason: "storing after a miss into a full cache; bigcache copies the evicted key and value to call the eviction callback that counts evictions (docs/cache.md)"},
		{Name: "BenchmarkServeSmallPOST", Reason: "fasthttp, not frontdesk: after every request with a streamed body it drains the rest with io.CopyN, whose io.LimitReader escapes (24 B); bodies are streamed so that one is held only as it arrives (docs/architecture.md, docs/config.md)"},
		{Name: "BenchmarkClientInvoke", Reason: "one Invoke API call per request through the remote client, which allocates its result (docs/functions.md)"},
		{Name: "BenchmarkInvokeWarm", Reason: "one invocation through the local function host's Runtime API (docs/functions.md); the host allocates per invocation"},
		{Name: "BenchmarkParseTypicalRequestTemplate", Reason: "parsing a REST mapping template, once per config load, not per request (docs/transform.md)"},
		{Name: "BenchmarkValidatorBody", Reason: "JSON Schema validation of a request body (the validator library decodes the body into Go values); only REST routes whose validator checks bodies run it, routes without one pay nothing (docs/transform.md)"},
		{Name: "BenchmarkRestConfig", Reason: "the control plane turning an imported REST API's definition back into config, once per change or reload, never per request (docs/control-plane.md)"},
		{Name: "BenchmarkSampledRequest", Reason: "a request sampled for tracing goes through the OpenTelemetry SDK, which allocates its spans and attributes; at sample_ratio r only that share of requests pays it, and unsampled requests allocate nothing (BenchmarkUnsampledRequest, docs/observability.md)"},
		{Name: "BenchmarkFlightUncontended", Reason: "once per miss that leads a fetch: its 64 B flight record, which waiters hold after the leader ends, so it is not pooled (docs/cache.md)"},
	}
}

// baseName strips the -GOMAXPROCS suffix go test adds.
func baseName(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

func excluded(name string, ex []Exclusion) (string, bool) {
	n := baseName(name)
	for _, e := range ex {
		if n == e.Name || strings.HasPrefix(n, e.Name+"/") {
			return e.Reason, true
		}
	}
	return "", false
}

// CheckMicro judges micro-benchmark results against the zero-allocation
// budget: one line per failure or allocating benchmark, one per excluded
// benchmark family, and a summary.
func CheckMicro(results []MicroResult, failures []string, ex []Exclusion) []BudgetLine {
	const name = "0 allocs/op on hot-path micro-benchmarks"
	var out []BudgetLine
	for _, f := range failures {
		out = append(out, BudgetLine{Verdict: Fail, Name: name, Detail: f})
	}
	checked, bad := 0, 0
	pkgs := map[string]bool{}
	seenEx := map[string]bool{}
	for _, r := range results {
		if reason, ok := excluded(r.Name, ex); ok {
			fam := strings.SplitN(baseName(r.Name), "/", 2)[0]
			if !seenEx[fam] {
				seenEx[fam] = true
				out = append(out, BudgetLine{Verdict: Excluded, Name: name, Detail: fmt.Sprintf("%s %s: %s", r.Pkg, fam, reason)})
			}
			continue
		}
		checked++
		pkgs[r.Pkg] = true
		if r.AllocsOp != 0 {
			bad++
			out = append(out, BudgetLine{Verdict: Fail, Name: name, Detail: fmt.Sprintf("%s %s: %d allocs/op", r.Pkg, r.Name, r.AllocsOp)})
		}
	}
	summary := BudgetLine{Verdict: Pass, Name: name, Detail: fmt.Sprintf("%d benchmarks in %d packages, all 0 allocs/op", checked, len(pkgs))}
	switch {
	case checked == 0 && len(failures) == 0:
		summary.Verdict, summary.Detail = Fail, "no benchmark ran"
	case bad > 0 || len(failures) > 0:
		summary.Verdict = Fail
		summary.Detail = fmt.Sprintf("%d of %d benchmarks allocate, %d packages or benchmarks failed", bad, checked, len(failures))
	}
	return append(out, summary)
}

// BenchPackages lists, as ./dir/ patterns relative to root, the packages
// whose tests define a benchmark.
func BenchPackages(root string) ([]string, error) {
	set := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			n := d.Name()
			if path != root && (strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || n == "testdata" || n == "vendor" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if benchFunc.Match(data) {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			set["./"+filepath.ToSlash(rel)+"/"] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find benchmarks: %w", err)
	}
	pkgs := make([]string, 0, len(set))
	for p := range set {
		pkgs = append(pkgs, strings.Replace(p, "././", "./", 1))
	}
	sort.Strings(pkgs)
	return pkgs, nil
}

// RunMicro runs the micro-benchmarks of pkgs once each with allocation
// counts and returns go test's output. A failing package is in the output,
// not an error: only a go command that cannot run at all is.
func RunMicro(ctx context.Context, goBin, root string, pkgs []string, benchtime string) (string, error) {
	args := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "1"}
	if benchtime != "" {
		args = append(args, "-benchtime", benchtime)
	}
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		return string(out), fmt.Errorf("go test -bench: %w", err)
	}
	return string(out), nil
}
