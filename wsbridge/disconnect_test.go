package wsbridge

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// disconnectCounter is a fasthttp backend on 127.0.0.1 that counts the
// DISCONNECT events it takes, by connection id. Each call is held for
// delay, as a real backend's work would, so that a burst of calls
// overlaps.
type disconnectCounter struct {
	url   string
	delay time.Duration
	// refuse answers with status while it is above zero, counting down;
	// status is set before refuse.
	refuse atomic.Int64
	status int
	// gate, when set, holds every call until release.
	gate    chan struct{}
	release func()
	// active and maxActive count calls in progress.
	active, maxActive atomic.Int64

	mu    sync.Mutex
	ids   map[string]int
	calls int
}

// startDisconnectCounter starts the backend; with hold, calls wait until
// release (which the test's cleanup calls too, before the server's
// shutdown waits for them).
func startDisconnectCounter(t *testing.T, delay time.Duration, hold bool) *disconnectCounter {
	t.Helper()
	d := &disconnectCounter{delay: delay, ids: map[string]int{}, release: func() {}}
	if hold {
		d.gate = make(chan struct{})
		var once sync.Once
		d.release = func() { once.Do(func() { close(d.gate) }) }
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: d.handle}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		d.release()
		_ = srv.Shutdown()
	})
	d.url = "http://" + ln.Addr().String() + "/events"
	return d
}

func (d *disconnectCounter) handle(ctx *fasthttp.RequestCtx) {
	var ev struct {
		RequestContext struct {
			EventType    string `json:"eventType"`
			ConnectionID string `json:"connectionId"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &ev); err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		return
	}
	n := d.active.Add(1)
	defer d.active.Add(-1)
	for m := d.maxActive.Load(); n > m && !d.maxActive.CompareAndSwap(m, n); m = d.maxActive.Load() {
	}
	d.mu.Lock()
	d.calls++
	d.mu.Unlock()
	if d.delay > 0 {
		time.Sleep(d.delay)
	}
	if d.gate != nil {
		<-d.gate
	}
	if d.refuse.Add(-1) >= 0 {
		ctx.SetStatusCode(d.status)
		return
	}
	if ev.RequestContext.EventType == "DISCONNECT" {
		d.mu.Lock()
		d.ids[ev.RequestContext.ConnectionID]++
		d.mu.Unlock()
	}
}

func (d *disconnectCounter) callCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

// delivered returns how many distinct connections got their DISCONNECT
// and how many DISCONNECTs arrived in all.
func (d *disconnectCounter) delivered() (distinct, total int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range d.ids {
		total += n
	}
	return len(d.ids), total
}

// dialMany opens n client connections to stage with small buffers and
// returns them; it fails the test on the first refused dial.
func dialMany(t *testing.T, g *gateway, n int) []*websocket.Conn {
	t.Helper()
	clients := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	const dialers = 16
	for w := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := websocket.Dialer{ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: 20 * time.Second}
			for i := w; i < n; i += dialers {
				c, _, err := d.DialContext(context.Background(), g.wsURL("/prod"), nil)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				clients[i] = c
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				_ = c.NetConn().Close()
			}
		}
	})
	if err := firstErr.Load(); err != nil {
		t.Fatalf("dial: %v", err)
	}
	return clients
}

// TestDisconnectBurstDeliversEveryEvent closes thousands of clients at
// once: every one of them must reach the $disconnect backend, although
// there are more of them than connections in the backend pool.
func TestDisconnectBurstDeliversEveryEvent(t *testing.T) {
	const n = 5000
	raiseNoFile(t, uint64(2*n+4096))
	be := startDisconnectCounter(t, 10*time.Millisecond, false)
	g := startGateway(t, Options{Routes: map[string]RouteTarget{
		RouteDisconnect: {Backend: NewHTTPBackend(be.url, 10*time.Second)},
	}})

	start := time.Now()
	clients := dialMany(t, g, n)
	waitFor(t, 30*time.Second, "every connection registered", func() bool { return g.bridge.Stats().OpenConnections == int64(n) })
	t.Logf("%d connections open after %v", n, time.Since(start).Round(time.Millisecond))

	closed := time.Now()
	for _, c := range clients {
		_ = c.NetConn().Close()
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if distinct, _ := be.delivered(); distinct == n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	distinct, total := be.delivered()
	t.Logf("%d of %d DISCONNECT events delivered (%d calls) %v after the clients closed", distinct, n, total, time.Since(closed).Round(time.Millisecond))
	if distinct != n {
		t.Fatalf("%d of %d DISCONNECT events reached the backend; stats %+v", distinct, n, g.bridge.Stats())
	}
	if s := g.bridge.Stats(); total != n || s.DisconnectsDropped != 0 || s.Disconnects != n {
		t.Fatalf("%d DISCONNECT calls for %d connections; stats %+v", total, n, s)
	}
}

func TestHTTPBackendWaitsForAFreeConnection(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend func(url string) *HTTPBackend
		pool    int
		calls   int
	}{
		// More at once than fasthttp's own default of 512.
		{"default pool", func(url string) *HTTPBackend { return NewHTTPBackend(url, 20*time.Second) }, DefaultBackendMaxConns, 1100},
		{"pool of 2", func(url string) *HTTPBackend { return NewHTTPClient(2).Backend(url, 20*time.Second) }, 2, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raiseNoFile(t, uint64(3*tc.calls+1024))
			be := startDisconnectCounter(t, 0, true)
			backend := tc.backend(be.url)
			errs := make(chan error, tc.calls)
			for range tc.calls {
				go func() {
					_, err := backend.Call(context.Background(), []byte(`{}`), "x")
					errs <- err
				}()
			}
			// Hold the calls until the pool is full, so that the rest
			// find no free connection.
			waitFor(t, 20*time.Second, "a full pool", func() bool { return be.active.Load() == int64(min(tc.pool, tc.calls)) })
			be.release()
			for range tc.calls {
				if err := <-errs; err != nil {
					t.Fatalf("call failed: %v", err)
				}
			}
			if m := be.maxActive.Load(); m > int64(tc.pool) {
				t.Fatalf("%d calls at once, pool is %d", m, tc.pool)
			}
		})
	}
}

func TestHTTPBackendWaitEndsAtTheTimeout(t *testing.T) {
	be := startDisconnectCounter(t, 0, true)
	backend := NewHTTPClient(1).Backend(be.url, 300*time.Millisecond)
	first := make(chan error, 1)
	go func() {
		_, err := backend.Call(context.Background(), []byte(`{}`), "x")
		first <- err
	}()
	waitFor(t, 5*time.Second, "the only connection busy", func() bool { return be.active.Load() == 1 })
	_, err := backend.Call(context.Background(), []byte(`{}`), "y")
	if !errors.Is(err, fasthttp.ErrTimeout) {
		t.Fatalf("second call: %v, want a timeout", err)
	}
	if err := <-first; !errors.Is(err, fasthttp.ErrTimeout) {
		t.Fatalf("first call: %v, want a timeout", err)
	}
}

// closedURL returns the URL of a port that refuses connections.
func closedURL(t *testing.T) string {
	t.Helper()
	return "http://" + testdeps.RefusingAddr(t) + "/events"
}

func TestDisconnectRetriedUntilBackendTakesIt(t *testing.T) {
	for _, tc := range []struct {
		name          string
		status        int
		refuse        int64
		unreachable   bool
		wantCalls     int // calls that reached the backend
		wantDelivered int
		wantDropped   uint64
	}{
		{"503 twice, then taken", 503, 2, false, 3, 1, 0},
		{"429 twice, then taken", 429, 2, false, 3, 1, 0},
		{"502 once, then taken", 502, 1, false, 2, 1, 0},
		{"504 once, then taken", 504, 1, false, 2, 1, 0},
		{"500 is the backend's answer: not retried", 500, 1, false, 1, 0, 0},
		{"503 every time: given up", 503, 100, false, disconnectAttempts, 0, 1},
		{"unreachable: given up", 0, 0, true, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := startDisconnectCounter(t, 0, false)
			be.status = tc.status
			be.refuse.Store(tc.refuse)
			url := be.url
			if tc.unreachable {
				url = closedURL(t)
			}
			g := startGatewayWith(t, Options{Routes: map[string]RouteTarget{
				RouteDisconnect: {Backend: NewHTTPBackend(url, 2*time.Second)},
			}}, func(s *settings) { s.disconnectBackoff = time.Millisecond })
			c, _ := dialRegistered(t, g, "/prod", nil)
			_ = c.NetConn().Close()
			waitFor(t, 5*time.Second, "the connection's end", func() bool { return g.bridge.Stats().Disconnects == 1 })
			// Close returns once the event is delivered or given up.
			if err := g.bridge.Close(); err != nil {
				t.Fatal(err)
			}
			delivered, _ := be.delivered()
			st := g.bridge.Stats()
			if be.callCount() != tc.wantCalls || delivered != tc.wantDelivered || st.DisconnectsDropped != tc.wantDropped {
				t.Fatalf("calls %d delivered %d dropped %d, want %d %d %d; stats %+v",
					be.callCount(), delivered, st.DisconnectsDropped, tc.wantCalls, tc.wantDelivered, tc.wantDropped, st)
			}
			if tc.unreachable && st.BackendErrors != disconnectAttempts {
				t.Fatalf("%d failed calls, want %d", st.BackendErrors, disconnectAttempts)
			}
		})
	}
}

func TestDisconnectQueueFullDropsAndCounts(t *testing.T) {
	be := startDisconnectCounter(t, 0, true)
	g := startGatewayWith(t, Options{
		DisconnectQueue: 1,
		Routes:          map[string]RouteTarget{RouteDisconnect: {Backend: NewHTTPBackend(be.url, 10*time.Second)}},
	}, func(s *settings) { s.disconnectWorkers = 1 })
	var clients []*websocket.Conn
	for range 3 {
		c, _ := dialRegistered(t, g, "/prod", nil)
		clients = append(clients, c)
	}
	_ = clients[0].NetConn().Close()
	waitFor(t, 5*time.Second, "the first event at the backend", func() bool { return be.active.Load() == 1 })
	// The only worker is busy: one more event fits the queue, the next
	// does not.
	_ = clients[1].NetConn().Close()
	_ = clients[2].NetConn().Close()
	waitFor(t, 5*time.Second, "a dropped event", func() bool { return g.bridge.Stats().DisconnectsDropped == 1 })
	be.release()
	if err := g.bridge.Close(); err != nil {
		t.Fatal(err)
	}
	if delivered, total := be.delivered(); delivered != 2 || total != 2 {
		t.Fatalf("%d events delivered (%d calls), want 2", delivered, total)
	}
	if st := g.bridge.Stats(); st.DisconnectsDropped != 1 || st.Disconnects != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseStopsRetryingAfterTheDrainTime(t *testing.T) {
	be := startDisconnectCounter(t, 0, false)
	be.status = 503
	be.refuse.Store(1 << 30)
	g := startGatewayWith(t, Options{Routes: map[string]RouteTarget{
		RouteDisconnect: {Backend: NewHTTPBackend(be.url, 2*time.Second)},
	}}, func(s *settings) { s.disconnectDrain = 300 * time.Millisecond })
	c, _ := dialRegistered(t, g, "/prod", nil)
	go func() {
		// Answer the close frame, as a browser does.
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		_ = g.bridge.Close()
		close(done)
	}()
	// Without the drain limit the retries would take about 11 s.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still waiting for a backend that refuses every $disconnect")
	}
	if st := g.bridge.Stats(); st.DisconnectsDropped != 1 || be.callCount() == 0 || be.callCount() >= disconnectAttempts {
		t.Fatalf("calls %d, stats %+v", be.callCount(), st)
	}
}
