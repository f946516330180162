package server

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// replica is an upstream that can be stopped and started again on the
// same address.
type replica struct {
	name    string
	addr    string
	srv     *fasthttp.Server
	ln      net.Listener
	hits    atomic.Int64
	healthy atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

func startReplica(t *testing.T, name, addr string) *replica {
	t.Helper()
	r := &replica{name: name, addr: addr}
	r.healthy.Store(true)
	r.start(t)
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *replica) start(t *testing.T) {
	t.Helper()
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger briefly after a stop
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.ln = ln
	// The stopped server's workers may still report connection states.
	r.mu.Lock()
	r.conns = map[net.Conn]bool{}
	r.mu.Unlock()
	r.srv = &fasthttp.Server{ConnState: func(c net.Conn, st fasthttp.ConnState) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if st == fasthttp.StateClosed || st == fasthttp.StateHijacked {
			delete(r.conns, c)
		} else {
			r.conns[c] = true
		}
	}, Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/healthz" {
			if !r.healthy.Load() {
				ctx.SetStatusCode(503)
			}
			return
		}
		r.hits.Add(1)
		ctx.SetBodyString(r.name)
	}, CloseOnShutdown: true}
	go r.srv.Serve(ln) //nolint:errcheck
}

// stop is a crash: the listener and every connection close at once.
func (r *replica) stop() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
}

// startPair serves replicas A and B as the origins of one integration.
func startPair(t *testing.T) (a, b *replica, base string) {
	t.Helper()
	a, b = startReplica(t, "A", ""), startReplica(t, "B", "")
	base = startGateway(t, fmt.Sprintf(`
apis:
  x:
    integrations:
      up: {type: http_proxy, url: "http://%s", targets: ["http://%s"]}
    routes: {$default: {integration: up}}
`, a.addr, b.addr), "")
	return a, b, base
}

func TestRoundRobinSpreadsRequests(t *testing.T) {
	a, b, base := startPair(t)
	for i := 0; i < 100; i++ {
		if r := do(t, "GET", base+"/", nil); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	if a.hits.Load() < 40 || b.hits.Load() < 40 {
		t.Errorf("uneven round robin: A %d, B %d", a.hits.Load(), b.hits.Load())
	}
}

// A GET that meets a dead origin is sent to the other one. No health
// check runs, so only the request itself can find the origin dead: the
// one that refuses connections is met by whichever of the first two
// requests is started on it (round robin), the one that closes
// connections unanswered by every other request, and its accepts show it.
func TestIdempotentRequestMovesOnFromADeadOrigin(t *testing.T) {
	for _, tc := range []struct {
		name string
		dead func(t *testing.T) (addr string, accepts *atomic.Int64)
	}{
		{"refuses connections", func(t *testing.T) (string, *atomic.Int64) { return closedPort(t), nil }},
		{"closes connections unanswered", closingOrigin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startReplica(t, "A", "")
			dead, accepts := tc.dead(t)
			base := startGateway(t, fmt.Sprintf(`
apis:
  x:
    integrations:
      up: {type: http_proxy, url: "http://%s", targets: ["http://%s"], retries: 1}
    routes: {$default: {integration: up}}
`, a.addr, dead), "")
			for i := 0; i < 10; i++ {
				if r := do(t, "GET", base+"/", nil); r.status != 200 || r.body != "A" {
					t.Fatalf("GET %d: %d %s, want A's answer after the retry", i, r.status, r.body)
				}
			}
			if accepts != nil && accepts.Load() == 0 {
				t.Error("no request reached the dead origin; the retry was not exercised")
			}
		})
	}
}

// closingOrigin accepts connections and closes them before any answer.
func closingOrigin(t *testing.T) (string, *atomic.Int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepts atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), &accepts
}

// Killing one of two replicas under load: after the passive back-off no
// request goes to the dead one, and restarting it brings it back through
// the active health check.
func TestDeadReplicaIsSkippedAndComesBackThroughHealthChecks(t *testing.T) {
	a, b := startReplica(t, "A", ""), startReplica(t, "B", "")
	base := startGateway(t, fmt.Sprintf(`
apis:
  x:
    integrations:
      up:
        type: http_proxy
        url: "http://%s"
        targets: ["http://%s"]
        retries: 1
        health_check: {path: /healthz, interval: 200ms}
    routes: {$default: {integration: up}}
`, a.addr, b.addr), "")
	b.stop()
	// With retries: 1 a GET never fails while B is dead, whether the
	// request, the back-off or the health check finds it dead first
	// (TestIdempotentRequestMovesOnFromADeadOrigin tests the retry alone).
	for i := 0; i < 50; i++ {
		if r := do(t, "GET", base+"/", nil); r.status != 200 || r.body != "A" {
			t.Fatalf("request %d with B dead: %d %s", i, r.status, r.body)
		}
	}
	// A POST is not retried: at most one meets the dead replica before the
	// back-off takes it out of rotation; none after that.
	failed := 0
	for i := 0; i < 20; i++ {
		if r := do(t, "POST", base+"/", nil); r.status != 200 {
			failed++
		}
	}
	if failed > 1 {
		t.Errorf("%d POSTs failed; the dead replica should be skipped after the first failure", failed)
	}
	b.hits.Store(0)
	b.start(t)
	waitFor(t, "the restarted replica brought back by the active check", 10*time.Second, func() bool {
		do(t, "GET", base+"/", nil)
		return b.hits.Load() > 0
	})
	// An origin failing its health check is taken out of rotation: wait
	// for a round of 20 requests none of which reaches A. A round takes
	// less than the check interval only on an idle machine, so the
	// condition is that A stops getting requests, not when.
	a.healthy.Store(false)
	waitFor(t, "the unhealthy replica A taken out of rotation", 10*time.Second, func() bool {
		a.hits.Store(0)
		for i := 0; i < 20; i++ {
			if r := do(t, "GET", base+"/", nil); r.status != 200 || r.body != "B" {
				return false
			}
		}
		return a.hits.Load() == 0
	})
}

func TestAllOriginsDownAnswersAtOnce(t *testing.T) {
	dead1, dead2 := closedPort(t), closedPort(t)
	base := startGateway(t, fmt.Sprintf(`
apis:
  x:
    integrations:
      up: {type: http_proxy, url: "http://%s", targets: ["http://%s"], retries: 1, timeout: 10s}
    routes: {$default: {integration: up}}
`, dead1, dead2), "")
	start := time.Now()
	first := do(t, "GET", base+"/", nil)
	second := do(t, "GET", base+"/", nil)
	if first.status != 502 || second.status != 503 || second.body != `{"message":"Service Unavailable"}` {
		t.Errorf("got %d %s then %d %s", first.status, first.body, second.status, second.body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s with every origin down", d)
	}
}

// With one request held by the slow origin, least_conn sends every later
// request to the idle one; round robin would send every other request to
// the busy origin. Each request is followed until it either completes or
// is held, so the in-flight counts are settled when the next is picked.
func TestLeastConnPrefersTheIdleOrigin(t *testing.T) {
	release := make(chan struct{})
	var slowHits, fastHits atomic.Int64
	slow := startServer(t, func(ctx *fasthttp.RequestCtx) { slowHits.Add(1); <-release })
	fast := startServer(t, func(ctx *fasthttp.RequestCtx) { fastHits.Add(1) })
	base := startGateway(t, fmt.Sprintf(`
apis:
  x:
    integrations:
      up: {type: http_proxy, url: "http://%s", targets: ["http://%s"], balance: least_conn, timeout: 20s}
    routes: {$default: {integration: up}}
`, slow, fast), "")
	const n = 10
	var completed atomic.Int64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	defer func() { unblock(); wg.Wait() }()
	for i := 0; i < n; i++ {
		before := slowHits.Load() + completed.Load()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer completed.Add(1)
			resp, err := http.Get(base + "/")
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
		waitFor(t, "the request to complete or be held by the slow origin", 10*time.Second, func() bool {
			return slowHits.Load()+completed.Load() > before
		})
	}
	if got := slowHits.Load(); got > 1 {
		t.Errorf("least_conn sent %d of %d requests to the busy origin (idle origin got %d), want at most 1", got, n, fastHits.Load())
	}
	unblock()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Under concurrent load, a replica that dies takes out at most the
// requests already on their way to it; once the back-off marks it down, no
// request is sent there (POSTs are not retried, so a failure would show).
// The test counts requests, not time: every failure must come within the
// first 300 requests after the kill, none in the 100 after those.
func TestReplicaKilledUnderLoadIsSkippedAfterTheBackOff(t *testing.T) {
	_, b, base := startPair(t)
	var failures, sent, afterKill atomic.Int64
	var killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &fasthttp.Client{}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod("POST")
			req.SetRequestURI(base + "/")
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				wasKilled := killed.Load()
				if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failures.Add(1)
				}
				if wasKilled {
					afterKill.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	waitFor(t, "both replicas to serve", 10*time.Second, func() bool { return b.hits.Load() > 0 && sent.Load() > 50 })
	b.stop()
	killed.Store(true)
	waitFor(t, "300 requests sent after the kill", 10*time.Second, func() bool { return afterKill.Load() >= 300 })
	settled := failures.Load()
	waitFor(t, "100 more requests", 10*time.Second, func() bool { return afterKill.Load() >= 400 })
	t.Logf("%d requests, %d failed", sent.Load(), failures.Load())
	// At most each worker's request in flight on the dying connections and
	// its first dial to the dead replica; none once the back-off holds.
	if n := failures.Load(); n > 16 || n != settled {
		t.Errorf("%d failures (%d within the first 300 requests after the kill), want at most 16, all of them early", n, settled)
	}
}
