package attack

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// scale is how hard the attacks push: small in the quick mode that runs
// with every `go test`, large with FRONTDESK_ATTACK=soak (`make attack`).
type scale struct {
	Name string
	// SlowPOSTs hold a POST declaring 10 MB open after its first KiB.
	SlowPOSTs int
	// StalledReaders ask for a large response and never read it.
	StalledReaders int
	// IdleConns connect and send nothing.
	IdleConns int
	// GarbageConns send random bytes to each listener.
	GarbageConns int
	// Slowloris connections send their headers a few bytes at a time.
	Slowloris int
	// FloodConns open, send half a request and close, as fast as they can.
	FloodConns int
	// WSDisconnects WebSocket clients go away at the same moment.
	WSDisconnects int
	// QuietRequests measure the well-behaved client before an attack.
	QuietRequests int
	// Deadline bounds each wait for a condition.
	Deadline time.Duration
}

var (
	quick = scale{Name: "quick", SlowPOSTs: 20, StalledReaders: 40, IdleConns: 300, GarbageConns: 60,
		Slowloris: 60, FloodConns: 300, WSDisconnects: 1000, QuietRequests: 200, Deadline: 20 * time.Second}
	soak = scale{Name: "soak", SlowPOSTs: 300, StalledReaders: 1150, IdleConns: 10000, GarbageConns: 5000,
		Slowloris: 1000, FloodConns: 5000, WSDisconnects: 1000, QuietRequests: 1000, Deadline: 60 * time.Second}
)

// The suite's fixed facts, set once by TestMain before any test runs and
// only read afterwards.
var (
	frontdeskBin string
	load         = quick
	fdLimit      uint64
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if os.Getenv("FRONTDESK_ATTACK") == "soak" {
		load = soak
	}
	// Every attacking connection is a descriptor in this process, and the
	// frontdesk subprocess inherits the limit: raise the soft limit to
	// the hard one (the soak mode holds over 10,000 connections at once).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		fdLimit = lim.Cur
	}
	dir, err := os.MkdirTemp("", "frontdesk-attack-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	bin, err := buildFrontdesk(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		return 1
	}
	frontdeskBin = bin
	built := time.Since(start)
	start = time.Now()
	code := m.Run()
	if path := os.Getenv("FRONTDESK_ATTACK_REPORT"); path != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "frontdesk attack suite, %s mode: %s (binary built in %s; descriptor limit %d)\n\n",
			load.Name, time.Since(start).Round(time.Second), built.Round(time.Second), fdLimit)
		results.print(&b)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "attack:", err)
		}
	}
	return code
}

// parallel lets the quick mode run the classes side by side, each on its
// own frontdesk process; the soak mode runs them one at a time, so that a
// class's latency figures are its own.
func parallel(t *testing.T) {
	if load.Name != "soak" {
		t.Parallel()
	}
}

// buildFrontdesk builds ./cmd/frontdesk of this module into dir. It is
// built without the race detector whatever the test binary uses, so that
// its memory figures are the ones users see.
func buildFrontdesk(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the frontdesk module")
	}
	bin := filepath.Join(dir, "frontdesk")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/frontdesk")
	cmd.Dir = filepath.Dir(mod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/frontdesk: %w\n%s", err, b)
	}
	return bin, nil
}

// classResult is one row of the summary table.
type classResult struct {
	Class         string
	Cases, Held   int
	Failing       []string
	VictimOK      int
	VictimTotal   int
	QuietP99      time.Duration
	AttackP99     time.Duration
	RSSBefore     int64 // KiB
	RSSAfter      int64 // KiB
	RSSPeak       int64 // KiB
	victimLatency []time.Duration
}

// table collects the rows; tests of one class may add to it from
// parallel subtests.
type table struct {
	mu   sync.Mutex
	rows map[string]*classResult
}

// results is the summary TestMain prints in the soak mode.
var results = &table{rows: map[string]*classResult{}}

func (tb *table) row(class string) *classResult {
	r := tb.rows[class]
	if r == nil {
		r = &classResult{Class: class}
		tb.rows[class] = r
	}
	return r
}

// caseDone records one case of class and whether it held.
func (tb *table) caseDone(class, name string, held bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := tb.row(class)
	r.Cases++
	if held {
		r.Held++
	} else {
		r.Failing = append(r.Failing, name)
	}
}

// victims records well-behaved requests made while class attacked.
func (tb *table) victims(class string, st loadStats) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := tb.row(class)
	r.VictimOK += st.OK
	r.VictimTotal += st.Total
	r.victimLatency = append(r.victimLatency, st.Latencies...)
}

// quiet records the well-behaved client's p99 without an attack.
func (tb *table) quiet(class string, p99 time.Duration) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := tb.row(class)
	r.QuietP99 = max(r.QuietP99, p99)
}

// attacked records the well-behaved client's p99 under an attack.
func (tb *table) attacked(class string, p99 time.Duration) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := tb.row(class)
	r.AttackP99 = max(r.AttackP99, p99)
}

// memory records frontdesk's RSS around a class's attacks (KiB): the
// lowest baseline, the highest peak and the highest figure after.
func (tb *table) memory(class string, before, peak, after int64) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := tb.row(class)
	if r.RSSBefore == 0 || before < r.RSSBefore {
		r.RSSBefore = before
	}
	r.RSSPeak = max(r.RSSPeak, peak)
	r.RSSAfter = max(r.RSSAfter, after)
}

func (tb *table) print(w io.Writer) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var names []string
	for n := range tb.rows {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "| class | cases | held | well-behaved client ok | p99 quiet | p99 under attack | RSS before → peak → after |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, n := range names {
		r := tb.rows[n]
		// The pressure cases measure p99 in windows; for the others it is
		// the p99 of the victims that followed each case.
		p99 := r.AttackP99
		if p99 == 0 {
			p99 = percentile(r.victimLatency, 0.99)
		}
		ok := "-"
		if r.VictimTotal > 0 {
			ok = fmt.Sprintf("%d/%d (%.1f%%)", r.VictimOK, r.VictimTotal, 100*float64(r.VictimOK)/float64(r.VictimTotal))
		}
		mem := "-"
		if r.RSSBefore > 0 {
			mem = fmt.Sprintf("%s → %s → %s", mib(r.RSSBefore), mib(r.RSSPeak), mib(r.RSSAfter))
		}
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s |\n", r.Class, r.Cases, r.Held, ok, dur(r.QuietP99), dur(p99), mem)
	}
	fmt.Fprintln(w)
	for _, n := range names {
		r := tb.rows[n]
		if len(r.Failing) > 0 {
			sort.Strings(r.Failing)
			fmt.Fprintf(w, "%s failing: %s\n", r.Class, strings.Join(r.Failing, ", "))
		}
	}
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(10 * time.Microsecond).String()
}

// percentile of ds (nearest rank); ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(p*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
