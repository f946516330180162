package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
	"github.com/valyala/fasthttp"
)

// Options configure a run of the suite.
type Options struct {
	Root      string        // module root: where go build and go test run
	Frontdesk string        // the frontdesk binary
	Build     bool          // build Frontdesk first (go build skips an up-to-date binary)
	GoBin     string        // the go command
	Self      string        // this program, started as its `load` and `upstream` subcommands
	Duration  time.Duration // measured window of each round
	Warmup    time.Duration // load before each window
	Rounds    int
	Conns     int
	// Alternations is how many slices of Slice each side of a budget pair
	// gets when the pair is measured again alternately after the rounds
	// (alternate.go); 0: not at all.
	Alternations int
	Slice        time.Duration
	WSConns      int // connections of the WebSocket broadcast scenarios (DefaultWSConns when 0)
	Scenarios    []Scenario
	ProfileDir   string // when set, CPU and allocation profiles go there
	Keep         bool   // keep the scratch directory (configs, logs)
	// TimeLimit, when set, bounds the whole run: if the rounds would take
	// longer, each window is shortened (to 3s at least) and the report
	// says so.
	TimeLimit time.Duration
	CPUs      []int // CPUs the suite may use; the proxy gets the first
	Tools     Tools
	Log       *slog.Logger
	Out       io.Writer // progress lines
}

type suite struct {
	opt    Options
	layout CPULayout
	clk    int64
	dir    string          // scratch directory of the run
	built  map[string]bool // helper binaries built so far, by name
	cert   CertFiles       // the certificate TLS scenarios serve
}

// Run measures every scenario of opt and returns the report. Scenarios
// that cannot run are in the report with the reason; only a failure of
// the suite itself is an error.
func Run(ctx context.Context, opt Options) (*Report, error) {
	if opt.Rounds < 1 || opt.Conns < 1 || opt.Duration <= 0 || opt.Warmup < 0 {
		return nil, fmt.Errorf("bench: need rounds ≥ 1, conns ≥ 1, duration > 0 and warm-up ≥ 0")
	}
	started := time.Now()
	s := &suite{opt: opt, layout: NewCPULayout(opt.Tools.Taskset, opt.CPUs), built: map[string]bool{}}
	rep := &Report{
		Started: started,
		Machine: DescribeMachine(ctx, opt.Tools, len(opt.CPUs)),
		Settings: Settings{DurationS: opt.Duration.Seconds(), WarmupS: opt.Warmup.Seconds(),
			Rounds: opt.Rounds, Conns: opt.Conns, Pinning: s.layout.Note},
		Missing: opt.Tools.Missing(),
	}
	s.clk = rep.Machine.ClkTck
	dir, err := os.MkdirTemp("", "frontdesk-bench-")
	if err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	s.dir = dir
	if opt.Keep {
		opt.Log.Info("keeping scratch directory", "dir", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	if s.cert, err = WriteCertificate(filepath.Join(dir, "tls")); err != nil {
		return nil, err
	}
	buildErr := s.buildFrontdesk(ctx)
	var runnable []int
	for _, sc := range opt.Scenarios {
		res := ScenarioResult{Name: sc.Name, Proxy: sc.Proxy, Generator: sc.generator(), Path: sc.Path, About: sc.About, Reference: sc.Reference, Group: sc.Group, Matrix: sc.Matrix}
		res.Status, res.Reason = s.preflight(ctx, sc, buildErr)
		if res.Status == Measured {
			runnable = append(runnable, len(rep.Scenarios))
		}
		rep.Scenarios = append(rep.Scenarios, res)
	}

	if d, note := fitDuration(opt, len(runnable)); d != opt.Duration {
		fmt.Fprintf(opt.Out, "%s\n", note)
		s.opt.Duration = d
		rep.Settings.DurationS = d.Seconds()
		rep.Settings.Note = note
	}
	for r := 1; r <= opt.Rounds; r++ {
		for pos, i := range RoundOrder(opt.Scenarios, runnable, r-1) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("bench interrupted: %w", err)
			}
			sc := opt.Scenarios[i]
			rd := s.runOnce(ctx, sc, r, pos+1)
			rep.Scenarios[i].Rounds = append(rep.Scenarios[i].Rounds, rd)
			s.progress(sc, rd, len(runnable))
		}
	}
	rep.summarize()
	if opt.Alternations > 0 && opt.Slice > 0 {
		for _, pair := range AlternatedPairs(rep, opt.Scenarios) {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("bench interrupted: %w", err)
			}
			a := s.alternate(ctx, pair[0], pair[1], opt.Alternations, opt.Slice)
			rep.Alternated = append(rep.Alternated, a)
			fmt.Fprintln(opt.Out, alternationLine(&a))
		}
		rep.Settings.Alternations, rep.Settings.SliceS = opt.Alternations, opt.Slice.Seconds()
		rep.judge()
	}
	if opt.ProfileDir != "" {
		s.profile(ctx, rep)
	}
	rep.Elapsed = time.Since(started).Round(time.Second).String()
	return rep, nil
}

// DefaultTimeLimit bounds a default run (3 rounds × 8 s + 1 s warm-up) of
// every scenario, with the budget's pairs alternated after the rounds
// (about 3.5 minutes): with all 39 scenarios (each peer installed) the
// windows shrink to about 5.1 s, long enough that a clock tick is 0.2% of the proxy's CPU
// time and a round's figures steady. MeaningfulWindow is the shortest
// window a full run may get; a test holds the limit to it, so adding
// scenarios means raising the limit.
const (
	DefaultTimeLimit = 17 * time.Minute
	MeaningfulWindow = 5 * time.Second
)

// runOverhead is what starting and stopping the processes of one round of
// one scenario costs, on top of its warm-up and window.
const runOverhead = 500 * time.Millisecond

// fitDuration shortens the window when the run would not fit
// opt.TimeLimit, and says why.
func fitDuration(opt Options, scenarios int) (time.Duration, string) {
	if opt.TimeLimit <= 0 || scenarios == 0 {
		return opt.Duration, ""
	}
	runs := time.Duration(opt.Rounds * scenarios)
	limit := opt.TimeLimit - alternationTime(opt)
	if runs*(opt.Warmup+opt.Duration+runOverhead) <= limit {
		return opt.Duration, ""
	}
	d := (limit/runs - opt.Warmup - runOverhead).Truncate(100 * time.Millisecond)
	d = max(d, 3*time.Second)
	return d, fmt.Sprintf("window shortened from %s to %s so that %d rounds × %d scenarios fit the %s time limit",
		opt.Duration, d, opt.Rounds, scenarios, opt.TimeLimit)
}

func (sc Scenario) generator() Generator {
	if sc.Generator == "" {
		return Loadgen
	}
	return sc.Generator
}

func (s *suite) progress(sc Scenario, rd Round, n int) {
	prefix := fmt.Sprintf("round %d/%d [%d/%d] %-20s", rd.Round, s.opt.Rounds, rd.Position, n, sc.Name)
	if rd.Err != "" {
		fmt.Fprintf(s.opt.Out, "%s failed: %s\n", prefix, rd.Err)
		return
	}
	hs := ""
	if rd.Load.Handshakes > 0 {
		hs = fmt.Sprintf("  %.0f handshakes/s (%d%% resumed)", rd.Load.HandshakesPerS, 100*rd.Load.Resumed/rd.Load.Handshakes)
	}
	fmt.Fprintf(s.opt.Out, "%s %9.0f req/s  p99 %-9s  %6s µs CPU/req  other load %3.0f%%%s\n", prefix, rd.RPS(), fmtMicros(rd.Load.P99Us), fmtCPU(&rd), rd.OtherCPU*100, hs)
}

func (s *suite) buildFrontdesk(ctx context.Context) error {
	if !s.opt.Build {
		if _, err := os.Stat(s.opt.Frontdesk); err != nil {
			return fmt.Errorf("frontdesk binary: %w", err)
		}
		return nil
	}
	return s.goBuild(ctx, s.opt.Frontdesk, "./cmd/frontdesk")
}

func (s *suite) goBuild(ctx context.Context, out, pkg string) error {
	cmd := exec.CommandContext(ctx, s.opt.GoBin, "build", "-o", out, pkg)
	cmd.Dir = s.opt.Root
	return runBuild(cmd, pkg)
}

// goBuildFunction builds a Go Lambda function as AWS's SAM CLI builds one
// for the provided runtimes, and as AWS's Go guide says to: a static
// binary (CGO_ENABLED=0) with -tags lambda.norpc. Built with cgo, the
// example function spent about a tenth more CPU per invocation, mostly
// because aws-lambda-go sets _X_AMZN_TRACE_ID for every event and os.Setenv
// then updates the C library's environment too.
func (s *suite) goBuildFunction(ctx context.Context, out, pkg string) error {
	cmd := exec.CommandContext(ctx, s.opt.GoBin, "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Dir = s.opt.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	return runBuild(cmd, pkg)
}

func runBuild(cmd *exec.Cmd, pkg string) error {
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// preflight decides whether a scenario can run here: its tools are
// installed, and for frontdesk, its config validates without "not yet
// supported" warnings and its helper binaries build.
func (s *suite) preflight(ctx context.Context, sc Scenario, buildErr error) (Status, string) {
	switch {
	case sc.Unavailable != "":
		return NotYet, sc.Unavailable
	case sc.generator() == Wrk && s.opt.Tools.Wrk == "":
		return Skipped, "wrk not installed"
	case sc.Proxy == Nginx && s.opt.Tools.Nginx == "":
		return Skipped, "nginx not installed"
	case sc.Redis && s.opt.Tools.Redis == "":
		return Skipped, "redis-server not installed"
	case sc.Proxy == Haproxy && s.opt.Tools.Haproxy == "":
		return Skipped, "haproxy not installed"
	case sc.Proxy == Caddy && s.opt.Tools.Caddy == "":
		return Skipped, "caddy not installed"
	case sc.Proxy == Varnish && s.opt.Tools.Varnishd == "":
		return Skipped, "varnishd not installed"
	case sc.Proxy != Frontdesk:
		return Measured, ""
	case buildErr != nil:
		return Failed, buildErr.Error()
	}
	dir := filepath.Join(s.dir, "preflight-"+sc.Name)
	path, err := s.writeFrontdeskConfig(sc, dir, "127.0.0.1:9", "redis://127.0.0.1:9/0", "127.0.0.1:9")
	if err != nil {
		return Failed, err.Error()
	}
	notYet, err := ValidateFrontdesk(ctx, s.opt.Frontdesk, path)
	switch {
	case len(notYet) > 0:
		return NotYet, "frontdesk: " + summarizeList(notYet, 3)
	case err != nil && !(errors.Is(err, errConfigRejected) && len(sc.Builds) > 0):
		return Failed, err.Error()
	}
	for name, pkg := range sc.Builds {
		if s.built[name] {
			continue
		}
		if err := s.goBuildFunction(ctx, s.binPath(name), pkg); err != nil {
			return Failed, err.Error()
		}
		s.built[name] = true
	}
	if err != nil {
		// The config was rejected before its binaries existed: judge it
		// again now that they do.
		if _, err := ValidateFrontdesk(ctx, s.opt.Frontdesk, path); err != nil {
			return Failed, err.Error()
		}
	}
	return Measured, ""
}

func summarizeList(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:n], "; "), len(items)-n)
}

// binPath is where a scenario's helper binary is built.
func (s *suite) binPath(name string) string { return filepath.Join(s.dir, "bin", name) }

// writeFrontdeskConfig renders sc's config for an upstream into dir.
func (s *suite) writeFrontdeskConfig(sc Scenario, dir, upstream, redis, endpoint string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("run dir: %w", err)
	}
	bins := map[string]string{}
	for name := range sc.Builds {
		bins[name] = s.binPath(name)
	}
	cfg, err := FrontdeskConfig(sc, ConfigData{Upstream: upstream, Dir: dir, Bins: bins, Redis: redis, Endpoint: endpoint, Cert: s.cert})
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return "", fmt.Errorf("write frontdesk config: %w", err)
	}
	return path, nil
}

// runOnce starts the upstream and the proxy, checks one request, applies
// the load and reads the measured process's CPU time and peak RSS.
func (s *suite) runOnce(ctx context.Context, sc Scenario, round, pos int) Round {
	rd := Round{Round: round, Position: pos}
	if err := s.measure(ctx, sc, &rd); err != nil {
		rd.Err = err.Error()
		rd.Load = nil
	}
	return rd
}

func (s *suite) measure(ctx context.Context, sc Scenario, rd *Round) error {
	if sc.Target != nil {
		return s.measureTarget(ctx, sc, rd)
	}
	st, err := s.start(ctx, sc, filepath.Join(s.dir, fmt.Sprintf("%s-round%d", sc.Name, rd.Round)))
	if err != nil {
		return err
	}
	defer st.stop()
	if err := s.drive(ctx, st, s.opt.Warmup, s.opt.Duration, rd); err != nil {
		return err
	}
	rss, err := ReadTreePeakRSS(st.w.target.pid())
	if err != nil {
		return err
	}
	for _, e := range st.w.extra {
		kib, err := ReadTreePeakRSS(e.pid())
		if err != nil {
			return err
		}
		rss += kib
	}
	rd.PeakRSSKiB = rss
	return nil
}

// setup is a scenario's processes, started and answering.
type setup struct {
	sc    Scenario
	dir   string
	addr  string
	w     watched
	stops []func()
}

// stop ends the processes, the last started first.
func (st *setup) stop() {
	for i := len(st.stops) - 1; i >= 0; i-- {
		st.stops[i]()
	}
}

// start runs sc's upstream, helpers and proxy, with their files in dir,
// and checks that the proxy answers as sc expects.
func (s *suite) start(ctx context.Context, sc Scenario, dir string) (_ *setup, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	st := &setup{sc: sc, dir: dir}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	stopping := func(c *child) { st.stops = append(st.stops, func() { c.stop(5 * time.Second) }) }
	// Direct has no proxy: the upstream is the server under test and
	// takes the proxy's CPU.
	upCPUs := s.layout.Load
	if sc.Proxy == Direct {
		upCPUs = s.layout.Proxy
	}
	up, upAddr, err := s.startUpstream(ctx, dir, upCPUs)
	if err != nil {
		return nil, err
	}
	stopping(up)

	var redis string
	if sc.Redis {
		rc, url, err := s.startRedis(ctx, dir)
		if err != nil {
			return nil, err
		}
		stopping(rc)
		redis = url
	}
	var endpoint string
	var extra []*child
	if sc.Endpoint != "" {
		ec, addr, err := s.startInvokeEndpoint(ctx, dir, sc.Endpoint)
		if err != nil {
			return nil, err
		}
		stopping(ec)
		endpoint, extra = addr, []*child{ec}
	}

	target, addr := up, upAddr
	switch sc.Proxy {
	case Nginx:
		target, addr, err = s.startNginx(ctx, dir, sc, upAddr)
	case Frontdesk:
		target, addr, err = s.startFrontdesk(ctx, dir, sc, upAddr, redis, endpoint)
	case Haproxy, Caddy, Varnish:
		target, addr, err = s.startPeer(ctx, dir, sc, upAddr)
	case WSFloor:
		target, addr, err = s.startWSFloor(ctx, dir, upAddr)
	}
	if err != nil {
		return nil, err
	}
	if target != up {
		stopping(target)
	}
	if sc.isWebSocket() {
		err = probeWS(ctx, addr, sc, target)
	} else {
		var tlsConf *tls.Config
		if tlsConf, err = s.probeTLS(sc); err == nil {
			err = probe(ctx, addr, sc, target, tlsConf)
		}
	}
	if err != nil {
		return nil, err
	}
	st.addr = addr
	// The upstream's CPU is the suite's own load, not the machine's
	// other work, when it is not the measured process; it is also what
	// the request cost the machine behind the proxy.
	st.w = watched{target: target, extra: extra}
	if target != up {
		st.w.backend = up
	}
	return st, nil
}

// drive applies sc's load to a started setup for one window after a
// warm-up, and sets rd's load and CPU figures.
func (s *suite) drive(ctx context.Context, st *setup, warmup, window time.Duration, rd *Round) error {
	var err error
	switch st.sc.generator() {
	case Wrk:
		err = s.runWrk(ctx, st.dir, st.sc, st.addr, st.w, rd)
	case WSEcho, WSBroadcast:
		err = s.runWSLoad(ctx, st.dir, st.sc, st.addr, st.w, rd)
	default:
		err = s.runLoadgen(ctx, st.dir, st.sc, st.addr, st.w, rd, warmup, window)
	}
	if err != nil {
		return err
	}
	if st.w.target.exited() {
		return st.w.target.failure()
	}
	rd.CPUUsPerReq = s.usPerReq(rd.CPUTicks, rd.Load.Responses)
	rd.BackendCPUUsPerReq = s.usPerReq(rd.BackendTicks, rd.Load.Responses)
	if rd.Load.Status2xx == 0 {
		return fmt.Errorf("no 2xx response in the window (non-2xx %d, errors %v)", rd.Load.Non2xx, rd.Load.Errors)
	}
	return nil
}

// startUpstream runs this program's `upstream` subcommand, which prints
// the address it bound.
func (s *suite) startUpstream(ctx context.Context, dir, cpus string) (*child, string, error) {
	cmd := s.layout.command(ctx, cpus, nil, s.opt.Self, "upstream")
	return startListening(cmd, "upstream", filepath.Join(dir, "upstream.log"))
}

// startListening starts one of this program's serving subcommands, which
// prints "listening ADDR" once it has bound, and returns the address.
func startListening(cmd *exec.Cmd, name, logPath string) (*child, string, error) {
	lines, c, err := startWithLines(cmd, name, logPath, false)
	if err != nil {
		return nil, "", err
	}
	addr, err := waitLine(lines, 10*time.Second, func(l string) (string, bool) {
		return strings.CutPrefix(l, "listening ")
	})
	drain(lines)
	if err != nil {
		c.stop(time.Second)
		return nil, "", fmt.Errorf("%s did not start: %w; %s", name, err, logTail(logPath))
	}
	return c, addr, nil
}

// startWithLines starts cmd with stdout (or stderr, when fromStderr) read
// line by line and copied to logPath, and the other stream appended to
// the same file. The pipe is the suite's own rather than exec's, whose
// reading end Wait closes as soon as the child exits, possibly before its
// last lines were read.
func startWithLines(cmd *exec.Cmd, name, logPath string, fromStderr bool) (<-chan string, *child, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("%s log: %w", name, err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		logf.Close()
		return nil, nil, fmt.Errorf("%s pipe: %w", name, err)
	}
	if fromStderr {
		cmd.Stdout, cmd.Stderr = logf, pw
	} else {
		cmd.Stdout, cmd.Stderr = pw, logf
	}
	c, err := startChild(name, cmd, logPath)
	pw.Close() // the child holds its own copy; EOF comes when it exits
	if err != nil {
		pr.Close()
		logf.Close()
		return nil, nil, err
	}
	lines := make(chan string, 16)
	go func() {
		scanLines(pr, logf, lines)
		pr.Close()
		logf.Close()
	}()
	return lines, c, nil
}

// startFrontdesk serves the scenario's config on a port the OS picks and
// reads the bound address from frontdesk's "serving" log line.
func (s *suite) startFrontdesk(ctx context.Context, dir string, sc Scenario, upstream, redis, endpoint string) (*child, string, error) {
	path, err := s.writeFrontdeskConfig(sc, dir, upstream, redis, endpoint)
	if err != nil {
		return nil, "", err
	}
	logPath := filepath.Join(dir, "frontdesk.log")
	cmd := s.layout.command(ctx, s.layout.Proxy, []string{"GOMAXPROCS=1"},
		s.opt.Frontdesk, "serve", "-c", path, "-listen", "127.0.0.1:0", "-log-format", "json")
	lines, c, err := startWithLines(cmd, "frontdesk", logPath, true)
	if err != nil {
		return nil, "", err
	}
	addr, err := waitLine(lines, 15*time.Second, servingAddr)
	drain(lines)
	if err != nil {
		c.stop(time.Second)
		return nil, "", fmt.Errorf("frontdesk did not start: %w; %s", err, logTail(logPath))
	}
	return c, addr, nil
}

// startRedis runs redis-server for a cluster scenario on the load
// generator's CPUs (its work is the cluster's cost to the machine, not to
// the gateway) and returns its URL once it accepts connections.
func (s *suite) startRedis(ctx context.Context, dir string) (*child, string, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := s.layout.command(ctx, s.layout.Load, nil, s.opt.Tools.Redis, "--port", port, "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no", "--loglevel", "warning")
	lines, c, err := startWithLines(cmd, "redis-server", filepath.Join(dir, "redis.log"), false)
	if err != nil {
		return nil, "", err
	}
	drain(lines)
	if err := waitListening(addr, c, 10*time.Second); err != nil {
		c.stop(time.Second)
		return nil, "", err
	}
	return c, "redis://" + addr + "/0", nil
}

// servingAddr reads the address out of frontdesk's JSON "serving" line.
func servingAddr(line string) (string, bool) {
	var rec struct {
		Msg    string `json:"msg"`
		Listen string `json:"listen"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "serving" || rec.Listen == "" {
		return "", false
	}
	return rec.Listen, true
}

// startNginx runs the reference proxy on a port picked by the OS a moment
// before (nginx cannot report a port it chose itself).
func (s *suite) startNginx(ctx context.Context, dir string, sc Scenario, upstream string) (*child, string, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, "", err
	}
	conf, err := nginxScenarioConf(sc, dir, addr, upstream, s.cert)
	if err != nil {
		return nil, "", err
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, "", fmt.Errorf("write nginx.conf: %w", err)
	}
	logPath := filepath.Join(dir, "nginx.out")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, "", fmt.Errorf("nginx log: %w", err)
	}
	defer logf.Close() // the child has its own copy
	// -e sends start-up errors to the scratch directory too, before the
	// config's error_log is read.
	cmd := s.layout.command(ctx, s.layout.Proxy, nil, s.opt.Tools.Nginx,
		"-p", dir+"/", "-c", confPath, "-e", filepath.Join(dir, "nginx-error.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	c, err := startChild("nginx", cmd, filepath.Join(dir, "nginx-error.log"))
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(addr, c, 10*time.Second); err != nil {
		c.stop(time.Second)
		return nil, "", err
	}
	return c, addr, nil
}

func freeLoopbackAddr() (string, error) {
	ln, err := ListenLoopback()
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	return addr, nil
}

// waitListening polls addr until it accepts, the process exits or the
// timeout passes.
func waitListening(addr string, c *child, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if c.exited() {
			return c.failure()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %s", c.name, addr, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probe checks that the scenario's request gets a 2xx answer before any
// load is applied, retrying briefly while the server settles; for a cache
// (sc.HitHeader), an answer marked as a hit, so the load meets a filled
// cache. target is the started server (nil for a -target, which the suite
// did not start); tlsConf, when set, makes it an HTTPS request.
func probe(ctx context.Context, addr string, sc Scenario, target *child, tlsConf *tls.Config) error {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	client := &fasthttp.Client{TLSConfig: tlsConf}
	if tlsConf != nil {
		req.SetRequestURI("https://" + addr + sc.Path)
	} else {
		req.SetRequestURI("http://" + addr + sc.Path)
	}
	if sc.Target != nil {
		req.UseHostHeader = true
		req.Header.SetHost(sc.Target.Host)
	}
	for _, h := range sc.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	deadline := time.Now().Add(5 * time.Second)
	var last string
	for {
		err := client.DoTimeout(req, resp, 2*time.Second)
		ok := err == nil && resp.StatusCode()/100 == 2
		if ok && (sc.HitHeader == nil || hasHitHeader(sc.HitHeader, resp.Header.Peek(sc.HitHeader.Name))) {
			return nil
		}
		switch {
		case err != nil:
			last = err.Error()
		case ok:
			last = fmt.Sprintf("no cache hit: %s: %q, want %q", sc.HitHeader.Name, resp.Header.Peek(sc.HitHeader.Name), sc.HitHeader.Value)
		default:
			last = fmt.Sprintf("status %d %q", resp.StatusCode(), truncate(resp.Body()))
		}
		if target != nil && target.exited() {
			return target.failure()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("probe GET %s: %s", sc.Path, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watched are the processes whose CPU time a round reads: the measured
// one, the upstream behind it (nil for direct, where the upstream is the
// measured process) and the suite's other helpers (the load generator).
type watched struct {
	target  *child
	pid     int // a -target's process when target is nil; 0: not read
	backend *child
	helpers []*child
	extra   []*child // measured with the target, descendants included (a scenario's Invoke endpoint)
}

// sample is the CPU time read at one edge of the measured window.
type sample struct {
	at      time.Time
	system  SystemTicks
	target  uint64 // the measured process and its descendants
	backend uint64 // the upstream behind it
	helpers uint64 // the suite's processes other than the target, the upstream included
}

func takeSample(w watched) (sample, error) {
	sys, err := ReadSystem()
	if err != nil {
		return sample{}, err
	}
	out := sample{at: time.Now(), system: sys}
	pid := w.pid
	if w.target != nil {
		pid = w.target.pid()
	}
	if pid != 0 {
		t, err := ReadTreeCPU(pid)
		if err != nil {
			return sample{}, err
		}
		out.target = t
	}
	for _, e := range w.extra {
		t, err := ReadTreeCPU(e.pid())
		if err != nil {
			return sample{}, err
		}
		out.target += t
	}
	if w.backend != nil {
		c, err := ReadCPU(w.backend.pid())
		if err != nil {
			return sample{}, err
		}
		out.backend = c.Total()
		out.helpers += out.backend
	}
	for _, h := range w.helpers {
		c, err := ReadCPU(h.pid())
		if err != nil {
			return sample{}, err
		}
		out.helpers += c.Total()
	}
	return out, nil
}

// account sets the round's CPU figures from the samples around its
// window; extraHelpers is helper CPU time not in the samples (a generator
// read from its exit status).
func (s *suite) account(rd *Round, before, after sample, extraHelpers uint64) {
	rd.CPUTicks = after.target - before.target
	rd.BackendTicks = after.backend - before.backend
	ours := rd.CPUTicks + after.helpers - before.helpers + extraHelpers
	total := after.system.Busy - before.system.Busy
	secs := after.at.Sub(before.at).Seconds()
	if total > ours && secs > 0 {
		rd.OtherCPU = float64(total-ours) / float64(s.clk) / secs
	}
}

// usPerReq is CPU ticks spread over responses, in µs; 0 without a
// response.
func (s *suite) usPerReq(ticks uint64, responses int64) float64 {
	if responses <= 0 {
		return 0
	}
	return float64(ticks) * 1e6 / float64(s.clk) / float64(responses)
}

// runLoadgen runs this program's `load` subcommand against addr and reads
// CPU times when the child says the window opens and closes.
func (s *suite) runLoadgen(ctx context.Context, dir string, sc Scenario, addr string, w watched, rd *Round, warmup, window time.Duration) error {
	args := []string{s.opt.Self, "load", "-addr", addr, "-path", sc.Path,
		"-conns", strconv.Itoa(s.opt.Conns), "-warmup", warmup.String(), "-duration", window.String()}
	for _, h := range sc.Headers {
		args = append(args, "-header", h.Name+": "+h.Value)
	}
	args = append(args, s.loadArgs(sc)...)
	return s.runGenerator(ctx, dir, "load generator", "load.log", args, w, rd)
}

// runGenerator runs one of this program's load subcommands (args), takes
// the CPU samples when the child says the window opens ("measure") and
// closes ("stop"), and reads the loadgen.Result it prints as JSON.
func (s *suite) runGenerator(ctx context.Context, dir, name, logName string, args []string, w watched, rd *Round) error {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Warmup+s.opt.Duration+time.Minute)
	defer cancel()
	logPath := filepath.Join(dir, logName)
	lines, c, err := startWithLines(s.layout.command(ctx, s.layout.Load, nil, args...), name, logPath, false)
	if err != nil {
		return err
	}
	defer c.stop(5 * time.Second)
	w.helpers = append(w.helpers, c)
	var before, after sample
	var sampleErr error
	var result []byte
	for line := range lines {
		switch {
		case line == "measure":
			before, sampleErr = takeSample(w)
		case line == "stop":
			after, err = takeSample(w)
			sampleErr = errors.Join(sampleErr, err)
		case strings.HasPrefix(line, "{"):
			result = []byte(line)
		}
	}
	<-c.done
	if c.err != nil {
		return fmt.Errorf("%s: %w; %s", name, c.err, logTail(logPath))
	}
	if sampleErr != nil {
		return sampleErr
	}
	var res loadgen.Result
	if err := json.Unmarshal(result, &res); err != nil {
		return fmt.Errorf("%s result: %w; %s", name, err, logTail(logPath))
	}
	rd.Load = &res
	s.account(rd, before, after, 0)
	return nil
}

// runWrk applies the same load with wrk -t1: a warm-up run, then the
// measured one, with CPU times read around the latter. wrk's own CPU time
// comes from its exit status, as it is gone by the second reading.
func (s *suite) runWrk(ctx context.Context, dir string, sc Scenario, addr string, w watched, rd *Round) error {
	wrk := func(d time.Duration) (string, uint64, error) {
		args := []string{s.opt.Tools.Wrk, "-t1", "-c", strconv.Itoa(s.opt.Conns), "-d", wrkSeconds(d), "--latency", "--timeout", "10s"}
		for _, h := range sc.Headers {
			args = append(args, "-H", h.Name+": "+h.Value)
		}
		args = append(args, "http://"+addr+sc.Path)
		cctx, cancel := context.WithTimeout(ctx, d+time.Minute)
		defer cancel()
		cmd := s.layout.command(cctx, s.layout.Load, nil, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		_ = os.WriteFile(filepath.Join(dir, "wrk.out"), out.Bytes(), 0o644)
		if err != nil {
			return "", 0, fmt.Errorf("wrk: %w: %s", err, firstLines(out.String(), 3))
		}
		used := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return out.String(), uint64(used.Seconds() * float64(s.clk)), nil
	}
	if s.opt.Warmup >= time.Second {
		if _, _, err := wrk(s.opt.Warmup); err != nil {
			return err
		}
	}
	before, err := takeSample(w)
	if err != nil {
		return err
	}
	out, wrkTicks, err := wrk(s.opt.Duration)
	if err != nil {
		return err
	}
	after, err := takeSample(w)
	if err != nil {
		return err
	}
	parsed, err := ParseWrk(out)
	if err != nil {
		return err
	}
	rd.Load = wrkToResult(parsed, s.opt.Conns)
	s.account(rd, before, after, wrkTicks)
	return nil
}

// wrkSeconds rounds a duration up to wrk's whole seconds.
func wrkSeconds(d time.Duration) string {
	return fmt.Sprintf("%ds", int(math.Max(1, math.Ceil(d.Seconds()))))
}

// wrkToResult expresses wrk's figures as a loadgen.Result; wrk prints no
// 99.9th percentile, so that one stays zero (shown as "—").
func wrkToResult(w WrkResult, conns int) *loadgen.Result {
	var errs int64
	for _, n := range w.Errors {
		errs += n
	}
	return &loadgen.Result{
		Conns: conns, Seconds: w.Seconds, Sent: w.Requests + errs,
		Responses: w.Requests, Status2xx: w.Requests - w.Non2xx, Non2xx: w.Non2xx,
		Errors: w.Errors, RPS: w.RPS,
		P50Us: int64(math.Round(w.P50Us)), P99Us: int64(math.Round(w.P99Us)),
	}
}

// profile captures CPU and allocation profiles of the code the measured
// frontdesk scenarios run, through their gateway micro-benchmarks:
// frontdesk serves no pprof endpoint.
func (s *suite) profile(ctx context.Context, rep *Report) {
	if err := os.MkdirAll(s.opt.ProfileDir, 0o755); err != nil {
		s.opt.Log.Error("profile", "err", err)
		return
	}
	done := map[Profile]bool{}
	for i, sc := range s.opt.Scenarios {
		if sc.Proxy != Frontdesk || rep.Scenarios[i].Median == nil {
			continue
		}
		for _, p := range sc.Profiles {
			if done[p] {
				continue
			}
			done[p] = true
			top, err := CaptureProfile(ctx, s.opt.GoBin, s.opt.Root, s.opt.ProfileDir, p)
			if err != nil {
				s.opt.Log.Error("profile", "bench", p.Bench, "err", err)
				continue
			}
			fmt.Fprintf(s.opt.Out, "\nCPU profile of %s (%s), top:\n%s\n", p.Bench, sc.Name, firstLines(top, 34))
		}
	}
}

// CaptureProfile runs one micro-benchmark with -cpuprofile and
// -memprofile into dir and writes the top of both profiles next to them
// (NAME.cpu.top.txt, NAME.alloc.top.txt). It returns the CPU top.
func CaptureProfile(ctx context.Context, goBin, root, dir string, p Profile) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("profile dir: %w", err)
	}
	testBin := filepath.Join(abs, p.Bench+".test")
	cpu := filepath.Join(abs, p.Bench+".cpu.pprof")
	mem := filepath.Join(abs, p.Bench+".mem.pprof")
	cmd := exec.CommandContext(ctx, goBin, "test", "-run", "^$", "-bench", "^"+p.Bench+"$", "-benchmem", "-benchtime", "3s",
		"-o", testBin, "-cpuprofile", cpu, "-memprofile", mem, p.Pkg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go test %s: %w: %s", p.Bench, err, strings.TrimSpace(string(out)))
	}
	if !strings.Contains(string(out), p.Bench) {
		return "", fmt.Errorf("go test %s %s: no such benchmark", p.Pkg, p.Bench)
	}
	if err := os.WriteFile(filepath.Join(abs, p.Bench+".bench.txt"), out, 0o644); err != nil {
		return "", fmt.Errorf("write profile: %w", err)
	}
	var cpuTop string
	for _, t := range []struct{ file, profile, index string }{
		{p.Bench + ".cpu.top.txt", cpu, ""},
		{p.Bench + ".alloc.top.txt", mem, "-sample_index=alloc_space"},
	} {
		args := []string{"tool", "pprof", "-top", "-nodecount", "25"}
		if t.index != "" {
			args = append(args, t.index)
		}
		top, err := exec.CommandContext(ctx, goBin, append(args, testBin, t.profile)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("go tool pprof %s: %w: %s", t.profile, err, firstLines(string(top), 3))
		}
		if err := os.WriteFile(filepath.Join(abs, t.file), top, 0o644); err != nil {
			return "", fmt.Errorf("write profile: %w", err)
		}
		if cpuTop == "" {
			cpuTop = string(top)
		}
	}
	return cpuTop, nil
}
