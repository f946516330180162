package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

// Status is what became of a scenario in a run.
type Status string

// The statuses of a scenario.
const (
	Measured     Status = "measured"
	NotYet       Status = "not yet available" // frontdesk or the suite lacks what it needs
	Skipped      Status = "skipped"           // a tool it needs is not installed, or not selected
	Failed       Status = "failed"
	wrkTolerance        = 0.10 // the suite's generator must be within 10% of wrk on direct
	// noisyLoad is the other load (in CPUs) past which a round's figures
	// are flagged: a quarter of a CPU taken from a two-CPU setup moves
	// them well beyond the differences the budget is about.
	noisyLoad = 0.25
)

// Noisy reports whether the round was measured while the machine was busy
// with other work.
func (r *Round) Noisy() bool { return r.OtherCPU > noisyLoad }

// Round is one measured run of a scenario.
type Round struct {
	Round       int             `json:"round"`    // 1-based
	Position    int             `json:"position"` // place in that round's order, 1-based
	Load        *loadgen.Result `json:"load,omitempty"`
	CPUTicks    uint64          `json:"cpu_ticks"`      // the measured process's user+sys in the window
	CPUUsPerReq float64         `json:"cpu_us_per_req"` // CPU microseconds per response
	// The upstream's CPU in the window, when it is not the measured
	// process: what each request also cost the machine behind the proxy
	// (next to nothing for an answer from the cache or a mock).
	BackendTicks       uint64  `json:"backend_cpu_ticks"`
	BackendCPUUsPerReq float64 `json:"backend_cpu_us_per_req"`
	PeakRSSKiB         int64   `json:"peak_rss_kib"` // VmHWM of the measured process
	// OtherCPU is CPU time, in CPUs, that the machine spent in the window
	// on processes other than the suite's (and on other machines, as
	// steal): the noise the round was measured under.
	OtherCPU float64 `json:"other_cpu"`
	// CPUNotMeasured: a -target given without a pid, whose CPU time the
	// suite cannot read.
	CPUNotMeasured bool   `json:"cpu_not_measured,omitempty"`
	Err            string `json:"error,omitempty"`
}

// succeeded reports whether the round measured something.
func (r *Round) succeeded() bool { return r.Err == "" && r.Load != nil }

// RPS is the round's responses per second.
func (r *Round) RPS() float64 {
	if r.Load == nil {
		return 0
	}
	return r.Load.RPS
}

// ScenarioResult is one scenario's outcome over all rounds.
type ScenarioResult struct {
	Name      string    `json:"name"`
	Proxy     ProxyKind `json:"proxy"`
	Generator Generator `json:"generator"`
	Path      string    `json:"path"`
	About     string    `json:"about"`
	Reference string    `json:"reference,omitempty"`
	Group     string    `json:"group,omitempty"` // scenarios run side by side, compared by the verdict
	// Matrix is the scenario's cell of the vendor matrix (matrix.go).
	Matrix *MatrixCell `json:"matrix,omitempty"`
	Status Status      `json:"status"`
	Reason string      `json:"reason,omitempty"`
	Median *Round      `json:"median,omitempty"`
	Rounds []Round     `json:"rounds,omitempty"`
	// Ratios to Reference measured in the same run; absent when either
	// side was not measured.
	CPURatio *float64 `json:"cpu_ratio,omitempty"`
	RPSRatio *float64 `json:"rps_ratio,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUModel string `json:"cpu_model"`
	Cores    int    `json:"cores"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Nginx    string `json:"nginx"`
	Wrk      string `json:"wrk"`
	Taskset  string `json:"taskset"`
	Haproxy  string `json:"haproxy,omitempty"`
	Caddy    string `json:"caddy,omitempty"`
	Varnish  string `json:"varnish,omitempty"`
	ClkTck   int64  `json:"clk_tck"`
}

// Settings are the run's parameters.
type Settings struct {
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	Rounds    int     `json:"rounds"`
	Conns     int     `json:"conns"`
	Pinning   string  `json:"pinning"`
	// Alternations slices of SliceS seconds per side of each alternated
	// pair; 0 when pairs were not alternated.
	Alternations int     `json:"alternations,omitempty"`
	SliceS       float64 `json:"slice_s,omitempty"`
	Note         string  `json:"note,omitempty"` // e.g. a window shortened to fit the time limit
}

// WrkCheck compares the suite's generator with wrk on direct. The two
// run back to back in every round; Ratio is the median of the rounds'
// loadgen/wrk ratios, which a drift of the machine between rounds does
// not move.
type WrkCheck struct {
	LoadgenRPS float64   `json:"loadgen_rps"` // median rounds
	WrkRPS     float64   `json:"wrk_rps"`
	Ratios     []float64 `json:"ratios"` // loadgen/wrk, per round where both succeeded
	Ratio      float64   `json:"ratio"`
	Pass       bool      `json:"pass"`
}

// Report is a whole run: what results.json holds.
type Report struct {
	Started   time.Time        `json:"started"`
	Elapsed   string           `json:"elapsed"`
	Machine   Machine          `json:"machine"`
	Settings  Settings         `json:"settings"`
	Missing   []string         `json:"missing_tools"`
	Scenarios []ScenarioResult `json:"scenarios"`
	WrkCheck  *WrkCheck        `json:"wrk_check,omitempty"`
	// Alternated are the budget's pairs measured again in alternating
	// slices after the rounds (alternate.go).
	Alternated []Alternated `json:"alternated,omitempty"`
	Budget     []BudgetLine `json:"budget"`
	Verdict    string       `json:"verdict,omitempty"` // verdict.go
}

// Scenario returns the named result, or nil.
func (r *Report) Scenario(name string) *ScenarioResult {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// MedianRound picks the round with the median requests/s among those that
// did not fail (the lower middle one of an even count), so a whole round's
// figures are reported together rather than medians taken column by
// column.
func MedianRound(rounds []Round) (Round, bool) {
	var ok []Round
	for _, r := range rounds {
		if r.succeeded() {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return Round{}, false
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].RPS() < ok[j].RPS() })
	return ok[(len(ok)-1)/2], true
}

// summarize sets each measured scenario's median round and status from
// its rounds, then the ratios to its reference and the wrk check.
func (r *Report) summarize() {
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		if s.Status != Measured {
			continue
		}
		m, ok := MedianRound(s.Rounds)
		if !ok {
			s.Status = Failed
			if len(s.Rounds) > 0 {
				s.Reason = s.Rounds[0].Err
			}
			continue
		}
		s.Median = &m
		if failed := len(s.Rounds) - countOK(s.Rounds); failed > 0 {
			s.Reason = fmt.Sprintf("%d of %d rounds failed; median of the rest", failed, len(s.Rounds))
		}
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		ref := r.Scenario(s.Reference)
		if s.Median == nil || ref == nil || ref.Median == nil {
			continue
		}
		if ref.Median.CPUUsPerReq > 0 && !s.Median.CPUNotMeasured {
			v := PairedRatio(s, ref, roundCPU)
			s.CPURatio = &v
		}
		if ref.Median.RPS() > 0 {
			v := s.Median.RPS() / ref.Median.RPS()
			s.RPSRatio = &v
		}
	}
	r.WrkCheck = wrkCheck(r.Scenario("direct"), r.Scenario("direct-wrk"))
	r.judge()
}

// judge sets the budget lines and the verdict from the figures.
func (r *Report) judge() {
	r.Budget = CheckMacro(r)
	r.Verdict = r.MakeVerdict()
}

// PairedRatio is s's figure over ref's: the median of the ratios of the
// rounds both measured, each taken within one round. The machine drifts
// between rounds (on a shared host the same scenario's CPU per request
// moves by a third from one round to the next, every scenario's the same
// way), and a ratio of medians taken from different rounds carries that
// drift; a ratio within a round mostly cancels it. Without a round both
// measured, it is the ratio of the medians.
func PairedRatio(s, ref *ScenarioResult, fig func(*Round) float64) float64 {
	ratios := RoundRatios(s, ref, fig)
	if len(ratios) == 0 {
		return fig(s.Median) / fig(ref.Median)
	}
	return median(ratios)
}

// median of a non-empty list, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// RoundRatios are s's figure over ref's in each round both measured, in
// round order.
func RoundRatios(s, ref *ScenarioResult, fig func(*Round) float64) []float64 {
	var ratios []float64
	for i := range min(len(s.Rounds), len(ref.Rounds)) {
		a, b := &s.Rounds[i], &ref.Rounds[i]
		if a.succeeded() && b.succeeded() && fig(b) > 0 {
			ratios = append(ratios, fig(a)/fig(b))
		}
	}
	return ratios
}

func wrkCheck(d, w *ScenarioResult) *WrkCheck {
	if d == nil || w == nil || d.Median == nil || w.Median == nil {
		return nil
	}
	var ratios []float64
	for _, dr := range d.Rounds {
		for _, wr := range w.Rounds {
			if dr.Round == wr.Round && dr.succeeded() && wr.succeeded() && wr.RPS() > 0 {
				ratios = append(ratios, dr.RPS()/wr.RPS())
			}
		}
	}
	if len(ratios) == 0 {
		return nil
	}
	sorted := append([]float64(nil), ratios...)
	sort.Float64s(sorted)
	ratio := sorted[(len(sorted)-1)/2]
	return &WrkCheck{LoadgenRPS: d.Median.RPS(), WrkRPS: w.Median.RPS(), Ratios: ratios, Ratio: ratio, Pass: math.Abs(ratio-1) <= wrkTolerance}
}

func countOK(rounds []Round) int {
	n := 0
	for _, r := range rounds {
		if r.succeeded() {
			n++
		}
	}
	return n
}

// row is one line of the results table, already formatted.
type row struct {
	name, status, rps, p50, p99, p999, cpu, backend, rss, vs, cpuRatio, rpsRatio, non2xx, errs, other string
}

var tableHeader = row{"scenario", "status", "req/s", "p50", "p99", "p99.9", "CPU µs/req", "backend CPU µs/req", "peak RSS", "vs", "CPU ratio", "req/s ratio", "non-2xx", "errors", "other load"}

func (r *Report) rows() []row {
	var out []row
	for _, s := range r.Scenarios {
		if s.Median == nil {
			out = append(out, row{name: s.Name, status: string(s.Status), rps: "—", p50: "—", p99: "—", p999: "—", cpu: "—", backend: "—", rss: "—", vs: "—", cpuRatio: "—", rpsRatio: "—", non2xx: "—", errs: "—", other: "—"})
			continue
		}
		m := s.Median
		l := m.Load
		backend := "—" // direct: the upstream is the measured process
		if s.Proxy != Direct && s.Proxy != External {
			backend = fmt.Sprintf("%.2f", m.BackendCPUUsPerReq)
		}
		out = append(out, row{
			name: s.Name, status: string(s.Status),
			rps: fmt.Sprintf("%.0f", l.RPS), p50: fmtMicros(l.P50Us), p99: fmtMicros(l.P99Us), p999: fmtMicros(l.P999Us),
			cpu: fmtCPU(m), backend: backend, rss: fmtKiB(m.PeakRSSKiB),
			vs: dash(s.Reference), cpuRatio: fmtRatio(s.CPURatio), rpsRatio: fmtRatio(s.RPSRatio),
			non2xx: fmt.Sprint(l.Non2xx), errs: fmt.Sprint(l.ErrorCount()),
			other: fmt.Sprintf("%.0f%%", m.OtherCPU*100),
		})
	}
	return out
}

func (w row) cells() []string {
	return []string{w.name, w.status, w.rps, w.p50, w.p99, w.p999, w.cpu, w.backend, w.rss, w.vs, w.cpuRatio, w.rpsRatio, w.non2xx, w.errs, w.other}
}

func fmtMicros(us int64) string {
	switch {
	case us <= 0:
		return "—"
	case us < 1000:
		return fmt.Sprintf("%dµs", us)
	case us < 1_000_000:
		return fmt.Sprintf("%.2fms", float64(us)/1e3)
	}
	return fmt.Sprintf("%.2fs", float64(us)/1e6)
}

func fmtKiB(kib int64) string {
	if kib <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}

func fmtRatio(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", *v)
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// WriteTable prints the results table and the checks, for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range append([]row{tableHeader}, r.rows()...) {
		fmt.Fprintln(tw, strings.Join(row.cells(), "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	for _, t := range []struct {
		title string
		rows  [][]string
	}{
		{"Vendor matrix (CPU µs/req, and × " + matrixReference + "; " + noisyMark + ": median round under other load):", r.MatrixRows()},
		{"Cache hits side by side:", r.cacheHitRows()},
	} {
		if t.rows == nil {
			continue
		}
		fmt.Fprintf(w, "\n%s\n", t.title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, row := range t.rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	var b strings.Builder
	r.writeNotes(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeNotes writes what is not in the table: scenarios not measured and
// why, the wrk check, the budget lines and missing tools.
func (r *Report) writeNotes(b *strings.Builder) {
	fmt.Fprintf(b, "\n%s, %d rounds × %s (+%s warm-up), %d connections; %s.\n",
		r.Machine.short(), r.Settings.Rounds, secs(r.Settings.DurationS), secs(r.Settings.WarmupS), r.Settings.Conns, r.Settings.Pinning)
	var notes []string
	if r.Settings.Note != "" {
		notes = append(notes, r.Settings.Note)
	}
	for _, s := range r.Scenarios {
		if s.Reason != "" {
			notes = append(notes, fmt.Sprintf("%s: %s — %s", s.Name, s.Status, s.Reason))
		}
	}
	if n := r.noiseNote(); n != "" {
		notes = append(notes, n)
	}
	if n := r.handshakeNote(); n != "" {
		notes = append(notes, n)
	}
	if len(notes) > 0 {
		fmt.Fprintf(b, "\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(b, "\n%s\n", r.wrkLine())
	if len(r.Alternated) > 0 {
		fmt.Fprintf(b, "\n%s\n", r.alternationHeading())
		for i := range r.Alternated {
			fmt.Fprintf(b, "%s\n", alternationLine(&r.Alternated[i]))
		}
	}
	if len(r.Budget) > 0 {
		b.WriteString("\nBudget:\n")
		for _, l := range r.Budget {
			fmt.Fprintf(b, "%s\n", l)
		}
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(b, "\nNot installed: %s.\n", strings.Join(r.Missing, ", "))
	}
	if r.Verdict != "" {
		fmt.Fprintf(b, "\nVerdict: %s\n", r.Verdict)
	}
}

// noiseNote names the scenarios whose median round ran while the machine
// was busy with other work.
func (r *Report) noiseNote() string {
	var noisy []string
	for _, s := range r.Scenarios {
		if s.Median != nil && s.Median.Noisy() {
			noisy = append(noisy, fmt.Sprintf("%s (%.0f%%)", s.Name, s.Median.OtherCPU*100))
		}
	}
	if len(noisy) == 0 {
		return ""
	}
	return fmt.Sprintf("Median rounds measured under other load: %s; their figures are unreliable: rerun on a quiet machine or with more -rounds.",
		strings.Join(noisy, ", "))
}

func (r *Report) wrkLine() string {
	c := r.WrkCheck
	if c == nil {
		return "Generator vs wrk on direct: not measured (needs wrk and both direct scenarios)."
	}
	verdict := "PASS"
	if !c.Pass {
		verdict = "FAIL"
	}
	per := make([]string, len(c.Ratios))
	for i, v := range c.Ratios {
		per[i] = fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("Generator vs wrk on direct: %s — loadgen/wrk %.3f, median of rounds run back to back (%s; within ±%.0f%% required); median rounds: loadgen %.0f req/s, wrk %.0f req/s.",
		verdict, c.Ratio, strings.Join(per, ", "), wrkTolerance*100, c.LoadgenRPS, c.WrkRPS)
}

func secs(s float64) string { return (time.Duration(s * float64(time.Second))).String() }

func (m Machine) short() string {
	return fmt.Sprintf("%s, %d cores, Linux %s, %s", m.CPUModel, m.Cores, m.Kernel, m.Go)
}

// Markdown renders the report as results.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString("# frontdesk benchmark results\n\n")
	fmt.Fprintf(&b, "Run %s, took %s. Generated by `make bench`; see bench/README.md.\n\n", r.Started.UTC().Format(time.RFC3339), r.Elapsed)
	b.WriteString("| machine | |\n|---|---|\n")
	for _, kv := range [][2]string{
		{"CPU", r.Machine.CPUModel}, {"cores", fmt.Sprint(r.Machine.Cores)}, {"kernel", r.Machine.Kernel},
		{"Go", r.Machine.Go}, {"nginx", r.Machine.Nginx}, {"haproxy", dash(r.Machine.Haproxy)}, {"caddy", dash(r.Machine.Caddy)},
		{"varnish", dash(r.Machine.Varnish)},
		{"wrk", r.Machine.Wrk}, {"taskset", r.Machine.Taskset},
		{"clock ticks/s", fmt.Sprint(r.Machine.ClkTck)},
		{"rounds", fmt.Sprintf("%d × %s (+%s warm-up), order rotated per round, median round reported", r.Settings.Rounds, secs(r.Settings.DurationS), secs(r.Settings.WarmupS))},
		{"connections", fmt.Sprint(r.Settings.Conns)}, {"placement", r.Settings.Pinning}, {"note", dash(r.Settings.Note)},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
	}
	if r.Verdict != "" {
		b.WriteString("\n## Verdict\n\n" + r.Verdict + "\n")
	}
	b.WriteString("\n## Results\n\n")
	b.WriteString("CPU µs/req and peak RSS are the proxy process's, with its child processes (the upstream's for direct); backend CPU µs/req is the upstream's behind the proxy, so the two add up to what a request cost the machine; ratios are to the `vs` scenario measured in the same run; " +
		"other load is the CPU the machine spent on anything but the suite's processes during the window (100% = one CPU): rounds measured under other load are less trustworthy.\n\n")
	hdr := tableHeader.cells()
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(hdr, " | "), strings.Repeat("---|", len(hdr)))
	for _, row := range r.rows() {
		cells := row.cells()
		for i := range cells {
			cells[i] = mdEscape(cells[i])
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	if rows := r.MatrixRows(); rows != nil {
		b.WriteString("\n## Vendor matrix\n\n" +
			"The shape API gateway vendors publish: no plugins, a rate limit (per client address, never refusing) or key authentication (X-Api-Key), " +
			"on a config of 1 route or 1,000 (the loaded one among them). Each cell is the gateway's CPU µs per request in its median round " +
			"and, in parentheses, its ratio to nginx's no-plugins, 1-route cell (`" + matrixReference + "`), all twelve run back to back in every round; " + noisyMark + " marks a cell whose median round ran under other load above " +
			fmt.Sprintf("%.0f%%", noisyLoad*100) + ".\n\n")
		writeMarkdownTable(&b, rows)
	}
	if rows := r.cacheHitRows(); rows != nil {
		b.WriteString("\n## Cache hits\n\n" +
			"Every cache answering the same ~100 B from memory after a probe saw a hit: CPU µs per request, the upstream's behind it " +
			"(about 0 when every request is a hit), and each as a multiple of nginx proxying (`nginx`) and of the other caches.\n\n")
		writeMarkdownTable(&b, rows)
	}
	b.WriteString("\n![requests/s and CPU per request by scenario](chart.svg)\n\n## Scenarios\n\n")
	for _, s := range r.Scenarios {
		line := fmt.Sprintf("- **%s** (%s, `%s`): %s — %s", s.Name, s.Proxy, s.Path, s.About, s.Status)
		if s.Reason != "" {
			line += ": " + s.Reason
		}
		b.WriteString(mdLine(line) + "\n")
	}
	b.WriteString("\n## Checks\n\n")
	if n := r.noiseNote(); n != "" {
		b.WriteString(n + "\n\n")
	}
	if n := r.handshakeNote(); n != "" {
		b.WriteString(n + "\n\n")
	}
	b.WriteString(r.wrkLine() + "\n\n")
	if len(r.Alternated) > 0 {
		fmt.Fprintf(&b, "%s\n\n", r.alternationHeading())
		for i := range r.Alternated {
			fmt.Fprintf(&b, "- %s\n", mdLine(alternationLine(&r.Alternated[i])))
		}
		b.WriteString("\n")
	}
	b.WriteString("Budget (`make bench-check` also checks the micro-benchmarks' allocations):\n\n")
	for _, l := range r.Budget {
		fmt.Fprintf(&b, "- **%s** %s: %s\n", l.Verdict, l.Name, mdLine(l.Detail))
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(&b, "\nNot installed: %s.\n", strings.Join(r.Missing, ", "))
	}
	return b.String()
}

// writeMarkdownTable writes rows, the first the header, as a Markdown
// table.
func writeMarkdownTable(b *strings.Builder, rows [][]string) {
	for i, row := range rows {
		cells := make([]string, len(row))
		for k, c := range row {
			cells[k] = mdEscape(c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
		if i == 0 {
			fmt.Fprintf(b, "|%s\n", strings.Repeat("---|", len(row)))
		}
	}
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// mdLine keeps a free-text line from breaking the Markdown around it.
func mdLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// WriteFiles writes results.json, results.md and chart.svg into dir.
func (r *Report) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results dir: %w", err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	files := map[string][]byte{
		"results.json": append(js, '\n'),
		"results.md":   []byte(r.Markdown()),
		"chart.svg":    []byte(r.SVG()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	}
	return nil
}

// ReadReport loads a results.json.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &r, nil
}
