package bench

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/bench/loadgen"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/server"
	"github.com/valyala/fasthttp"
)

// startFloor serves the suite's upstream and the WebSocket floor in front
// of it on 127.0.0.1 ports the OS picks, and returns the floor's address.
func startFloor(t *testing.T) string {
	t.Helper()
	upLn, err := ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	up := NewUpstream()
	go up.Serve(upLn) //nolint:errcheck // ends with Shutdown
	floorLn, err := ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	floor := NewWSFloor(upLn.Addr().String()).Server()
	go floor.Serve(floorLn) //nolint:errcheck // ends with the listener
	t.Cleanup(func() {
		floorLn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = up.ShutdownWithContext(ctx)
	})
	return floorLn.Addr().String()
}

func TestWebSocketScenariosPairFrontdeskWithItsFloor(t *testing.T) {
	all := Scenarios()
	sel, err := SelectScenarios(all, "frontdesk-ws-echo,floor-ws-echo,frontdesk-ws-broadcast,floor-ws-broadcast")
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 4 {
		t.Fatalf("selected %d scenarios, want 4", len(sel))
	}
	for _, s := range sel {
		if !s.isWebSocket() || s.Unavailable != "" || s.Path != WSStage {
			t.Errorf("%s: generator %s, path %s, unavailable %q; want a WebSocket scenario on %s", s.Name, s.generator(), s.Path, s.Unavailable, WSStage)
		}
		floor := strings.Replace(s.Name, "frontdesk-", "floor-", 1)
		switch s.Proxy {
		case Frontdesk:
			if s.Reference != floor {
				t.Errorf("%s: reference %q, want %s", s.Name, s.Reference, floor)
			}
		case WSFloor:
		default:
			t.Errorf("%s: proxy %s", s.Name, s.Proxy)
		}
	}
	// Each pair shares a group, so the rounds interleave its members.
	groups := map[string]int{}
	for _, s := range sel {
		groups[s.Group]++
	}
	if len(groups) != 2 || groups["ws-echo"] != 2 || groups["ws-broadcast"] != 2 {
		t.Errorf("groups %v, want ws-echo and ws-broadcast with two scenarios each", groups)
	}
	var lines int
	for _, b := range Budgets() {
		if strings.HasPrefix(b.Scenario, "frontdesk-ws-") {
			lines++
			if b.Reference != strings.Replace(b.Scenario, "frontdesk-", "floor-", 1) || b.Max != 1.5 {
				t.Errorf("budget %q: %s vs %s ≤ %.2f×, want its floor at 1.5×", b.Name, b.Scenario, b.Reference, b.Max)
			}
		}
	}
	if lines != 2 {
		t.Errorf("%d WebSocket budget lines, want 2", lines)
	}
}

func TestWSLoadEchoesThroughTheFloorAndItsBackend(t *testing.T) {
	addr := startFloor(t)
	if err := wsExchange("ws://"+addr+WSStage, loadgen.EchoMessage, SmallBody); err != nil {
		t.Fatalf("probe: %v", err)
	}
	var measured, stopped bool
	res, err := loadgen.RunWS(loadgen.WSConfig{Addr: addr, Path: WSStage, Mode: loadgen.ModeEcho, Conns: 4,
		Duration: 300 * time.Millisecond, Timeout: 5 * time.Second, MaxMessages: 20000,
		OnMeasure: func() { measured = true }, OnStop: func() { stopped = true }})
	if err != nil {
		t.Fatal(err)
	}
	if !measured || !stopped {
		t.Errorf("window callbacks: measure %v, stop %v", measured, stopped)
	}
	if res.Responses == 0 || res.Status2xx != res.Responses || res.Non2xx != 0 || res.ErrorCount() != 0 {
		t.Fatalf("echo: %+v; want replies and no errors", res)
	}
	if res.Sent < res.Responses || res.P50Us <= 0 || res.P99Us < res.P50Us {
		t.Errorf("echo: sent %d, replies %d, p50 %dµs, p99 %dµs", res.Sent, res.Responses, res.P50Us, res.P99Us)
	}
}

func TestWSLoadBroadcastDeliversEveryPostToItsConnection(t *testing.T) {
	addr := startFloor(t)
	// 200 POSTs, far fewer than the window has room for: every one of
	// them and its delivery fall inside it.
	res, err := loadgen.RunWS(loadgen.WSConfig{Addr: addr, Path: WSStage, Mode: loadgen.ModeBroadcast, Conns: 20, Posters: 2,
		Duration: time.Second, Timeout: 5 * time.Second, MaxMessages: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != 20 || res.Sent != 200 || res.Responses != 200 || res.Non2xx != 0 || res.ErrorCount() != 0 || res.P99Us <= 0 {
		t.Fatalf("broadcast: %+v; want 200 POSTs, 200 deliveries with latencies and no failures", res)
	}
}

func TestWSLoadStopsAtMaxMessages(t *testing.T) {
	addr := startFloor(t)
	res, err := loadgen.RunWS(loadgen.WSConfig{Addr: addr, Path: WSStage, Mode: loadgen.ModeEcho, Conns: 2,
		Duration: time.Second, Timeout: 5 * time.Second, MaxMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || res.Responses != 10 {
		t.Errorf("sent %d, replies %d; want 10 of each", res.Sent, res.Responses)
	}
}

func TestWSLoadRefusesUnboundedConfigs(t *testing.T) {
	for name, c := range map[string]loadgen.WSConfig{
		"too many conns":   {Addr: "127.0.0.1:9", Mode: loadgen.ModeEcho, Conns: loadgen.MaxWSConns + 1, Duration: time.Second},
		"no posters":       {Addr: "127.0.0.1:9", Mode: loadgen.ModeBroadcast, Conns: 1, Duration: time.Second},
		"unknown mode":     {Addr: "127.0.0.1:9", Mode: "chat", Conns: 1, Duration: time.Second},
		"no time bound":    {Addr: "127.0.0.1:9", Mode: loadgen.ModeEcho, Conns: 1},
		"too many posters": {Addr: "127.0.0.1:9", Mode: loadgen.ModeBroadcast, Conns: 1, Posters: loadgen.MaxPosters + 1, Duration: time.Second},
	} {
		if _, err := loadgen.RunWS(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWSFloorAnswersGoneForAnUnknownConnection(t *testing.T) {
	addr := startFloor(t)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + addr + WSStage + "/@connections/nobody")
	req.SetBodyString("hi")
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != fasthttp.StatusGone {
		t.Errorf("status %d, want 410", resp.StatusCode())
	}
}

// startFrontdeskScenario serves the named scenario's config with the real server
// on 127.0.0.1:0, in front of the suite's upstream, and returns its address.
func startFrontdeskScenario(t *testing.T, name string) string {
	t.Helper()
	upLn, err := ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	up := NewUpstream()
	go up.Serve(upLn) //nolint:errcheck // ends with Shutdown
	sel, err := SelectScenarios(Scenarios(), name)
	if err != nil {
		t.Fatal(err)
	}
	src, err := FrontdeskConfig(sel[0], ConfigData{Upstream: upLn.Addr().String(), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Parse(name+".yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config: %v\n%s", err, src)
	}
	srv, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	srv.UseListener(ln)
	go srv.Serve() //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = up.ShutdownWithContext(ctx)
	})
	return ln.Addr().String()
}

func TestWSLoadRunsTheFrontdeskScenarios(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		cfg      loadgen.WSConfig
	}{
		{"frontdesk-ws-echo", loadgen.WSConfig{Mode: loadgen.ModeEcho, Conns: 4}},
		{"frontdesk-ws-broadcast", loadgen.WSConfig{Mode: loadgen.ModeBroadcast, Conns: 20, Posters: 2}},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			addr := startFrontdeskScenario(t, tc.scenario)
			sc := Scenario{Generator: WSEcho, Path: WSStage}
			if tc.cfg.Mode == loadgen.ModeBroadcast {
				sc.Generator = WSBroadcast
			}
			// The probe the suite runs first: the echo must carry the
			// upstream's answer, the whoami an id.
			if err := probeWS(context.Background(), addr, sc, nil); err != nil {
				t.Fatal(err)
			}
			c := tc.cfg
			c.Addr, c.Path, c.Duration, c.Timeout, c.MaxMessages = addr, WSStage, 300*time.Millisecond, 5*time.Second, 20000
			res, err := loadgen.RunWS(c)
			if err != nil {
				t.Fatal(err)
			}
			if res.Responses == 0 || res.Non2xx != 0 || res.ErrorCount() != 0 || res.P99Us <= 0 {
				t.Fatalf("%+v; want messages with latencies and no failures", res)
			}
		})
	}
}
