package loadgen

import (
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serve runs h on a loopback port the OS picks until the test ends.
func serve(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// checkCounts asserts the invariants every Result keeps.
func checkCounts(t *testing.T, r *Result) {
	t.Helper()
	if got := r.Responses + r.ErrorCount(); got != r.Sent {
		t.Errorf("responses %d + errors %d = %d, want sent %d", r.Responses, r.ErrorCount(), got, r.Sent)
	}
	if got := r.Status2xx + r.Non2xx; got != r.Responses {
		t.Errorf("2xx %d + non-2xx %d = %d, want responses %d", r.Status2xx, r.Non2xx, got, r.Responses)
	}
	var byStatus int64
	for _, n := range r.Statuses {
		byStatus += n
	}
	if byStatus != r.Non2xx {
		t.Errorf("statuses add up to %d, want non-2xx %d", byStatus, r.Non2xx)
	}
}

func TestRunCountsAddUp(t *testing.T) {
	var n atomic.Int64
	body := strings.Repeat("x", 100)
	addr := serve(t, func(ctx *fasthttp.RequestCtx) {
		if n.Add(1)%10 == 0 {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			return
		}
		ctx.SetBodyString(body)
	})
	var measured, stopped atomic.Bool
	r, err := Run(Config{
		Addr: addr, Path: "/small", Conns: 4,
		Warmup: 200 * time.Millisecond, Duration: time.Second,
		OnMeasure: func() { measured.Store(true) },
		OnStop:    func() { stopped.Store(true) },
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r)
	if r.Responses < 100 {
		t.Fatalf("only %d responses in 1s", r.Responses)
	}
	if r.ErrorCount() != 0 {
		t.Errorf("errors %v, want none", r.Errors)
	}
	// Every tenth request answers 503; the window cuts the sequence
	// anywhere, so allow a little slack around 10%.
	share := float64(r.Non2xx) / float64(r.Responses)
	if share < 0.08 || share > 0.12 {
		t.Errorf("non-2xx share %.3f, want about 0.10", share)
	}
	if r.Statuses[503] != r.Non2xx {
		t.Errorf("statuses %v, want all non-2xx as 503", r.Statuses)
	}
	if want := r.Status2xx * 100; r.BodyBytes != want {
		t.Errorf("body bytes %d, want %d", r.BodyBytes, want)
	}
	if r.Seconds != 1 || r.RPS != float64(r.Responses) {
		t.Errorf("window %.3fs rps %.1f, want 1s and rps = responses", r.Seconds, r.RPS)
	}
	if r.P50Us <= 0 || r.P50Us > r.P99Us || r.P99Us > r.P999Us || r.P999Us > r.MaxUs {
		t.Errorf("percentiles out of order: p50 %d p99 %d p99.9 %d max %d", r.P50Us, r.P99Us, r.P999Us, r.MaxUs)
	}
	if !measured.Load() || !stopped.Load() {
		t.Errorf("window callbacks: measure %v stop %v, want both called", measured.Load(), stopped.Load())
	}
}

func TestServerClosingConnectionsIsAReconnectNotAnError(t *testing.T) {
	addr := serve(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetConnectionClose()
		ctx.SetBodyString("ok")
	})
	r, err := Run(Config{Addr: addr, Conns: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r)
	if r.Responses == 0 || r.Reconnect < r.Responses-2 {
		t.Errorf("responses %d reconnects %d, want a reconnect after each response", r.Responses, r.Reconnect)
	}
	if r.ErrorCount() != 0 {
		t.Errorf("errors %v, want none", r.Errors)
	}
}

func TestUnreachableServerCountsConnectErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r, err := Run(Config{Addr: addr, Conns: 2, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r)
	if r.Responses != 0 || r.Errors["connect"] == 0 {
		t.Errorf("responses %d errors %v, want only connect errors", r.Responses, r.Errors)
	}
}

func TestSlowServerCountsTimeouts(t *testing.T) {
	addr := serve(t, func(ctx *fasthttp.RequestCtx) {
		time.Sleep(150 * time.Millisecond)
	})
	r, err := Run(Config{Addr: addr, Conns: 2, Duration: 400 * time.Millisecond, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r)
	if r.Errors["timeout"] == 0 || r.Responses != 0 {
		t.Errorf("responses %d errors %v, want only timeouts", r.Responses, r.Errors)
	}
}

func TestConfigIsChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no address", Config{Conns: 1, Duration: time.Second}, "no address"},
		{"no connections", Config{Addr: "127.0.0.1:1", Duration: time.Second}, "conns"},
		{"no duration", Config{Addr: "127.0.0.1:1", Conns: 1}, "duration"},
		{"negative warm-up", Config{Addr: "127.0.0.1:1", Conns: 1, Duration: time.Second, Warmup: -time.Second}, "warm-up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestRenderRequestCarriesHeadersAndBody(t *testing.T) {
	raw, err := RenderRequest(&Config{
		Addr: "127.0.0.1:9", Method: "POST", Path: "/hello?x=1",
		Headers: []Header{{"X-Api-Key", "k"}}, Body: []byte("{}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{"POST /hello?x=1 HTTP/1.1\r\n", "Host: 127.0.0.1:9\r\n", "X-Api-Key: k\r\n", "Content-Length: 2\r\n", "\r\n\r\n{}"} {
		if !strings.Contains(s, want) {
			t.Errorf("request %q lacks %q", s, want)
		}
	}
}

// newBenchWorker returns a connected worker against a small in-process
// server, for the allocation checks.
func newBenchWorker(tb testing.TB) *Worker {
	body := []byte(`{"id":42,"name":"frontdesk"}`)
	addr := serve(tb, func(ctx *fasthttp.RequestCtx) { ctx.SetBody(body) })
	raw, err := RenderRequest(&Config{Addr: addr, Path: "/small"})
	if err != nil {
		tb.Fatal(err)
	}
	w := NewWorker(addr, raw, 5*time.Second)
	if _, err := w.dial(time.Now().Add(time.Minute)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.close)
	return w
}

func TestRoundTripDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	w := newBenchWorker(t)
	deadline := time.Now().Add(time.Minute)
	allocs := testing.AllocsPerRun(200, func() {
		lat, _, ok := w.roundTrip(time.Now(), deadline)
		if !ok {
			t.Fatal("round trip failed")
		}
		w.record(lat)
	})
	// The in-process server shares the process, so its allocations would
	// count too; fasthttp's server does not allocate in steady state.
	if allocs != 0 {
		t.Errorf("%.1f allocations per request, want 0", allocs)
	}
}

// BenchmarkRoundTrip is one request and response of the generator loop
// against an in-process server on loopback.
func BenchmarkRoundTrip(b *testing.B) {
	w := newBenchWorker(b)
	deadline := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		lat, _, ok := w.roundTrip(time.Now(), deadline)
		if !ok {
			b.Fatal("round trip failed")
		}
		w.record(lat)
	}
}
