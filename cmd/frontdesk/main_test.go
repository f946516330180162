package main

import (
	"bufio"
	"bytes"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "frontdesk-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "frontdesk")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build frontdesk: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func writeConfig(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "frontdesk.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateListsEveryProblemWithItsLine(t *testing.T) {
	path := writeConfig(t, `server:
  listen: "127.0.0.1:8080"
  shutdown_grace: soon
apis:
  petstore:
    integrations:
      up: {type: http_proxy, url: "http://127.0.0.1:9", timeout: 1s}
    routes:
      "GET /pets/{id}": {integration: up}
      "GET /pets/{petId}": {integration: up}
      "GET /files/{proxy+}/x": {integration: up}
      "BREW /coffee": {integration: up}
      "GET /dangling": {integration: nowhere}
`)
	cmd := exec.Command(binary, "validate", "-c", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1; stderr:\n%s", err, stderr.String())
	}
	// Kind errors come first; the semantic check runs once they are fixed.
	if !strings.Contains(stderr.String(), path+":3: server.shutdown_grace: invalid duration") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	fixed := strings.Replace(mustRead(t, path), "soon", "5s", 1)
	os.WriteFile(path, []byte(fixed), 0o600)
	stderr.Reset()
	cmd = exec.Command(binary, "validate", "-c", path)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("broken config validated")
	}
	for _, want := range []string{
		":10: apis.petstore.routes.GET /pets/{petId}: conflicts with route \"GET /pets/{id}\"",
		":11: apis.petstore.routes.GET /files/{proxy+}/x: ",
		":12: apis.petstore.routes.BREW /coffee: ",
		":13: apis.petstore.routes.GET /dangling.integration: no integration named \"nowhere\"",
		"4 problem(s)",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("missing %q in:\n%s", want, stderr.String())
		}
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestValidateAcceptsTheQuickstart(t *testing.T) {
	out, err := exec.Command(binary, "validate", "-c", "../../examples/quickstart.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "valid") {
		t.Fatalf("%v: %s", err, out)
	}
	out, err = exec.Command(binary, "routes", "-c", "../../examples/quickstart.yaml").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "GET /orders/{orderId}") || !strings.Contains(string(out), "v1") {
		t.Fatalf("routes: %v: %s", err, out)
	}
}

func TestHelpIsComplete(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"serve", "--help"}, {"validate", "--help"}, {"routes", "--help"}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}

type process struct {
	cmd  *exec.Cmd
	addr string
}

// startServe runs `frontdesk serve` on a free port and waits until it
// answers.
func startServe(t *testing.T, src string) *process {
	t.Helper()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	path := writeConfig(t, src)
	cmd := exec.Command(binary, "serve", "-c", path, "-listen", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return &process{cmd: cmd, addr: addr}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("frontdesk did not start")
	return nil
}

// status reads a field of /proc/PID/status in KiB.
func status(t *testing.T, pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	t.Fatalf("no %s", field)
	return 0
}

// startServer serves h on a loopback port until the test ends and returns
// its address.
func startServer(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln) //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

func bigUpstream(t *testing.T) string {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	return startServer(t, func(ctx *fasthttp.RequestCtx) {
		mib, _ := strconv.Atoi(string(ctx.QueryArgs().Peek("mib")))
		size := mib << 20
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.Flush()
			}
		})
		ctx.Response.Header.SetContentLength(size)
	})
}

func TestLargeResponseStreamsWithoutBuffering(t *testing.T) {
	up := bigUpstream(t)
	p := startServe(t, fmt.Sprintf("apis:\n  a:\n    integrations: {u: {type: http_proxy, url: \"http://%s\"}}\n    routes: {$default: {integration: u}}\n", up))
	get := func(mib int) int64 {
		resp, err := http.Get("http://" + p.addr + "/big?mib=" + strconv.Itoa(mib))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	get(1) // warm up pools and buffers
	before := status(t, p.cmd.Process.Pid, "VmRSS")
	if n := get(32); n != 32<<20 {
		t.Fatalf("got %d bytes, want 32 MiB", n)
	}
	peak := status(t, p.cmd.Process.Pid, "VmHWM")
	growth := peak - before
	t.Logf("RSS before %d KiB, peak %d KiB, growth %d KiB", before, peak, growth)
	if growth > 16<<10 {
		t.Errorf("RSS grew by %d KiB while proxying 32 MiB; want < 16 MiB", growth)
	}
}

func TestSIGTERMDrainsInFlightRequestsAndExitsZero(t *testing.T) {
	// The upstream tells the test when the request has reached it, and
	// answers only after the signal was sent, so the request is in flight
	// when SIGTERM arrives however slowly the machine runs.
	arrived, signalled := make(chan struct{}, 1), make(chan struct{})
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		arrived <- struct{}{}
		select {
		case <-signalled:
		case <-time.After(10 * time.Second):
		}
		time.Sleep(100 * time.Millisecond) // the drain is under way
		ctx.SetBodyString("finished")
	})
	p := startServe(t, fmt.Sprintf("server: {shutdown_grace: 5s}\napis:\n  a:\n    integrations: {u: {type: http_proxy, url: \"http://%s\"}}\n    routes: {$default: {integration: u}}\n", up))

	type res struct {
		body string
		err  error
	}
	done := make(chan res, 1)
	go func() {
		resp, err := http.Get("http://" + p.addr + "/slow")
		if err != nil {
			done <- res{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- res{body: string(b)}
	}()
	select {
	case <-arrived:
	case r := <-done:
		t.Fatalf("request ended before reaching the upstream: %q %v", r.body, r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the upstream within 10 s")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	close(signalled)
	r := <-done
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request: %q %v", r.body, r.err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if _, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond); err == nil {
		t.Error("still accepting after shutdown")
	}
}

// A flood of distinct API keys and client addresses keeps memory bounded:
// unknown keys keep no state, and per-client buckets are capped per
// throttle (docs/limiter.md).
func TestMillionDistinctKeysAndClientsKeepMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test; runs in make test")
	}
	p := startServe(t, `
server: {trusted_proxies: ["127.0.0.1"]}
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: basic}
usage_plans:
  basic: {apis: [a]}
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes:
      "GET /keyed": {integration: m, api_key: true}
      "GET /client": {integration: m, throttle: {rate: 1, burst: 5, per: client_ip}}
      "GET /ping": {integration: m}
`)
	pid := p.cmd.Process.Pid
	c := &fasthttp.PipelineClient{Addr: p.addr, MaxConns: 4, MaxPendingRequests: 4096}
	warm := fasthttp.AcquireRequest()
	warm.SetRequestURI("http://" + p.addr + "/ping")
	if err := c.Do(warm, fasthttp.AcquireResponse()); err != nil {
		t.Fatal(err)
	}
	before := status(t, pid, "VmRSS")
	const total = 1_000_000
	const workers = 64
	var wg sync.WaitGroup
	var failures atomic.Int64
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			var buf []byte
			for i := w; i < total; i += workers {
				req.Reset()
				buf = buf[:0]
				if i%2 == 0 {
					req.SetRequestURI("http://" + p.addr + "/keyed")
					buf = strconv.AppendUint(append(buf, "random-key-"...), uint64(i)*2654435761, 16)
					req.Header.SetBytesV("X-API-Key", buf)
				} else {
					req.SetRequestURI("http://" + p.addr + "/client")
					buf = fmt.Appendf(buf, "10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i))
					req.Header.SetBytesV("X-Forwarded-For", buf)
				}
				if err := c.Do(req, resp); err != nil || (resp.StatusCode() != 403 && resp.StatusCode() != 200) {
					failures.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	peak := status(t, pid, "VmHWM")
	t.Logf("%d requests in %s; RSS before %d KiB, peak %d KiB, growth %d KiB; failures %d",
		total, time.Since(start).Round(time.Millisecond), before, peak, peak-before, failures.Load())
	if failures.Load() > 0 {
		t.Errorf("%d requests failed", failures.Load())
	}
	// Bound: 100,000 client buckets (2.6 MB) plus connection buffers; the
	// documented ceiling for this config is 32 MiB over the idle process.
	if peak-before > 32<<10 {
		t.Errorf("RSS grew by %d KiB; documented bound 32 MiB", peak-before)
	}
	r := fasthttp.AcquireRequest()
	r.SetRequestURI("http://" + p.addr + "/ping")
	resp := fasthttp.AcquireResponse()
	if err := c.Do(r, resp); err != nil || resp.StatusCode() != 200 {
		t.Fatalf("after the flood: %v %d", err, resp.StatusCode())
	}
}

// Filling the cache with five times cache.max_size of distinct entries
// keeps the process within max_size plus the documented overhead
// (docs/cache.md).
func TestCacheMemoryIsBoundedByMaxSize(t *testing.T) {
	if testing.Short() {
		t.Skip("fill test; runs in make test")
	}
	body := bytes.Repeat([]byte("c"), 4096)
	up := startServer(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	const maxSize = 16 << 20
	p := startServe(t, fmt.Sprintf(`
cache: {max_size: 16MiB}
apis:
  a:
    integrations: {u: {type: http_proxy, url: "http://%s"}}
    routes:
      "GET /item": {integration: u, cache: {ttl: 3600s, key: [query.k]}}
`, up))
	pid := p.cmd.Process.Pid
	c := &fasthttp.PipelineClient{Addr: p.addr, MaxConns: 4, MaxPendingRequests: 1024}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + p.addr + "/item?k=warm")
	if err := c.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	before := status(t, pid, "VmRSS")
	total := 5 * maxSize / len(body)
	var wg sync.WaitGroup
	var failures atomic.Int64
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			for i := w; i < total; i += 16 {
				req.SetRequestURI("http://" + p.addr + "/item?k=" + strconv.Itoa(i))
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 || len(resp.Body()) != len(body) {
					failures.Add(1)
				}
			}
		}(w)
	}
	wg.Wait()
	peak := status(t, pid, "VmHWM")
	growth := peak - before
	t.Logf("%d distinct entries of 4 KiB into a 16 MiB cache: RSS before %d KiB, peak %d KiB, growth %d KiB", total, before, peak, growth)
	if failures.Load() > 0 {
		t.Errorf("%d requests failed", failures.Load())
	}
	// Documented bound (docs/cache.md): twice max_size — the store itself
	// plus the garbage Go's collector lets accumulate at GOGC=100 before it
	// runs — plus 8 MiB of buffers.
	if limit := (2*maxSize + 8<<20) >> 10; growth > limit {
		t.Errorf("RSS grew by %d KiB; bound %d KiB", growth, limit)
	}
}

func TestValidateCountsAPIsInProperEnglish(t *testing.T) {
	api := func(name string) string {
		return "  " + name + `:
    integrations:
      ping: {type: mock, status: 200, body: "pong"}
    routes:
      "GET /ping": {integration: ping}
`
	}
	for _, tc := range []struct {
		apis []string
		want string
	}{
		{[]string{"a"}, "valid (1 API)\n"},
		{[]string{"a", "b"}, "valid (2 APIs)\n"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			src := "apis:\n"
			for i, name := range tc.apis {
				src += api(name)
				if i > 0 {
					src += "    hosts: [" + name + ".example]\n"
				}
			}
			path := writeConfig(t, src)
			var stdout, stderr bytes.Buffer
			if code := validate([]string{"-c", path}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := stdout.String(); got != path+": "+tc.want {
				t.Errorf("stdout = %q, want %q", got, path+": "+tc.want)
			}
		})
	}
}
