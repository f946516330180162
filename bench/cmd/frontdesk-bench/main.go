// Command frontdesk-bench runs frontdesk's macro benchmark suite against
// nginx (`make bench`), checks the performance budget (`make bench-check`),
// and serves as the suite's own child processes: the load generator
// (`load`) and the upstream (`upstream`), so that each can be pinned to its
// CPU with taskset.
//
// Hot path: the `load` subcommand's request loop (package
// bench/loadgen) and the `upstream` subcommand's handler; everything else
// runs between measured windows.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/frontdeskgw/frontdesk/bench"
	"github.com/frontdeskgw/frontdesk/bench/loadgen"
)

const usage = `frontdesk-bench — frontdesk's benchmark suite.

Usage:
  frontdesk-bench [run] [flags]   run the macro suite (make bench)
  frontdesk-bench check [flags] [packages]   check results.json and the micro-benchmarks (of packages, else all) against the budget (make bench-check; -micro: allocations only, as make test runs it)
  frontdesk-bench load [flags]    apply load and print the result as JSON (run by the suite)
  frontdesk-bench upstream        serve the benchmark upstream (run by the suite)
  frontdesk-bench wsload [flags]  apply WebSocket load and print the result as JSON (run by the suite)
  frontdesk-bench wsfloor -backend ADDR   serve the WebSocket scenarios' floor (run by the suite)
  frontdesk-bench invoke-endpoint -command BIN   serve a function through a local Lambda Invoke API endpoint (run by the suite)

Relative paths are relative to the module root. Run "frontdesk-bench <command> -h" for flags.
`

// envCPUs carries the CPUs the suite may use into its re-executed, pinned
// self; its presence means the process is already pinned.
const envCPUs = "FRONTDESK_BENCH_CPUS"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "run":
		err = runSuite(ctx, args, stdout, stderr, log)
	case "check":
		err = runCheck(ctx, args, stdout, stderr)
	case "load":
		err = runLoad(args, stdout, stderr)
	case "upstream":
		err = runUpstream(ctx, args, stdout, stderr)
	case "wsload":
		err = runWSLoad(args, stdout, stderr)
	case "wsfloor":
		err = runWSFloor(ctx, args, stdout, stderr)
	case "invoke-endpoint":
		err = bench.RunInvokeEndpoint(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "frontdesk-bench: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	var exit exitCode
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	}
	log.Error(cmd, "err", err)
	return 1
}

// exitCode ends the program with a status and no further message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// moduleRoot walks up from the working directory to frontdesk's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/frontdeskgw/frontdesk\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root: run inside the frontdesk module")
		}
		dir = parent
	}
}

func inRoot(root, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

func runSuite(ctx context.Context, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 8*time.Second, "measured window of each round")
	warmup := fs.Duration("warmup", time.Second, "load before each window, not counted")
	rounds := fs.Int("rounds", 3, "interleaved rounds; the median round is reported")
	conns := fs.Int("conns", 64, "connections of the load generator")
	alternations := fs.Int("alternations", bench.DefaultAlternations, "slices per side when each budget pair is measured again, alternately, after the rounds (0: not)")
	slice := fs.Duration("slice", bench.DefaultSlice, "measured window of each alternated slice")
	wsConns := fs.Int("ws-conns", bench.DefaultWSConns, "WebSocket connections of the broadcast scenarios (at most 10000)")
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to run (default all; -list shows them)")
	profile := fs.String("profile", "", "directory for CPU and allocation profiles of the frontdesk scenarios")
	out := fs.String("out", "bench/results", "where results.json, results.md and chart.svg go")
	frontdesk := fs.String("frontdesk", "bin/frontdesk", "frontdesk binary")
	build := fs.Bool("build", true, "go build the frontdesk binary first (skipped by go when up to date)")
	limit := fs.Duration("time-limit", bench.DefaultTimeLimit, "shorten each window when the whole run would take longer (0: never)")
	keep := fs.Bool("keep", false, "keep the scratch directory with configs and logs")
	list := fs.Bool("list", false, "list the scenarios and exit")
	var targets targetFlags
	fs.Var(&targets, "target", "name=url[,pid]: a running gateway loaded beside the proxy scenarios, CPU read from pid (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	all, err := bench.AddTargets(bench.Scenarios(), targets)
	if err != nil {
		return err
	}
	if *list {
		for _, s := range all {
			note := ""
			if s.Unavailable != "" {
				note = " (not yet available: " + s.Unavailable + ")"
			}
			fmt.Fprintf(stdout, "%-22s %-9s %-6s %s%s\n", s.Name, s.Proxy, s.Path, s.About, note)
		}
		return nil
	}
	selected, err := bench.SelectScenarios(all, withTargets(*scenarios, targets))
	if err != nil {
		return err
	}
	cpus, pinned, err := pinSelf(args, stderr)
	if err != nil || pinned {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own path: %w", err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go command: %w", err)
	}
	rep, err := bench.Run(ctx, bench.Options{
		Root: root, Frontdesk: inRoot(root, *frontdesk), Build: *build, GoBin: goBin, Self: self,
		Duration: *duration, Warmup: *warmup, Rounds: *rounds, Conns: *conns, WSConns: *wsConns,
		Alternations: *alternations, Slice: *slice,
		Scenarios: selected, ProfileDir: inRoot(root, *profile), Keep: *keep, TimeLimit: *limit,
		CPUs: cpus, Tools: bench.FindTools(), Log: log, Out: stdout,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	dir := inRoot(root, *out)
	if err := rep.WriteFiles(dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nWrote %s/{results.json,results.md,chart.svg}.\n", dir)
	return nil
}

// pinSelf moves the suite off the proxy's CPU: the first time through it
// runs itself again under taskset on the other CPUs and reports pinned
// with that run's outcome; the pinned run gets the full CPU list from the
// environment.
func pinSelf(args []string, stderr io.Writer) ([]int, bool, error) {
	if v := os.Getenv(envCPUs); v != "" {
		cpus, err := bench.ParseCPUs(v)
		return cpus, false, err
	}
	cpus, err := bench.AllowedCPUs()
	if err != nil {
		return nil, false, err
	}
	taskset := bench.FindTools().Taskset
	if taskset == "" || len(cpus) < 2 {
		return cpus, false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, false, fmt.Errorf("own path: %w", err)
	}
	cmd := exec.Command(taskset, append([]string{"-c", bench.FormatCPUs(cpus[1:]), self, "run"}, args...)...)
	cmd.Env = append(os.Environ(), envCPUs+"="+bench.FormatCPUs(cpus))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// An interrupt reaches the pinned run through the terminal's process
	// group; this one only waits for it to clean up and exit.
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil, true, exitCode(exit.ExitCode())
	}
	if err != nil {
		return nil, true, fmt.Errorf("run pinned suite: %w", err)
	}
	return nil, true, nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "bench/results/results.json", "results of make bench")
	benchtime := fs.String("benchtime", "", "go test -benchtime for the micro-benchmarks (go's default when empty)")
	out := fs.String("out", "bench/results/micro.txt", "where the micro-benchmark output goes (empty: nowhere)")
	microOnly := fs.Bool("micro", false, "check only the micro-benchmarks' allocations, not results.json (make test)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go command: %w", err)
	}
	var lines []bench.BudgetLine
	// The macro budget needs a make bench run; make test (-micro) has none.
	if !*microOnly {
		if rep, err := bench.ReadReport(inRoot(root, *results)); err != nil {
			lines = append(lines, bench.BudgetLine{Verdict: bench.Fail, Name: "macro budget", Detail: err.Error() + " (run make bench first)"})
		} else {
			fmt.Fprintf(stdout, "results of %s (%s)\n", rep.Started.Format(time.RFC3339), rep.Machine.CPUModel)
			lines = append(lines, bench.CheckMacro(rep)...)
		}
	}
	pkgs := fs.Args() // packages to benchmark; all that have benchmarks when none
	if len(pkgs) == 0 {
		if pkgs, err = bench.BenchPackages(root); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "micro-benchmarks: go test -run '^$' -bench . -benchmem %s\n", strings.Join(pkgs, " "))
	micro, err := bench.RunMicro(ctx, goBin, root, pkgs, *benchtime)
	if err != nil {
		return err
	}
	if p := inRoot(root, *out); p != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("micro output: %w", err)
		}
		if err := os.WriteFile(p, []byte(micro), 0o644); err != nil {
			return fmt.Errorf("micro output: %w", err)
		}
	}
	res, failures := bench.ParseBenchOutput(micro)
	lines = append(lines, bench.CheckMicro(res, failures, bench.MicroExclusions())...)
	failed := 0
	fmt.Fprintln(stdout)
	for _, l := range lines {
		fmt.Fprintln(stdout, l)
		if l.Verdict == bench.Fail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "\nbench-check: %d budget line(s) do not hold\n", failed)
		return exitCode(1)
	}
	fmt.Fprintln(stdout, "\nbench-check: every measured budget line holds")
	return nil
}

// targetFlags collects repeated -target name=url[,pid] flags.
type targetFlags []bench.Target

func (t *targetFlags) String() string { return fmt.Sprint(*t) }

func (t *targetFlags) Set(v string) error {
	target, err := bench.ParseTarget(v)
	if err != nil {
		return err
	}
	*t = append(*t, target)
	return nil
}

// withTargets adds the targets to an explicit -scenarios list: a target
// given is a target run.
func withTargets(list string, targets []bench.Target) string {
	if strings.TrimSpace(list) == "" {
		return list
	}
	for _, t := range targets {
		list += "," + t.Name
	}
	return list
}

// headerFlags collects repeated -header "Name: Value" flags.
type headerFlags []loadgen.Header

func (h *headerFlags) String() string { return fmt.Sprint(*h) }

func (h *headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q: want Name: Value", v)
	}
	*h = append(*h, loadgen.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	return nil
}

// runLoad is the load generator child: it prints "measure" and "stop" as
// the window opens and closes, then the result as one JSON line.
func runLoad(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadgen.Config
	var headers headerFlags
	fs.StringVar(&cfg.Addr, "addr", "", "host:port to load")
	fs.StringVar(&cfg.Host, "host", "", "Host header (default addr)")
	fs.StringVar(&cfg.Method, "method", "GET", "request method")
	fs.StringVar(&cfg.Path, "path", "/", "request URI")
	fs.Var(&headers, "header", `request header "Name: Value" (repeatable)`)
	fs.IntVar(&cfg.Conns, "conns", 64, "connections")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "load before the window")
	fs.DurationVar(&cfg.Duration, "duration", 8*time.Second, "measured window")
	fs.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per request")
	useTLS := fs.Bool("tls", false, "TLS 1.3, resuming sessions from a cache of -conns entries")
	tlsCA := fs.String("tls-ca", "", "PEM file of the only root trusted with -tls (default: the system's)")
	tlsName := fs.String("tls-server-name", bench.TLSServerName, "server name sent and verified with -tls")
	fs.BoolVar(&cfg.NewConnPerRequest, "new-conn", false, "a new connection per request (Connection: close)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Headers = headers
	if *useTLS {
		c, err := bench.ClientTLSConfig(*tlsCA, *tlsName, loadgen.NewSessionCache(cfg.Conns))
		if err != nil {
			return err
		}
		cfg.TLS = c
	}
	return report(stdout, func(onMeasure, onStop func()) (any, error) {
		cfg.OnMeasure, cfg.OnStop = onMeasure, onStop
		return loadgen.Run(cfg)
	})
}

// report runs a load, writing "measure" and "stop" to stdout as its
// window opens and closes (the suite waits for them), then its result as
// one JSON line.
func report(stdout io.Writer, run func(onMeasure, onStop func()) (any, error)) error {
	w := bufio.NewWriter(stdout)
	say := func(s string) func() {
		return func() {
			fmt.Fprintln(w, s)
			_ = w.Flush()
		}
	}
	res, err := run(say("measure"), say("stop"))
	if err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// runUpstream serves the benchmark upstream on loopback until SIGTERM,
// after printing "listening ADDR".
func runUpstream(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	return bench.ServeLoopback(ctx, "upstream", bench.NewUpstream(), stdout)
}
