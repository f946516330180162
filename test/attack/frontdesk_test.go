package attack

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// frontdesk is one frontdesk process under attack.
type frontdesk struct {
	cmd    *exec.Cmd
	Addr   string // data plane, 127.0.0.1:port
	Admin  string // admin listener
	Port   int    // data plane port
	logs   *logBuffer
	exited chan struct{}
	err    error // from Wait, once exited is closed
	// adminAuth are the headers admin requests need (admin.token).
	adminAuth map[string]string
	// reported: the exit was already reported.
	reported bool
}

// logBuffer keeps everything frontdesk writes (its own log on stderr, the
// access log on stdout) up to a bound, so tests can look for leaked
// secrets.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	dropped int64
}

const maxLogBytes = 64 << 20

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len()+len(p) > maxLogBytes {
		l.dropped += int64(len(p))
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail is the end of the log, for failure messages.
func (l *logBuffer) tail(n int) string {
	s := l.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// startFrontdesk writes cfg to a temporary file and serves it on loopback
// ports the OS picks; the process is stopped when the test ends. The
// caller fills cfg from one of the templates in configs_test.go.
func startFrontdesk(t testing.TB, cfg string) *frontdesk {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	fd := &frontdesk{logs: &logBuffer{}, exited: make(chan struct{})}
	fd.cmd = exec.Command(frontdeskBin, "serve", "-c", path, "-listen", "127.0.0.1:0", "-admin-listen", "127.0.0.1:0",
		"-log-format", "json", "-watch=false")
	fd.cmd.Dir = dir
	fd.cmd.Stdout = fd.logs
	fd.cmd.Stderr = fd.logs
	// Never outlive the test binary, whatever happens to it.
	fd.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := fd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		fd.err = fd.cmd.Wait()
		close(fd.exited)
	}()
	t.Cleanup(func() { fd.stop(t) })
	deadline := time.Now().Add(20 * time.Second)
	for fd.Addr == "" || fd.Admin == "" {
		select {
		case <-fd.exited:
			fd.reported = true
			t.Fatalf("frontdesk exited at start: %v\n%s", fd.err, fd.logs.tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("frontdesk did not report its listeners:\n%s", fd.logs.tail(4000))
		}
		fd.Addr, fd.Admin = listenAddrs(fd.logs.String())
		if fd.Addr == "" || fd.Admin == "" {
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, port, _ := net.SplitHostPort(fd.Addr)
	fd.Port, _ = strconv.Atoi(port)
	return fd
}

// listenAddrs finds the bound addresses in frontdesk's JSON log: the
// "serving" and "admin listening" lines name them.
func listenAddrs(log string) (data, admin string) {
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"listen"`)) {
			continue
		}
		var rec struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		switch rec.Msg {
		case "serving":
			data = rec.Listen
		case "admin listening":
			admin = rec.Listen
		}
	}
	return data, admin
}

// stop sends SIGTERM and waits for the drain; a process that already
// exited on its own crashed during the test.
func (fd *frontdesk) stop(t testing.TB) {
	select {
	case <-fd.exited:
		if fd.reported {
			return
		}
		t.Errorf("frontdesk exited during the test: %v\n%s", fd.err, fd.logs.tail(4000))
		return
	default:
	}
	_ = fd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-fd.exited:
	case <-time.After(15 * time.Second):
		_ = fd.cmd.Process.Kill()
		<-fd.exited
		t.Errorf("frontdesk did not stop within 15 s of SIGTERM")
	}
}

// alive reports, as a test error, a process that exited or no longer
// answers on either listener.
func (fd *frontdesk) alive(t testing.TB) bool {
	t.Helper()
	select {
	case <-fd.exited:
		fd.reported = true
		t.Errorf("frontdesk crashed: %v\n%s", fd.err, fd.logs.tail(4000))
		return false
	default:
	}
	if out := roundTrip(fd.Addr, "GET /ping HTTP/1.1\r\nHost: alive.test\r\nConnection: close\r\n\r\n", 10*time.Second); out.status() != 200 {
		t.Errorf("frontdesk stopped answering on the data plane: %s", out)
		return false
	}
	if st, _, err := adminGet(fd.Admin, "/healthz", fd.adminAuth); err != nil || st != 200 {
		t.Errorf("frontdesk stopped answering on the admin listener: %d %v", st, err)
		return false
	}
	return true
}

// adminGet requests path on the admin listener with extra headers.
func adminGet(addr, path string, hdr map[string]string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// metrics reads /metrics and sums each family over its series (by the
// name before '{').
func (fd *frontdesk) metrics() (map[string]float64, error) {
	st, body, err := adminGet(fd.Admin, "/metrics", fd.adminAuth)
	if err != nil {
		return nil, err
	}
	if st != 200 {
		return nil, fmt.Errorf("/metrics: status %d", st)
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := f[0]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			// Labels may hold spaces; the value is then the last field
			// anyway, so a parse failure is a line to skip.
			continue
		}
		out[name] += v
	}
	return out, nil
}

// metric is one family's sum, -1 when /metrics does not have it.
func (fd *frontdesk) metric(name string) float64 {
	m, err := fd.metrics()
	if err != nil {
		return -1
	}
	v, ok := m[name]
	if !ok {
		return -1
	}
	return v
}

// proc are the process figures read from /proc.
type proc struct {
	RSS        int64 // KiB
	FDs        int
	Goroutines int
	HeapInuse  int64 // bytes
	Open       int   // client connections frontdesk counts
}

func (fd *frontdesk) proc() proc {
	var p proc
	pid := fd.cmd.Process.Pid
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					p.RSS, _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		p.FDs = len(ents)
	}
	if m, err := fd.metrics(); err == nil {
		p.Goroutines = int(m["go_goroutines"])
		p.HeapInuse = int64(m["go_memstats_heap_inuse_bytes"])
		p.Open = int(m["frontdesk_open_connections"])
	}
	return p
}

// settle waits until the attack's connections are gone from frontdesk:
// its descriptors and open connections back near base.
func (fd *frontdesk) settle(t testing.TB, base proc) proc {
	t.Helper()
	var now proc
	ok := waitEvery(load.Deadline, 200*time.Millisecond, func() bool {
		now = fd.proc()
		return now.FDs <= base.FDs+10 && now.Open <= base.Open+4
	})
	if !ok {
		t.Errorf("after the attack frontdesk still holds %d descriptors (baseline %d) and %d connections (baseline %d)",
			now.FDs, base.FDs, now.Open, base.Open)
	}
	return now
}

// recovered waits until frontdesk's goroutines and memory are back near
// base. fasthttp keeps an idle worker goroutine up to 10 s. Go hands
// memory back to the system after garbage collections (two, for buffers
// parked in a sync.Pool), which a process that allocates little runs
// only every 2 minutes; the suite scrapes /metrics every 50 ms meanwhile,
// which hastens them somewhat. The soak mode waits up to 150 s, the quick
// mode (whose attacks leave little) 25 s.
func (fd *frontdesk) recovered(t testing.TB, base proc) proc {
	t.Helper()
	rssSlack := max(int64(32<<10), base.RSS/2) // KiB
	var now proc
	// Memory that has not started to come back well after the goroutines
	// did (5 s quick; 120 s soak, the period of Go's forced collection)
	// is held: no need to wait out the deadline.
	lowest, dropped := int64(1<<62), time.Now()
	var calm time.Time // when the goroutines came back
	wait, plateau := 25*time.Second, 5*time.Second
	if load.Name == "soak" {
		wait, plateau = 150*time.Second, 120*time.Second
	}
	ok := waitEvery(wait, 50*time.Millisecond, func() bool {
		now = fd.proc()
		if now.RSS < lowest-1024 {
			lowest, dropped = now.RSS, time.Now()
		}
		if now.Goroutines > base.Goroutines+20 {
			return false
		}
		if calm.IsZero() {
			calm = time.Now()
		}
		return now.RSS <= base.RSS+rssSlack || time.Since(calm) > plateau && time.Since(dropped) > plateau
	})
	if !ok || now.RSS > base.RSS+rssSlack {
		t.Errorf("frontdesk did not return near its baseline: goroutines %d (baseline %d), RSS %s (baseline %s)",
			now.Goroutines, base.Goroutines, mib(now.RSS), mib(base.RSS))
	}
	return now
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool { return waitEvery(d, 25*time.Millisecond, cond) }

// waitProgress polls cond until it holds, its count stops moving for
// stall, or d passes.
func waitProgress(d, stall time.Duration, cond func() (int, bool)) bool {
	deadline := time.Now().Add(d)
	last, since := -1, time.Now()
	for {
		n, ok := cond()
		if ok {
			return true
		}
		if n != last {
			last, since = n, time.Now()
		}
		if time.Now().After(deadline) || time.Since(since) > stall {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvery polls cond every interval until it holds or d passes. Polls
// that scrape /metrics allocate in frontdesk, hence the longer intervals
// where frontdesk's memory is watched.
func waitEvery(d, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
