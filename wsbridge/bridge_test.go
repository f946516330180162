package wsbridge

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

type event = events.APIGatewayWebsocketProxyRequest

// dialRegistered dials and waits until the bridge has registered the
// connection, returning the client and its connection id.
func dialRegistered(t *testing.T, g *gateway, path string, hdr http.Header) (*websocket.Conn, string) {
	t.Helper()
	before := map[string]bool{}
	for _, id := range connectionIDs(g.bridge) {
		before[id] = true
	}
	c := dial(t, g.wsURL(path), hdr)
	var id string
	waitFor(t, 2*time.Second, "registration", func() bool {
		for _, cand := range connectionIDs(g.bridge) {
			if !before[cand] {
				id = cand
				return true
			}
		}
		return false
	})
	return c, id
}

func TestConnectSendsConnectEventAndAccepts(t *testing.T) {
	rec := newRecorder(t, nil)
	g := startGateway(t, Options{Routes: map[string]RouteTarget{RouteConnect: {Backend: rec.backend()}}})
	hdr := http.Header{"User-Agent": {"wsbridge-test"}, "X-Custom": {"a"}}
	_, id := dialRegistered(t, g, "/prod?room=blue&room=red&x=1", hdr)

	evs := rec.wait(t, 2*time.Second, func(e []event) bool { return len(e) == 1 })
	ev := evs[0]
	rc := ev.RequestContext
	if rc.EventType != "CONNECT" || rc.RouteKey != "$connect" || rc.ConnectionID != id || rc.Stage != "prod" || rc.APIID != "testapi" {
		t.Fatalf("request context = %+v", rc)
	}
	if rc.Identity.SourceIP != "127.0.0.1" || rc.Identity.UserAgent != "wsbridge-test" || rc.MessageDirection != "IN" {
		t.Fatalf("identity = %+v direction %q", rc.Identity, rc.MessageDirection)
	}
	if rc.ConnectedAt == 0 || rc.RequestTimeEpoch < rc.ConnectedAt || rc.RequestID == "" || rc.RequestID != rc.ExtendedRequestID {
		t.Fatalf("times/ids = %+v", rc)
	}
	if ev.Headers["X-Custom"] != "a" || ev.Headers["Sec-WebSocket-Key"] == "" || ev.Headers["Host"] != g.addr {
		t.Fatalf("headers = %v", ev.Headers)
	}
	if ev.QueryStringParameters["x"] != "1" || ev.QueryStringParameters["room"] != "red" ||
		strings.Join(ev.MultiValueQueryStringParameters["room"], ",") != "blue,red" {
		t.Fatalf("query = %v / %v", ev.QueryStringParameters, ev.MultiValueQueryStringParameters)
	}
	if got := rec.headers[0].Get("X-Connection-Id"); got != id {
		t.Fatalf("X-Connection-Id = %q, want %q", got, id)
	}
	if len(id) != 16 || strings.ContainsAny(id, "+/=") {
		t.Fatalf("connection id %q is not 16 URL-safe characters", id)
	}
}

func TestConnectRejectedWithBackendStatus(t *testing.T) {
	for _, status := range []int{400, 401, 403, 429} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			rec := newRecorder(t, func(event) (int, http.Header, string) { return status, nil, `{"message":"no"}` })
			g := startGateway(t, Options{Routes: map[string]RouteTarget{
				RouteConnect:    {Backend: rec.backend()},
				RouteDisconnect: {Backend: rec.backend()},
			}})
			_, resp, err := websocket.DefaultDialer.Dial(g.wsURL("/prod"), nil)
			if err == nil {
				t.Fatal("upgrade succeeded, want rejection")
			}
			if resp == nil || resp.StatusCode != status {
				t.Fatalf("response %+v, want status %d", resp, status)
			}
			time.Sleep(50 * time.Millisecond)
			if n := len(rec.snapshot()); n != 1 {
				t.Fatalf("backend saw %d events, want only $connect ($disconnect is for accepted connections)", n)
			}
			if s := g.bridge.Stats(); s.ConnectsRejected != 1 || s.Connects != 0 {
				t.Fatalf("stats = %+v", s)
			}
		})
	}
}

func TestConnectLambdaStyleReplyDecides(t *testing.T) {
	rec := newRecorder(t, func(event) (int, http.Header, string) {
		return 200, nil, `{"statusCode":403,"body":"denied"}`
	})
	g := startGateway(t, Options{Routes: map[string]RouteTarget{RouteConnect: {Backend: rec.backend()}}})
	_, resp, err := websocket.DefaultDialer.Dial(g.wsURL("/prod"), nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("dial err=%v resp=%+v, want 403", err, resp)
	}
}

func TestConnectBackendFailureRefusesWith500(t *testing.T) {
	g := startGateway(t, Options{Routes: map[string]RouteTarget{
		RouteConnect: {Backend: NewHTTPBackend("http://127.0.0.1:1/unreachable", time.Second)},
	}})
	_, resp, err := websocket.DefaultDialer.Dial(g.wsURL("/prod"), nil)
	if err == nil || resp == nil || resp.StatusCode != 500 {
		t.Fatalf("dial err=%v resp=%+v, want 500", err, resp)
	}
}

func TestConnectReplySubprotocolGoesOnHandshake(t *testing.T) {
	rec := newRecorder(t, func(ev event) (int, http.Header, string) {
		// Pick the second protocol the client offered, as a handler would.
		offered := strings.Split(ev.Headers["Sec-WebSocket-Protocol"], ",")
		return 200, http.Header{"Sec-WebSocket-Protocol": {strings.TrimSpace(offered[len(offered)-1])}}, ""
	})
	g := startGateway(t, Options{Routes: map[string]RouteTarget{RouteConnect: {Backend: rec.backend()}}})
	d := websocket.Dialer{Subprotocols: []string{"chat.v1", "chat.v2"}}
	c, _, err := d.Dial(g.wsURL("/prod"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Subprotocol() != "chat.v2" {
		t.Fatalf("subprotocol %q, want chat.v2", c.Subprotocol())
	}
}

func TestUpgradeRefusals(t *testing.T) {
	g := startGateway(t, Options{})
	for _, tc := range []struct {
		name, path string
		ws         bool
		want       int
	}{
		{"unknown stage", "/dev", true, 403},
		{"plain GET", "/prod", false, 426},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.ws {
				_, resp, err := websocket.DefaultDialer.Dial(g.wsURL(tc.path), nil)
				if err == nil || resp == nil || resp.StatusCode != tc.want {
					t.Fatalf("err=%v resp=%+v, want %d", err, resp, tc.want)
				}
				return
			}
			if status, _, _ := httpDo(t, "GET", "http://"+g.addr+tc.path, ""); status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
		})
	}
}

func TestMessageRouteSelection(t *testing.T) {
	for _, tc := range []struct {
		name, msg, wantRoute string
	}{
		{"custom route", `{"action":"sendmessage","data":"hi"}`, "sendmessage"},
		{"unknown action goes to $default", `{"action":"nope"}`, "$default"},
		{"non-JSON goes to $default", `hello there`, "$default"},
		{"missing field goes to $default", `{"data":"x"}`, "$default"},
		{"reserved key is not routable", `{"action":"$connect"}`, "$default"},
		{"escaped key still matches", `{"act\u0069on":"send\u006dessage"}`, "sendmessage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			g := startGateway(t, Options{Routes: map[string]RouteTarget{
				"sendmessage":  {Backend: rec.backend()},
				RouteDefault:   {Backend: rec.backend()},
				RouteConnect:   {Backend: rec.backend()},
				"othermessage": {Backend: rec.backend()},
			}})
			c, id := dialRegistered(t, g, "/prod", nil)
			if err := c.WriteMessage(websocket.TextMessage, []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			evs := rec.wait(t, 2*time.Second, func(e []event) bool { return len(e) == 2 })
			ev := evs[1]
			rc := ev.RequestContext
			if rc.RouteKey != tc.wantRoute || rc.EventType != "MESSAGE" || ev.Body != tc.msg || rc.ConnectionID != id {
				t.Fatalf("event route=%q type=%q body=%q conn=%q", rc.RouteKey, rc.EventType, ev.Body, rc.ConnectionID)
			}
			if rc.MessageID == nil || rc.MessageID == "" {
				t.Fatal("MESSAGE event without messageId")
			}
		})
	}
}

func TestTemplateRouteSelection(t *testing.T) {
	rec := newRecorder(t, nil)
	g := startGateway(t, Options{
		RouteSelection: "${request.body.service}/${request.body.action}",
		Routes: map[string]RouteTarget{
			"chat/join":  {Backend: rec.backend()},
			RouteDefault: {Backend: rec.backend()},
		},
	})
	c, _ := dialRegistered(t, g, "/prod", nil)
	for _, m := range []string{`{"service":"chat","action":"join"}`, `{"service":"chat"}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	evs := rec.wait(t, 2*time.Second, func(e []event) bool { return len(e) == 2 })
	if evs[0].RequestContext.RouteKey != "chat/join" || evs[1].RequestContext.RouteKey != "$default" {
		t.Fatalf("routes %v", summarize(evs))
	}
}

func TestUnroutableMessageGetsForbiddenFrame(t *testing.T) {
	rec := newRecorder(t, nil)
	g := startGateway(t, Options{Routes: map[string]RouteTarget{"sendmessage": {Backend: rec.backend()}}})
	c, id := dialRegistered(t, g, "/prod", nil)
	_ = c.WriteMessage(websocket.TextMessage, []byte(`{"action":"other"}`))
	var frame struct{ Message, ConnectionID, RequestID string }
	if err := json.Unmarshal([]byte(readText(t, c, 2*time.Second)), &frame); err != nil {
		t.Fatal(err)
	}
	if frame.Message != "Forbidden" || frame.ConnectionID != id || frame.RequestID == "" {
		t.Fatalf("frame = %+v", frame)
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("backend called %d times", n)
	}
}

func TestBackendFailureGetsInternalServerErrorFrame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		backend func(t *testing.T) Backend
	}{
		{"unreachable", func(*testing.T) Backend { return NewHTTPBackend("http://127.0.0.1:1/x", time.Second) }},
		{"5xx", func(t *testing.T) Backend {
			return newRecorder(t, func(event) (int, http.Header, string) { return 502, nil, "bad" }).backend()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := startGateway(t, Options{Routes: map[string]RouteTarget{RouteDefault: {Backend: tc.backend(t), Reply: true}}})
			c, id := dialRegistered(t, g, "/prod", nil)
			_ = c.WriteMessage(websocket.TextMessage, []byte(`x`))
			var frame struct{ Message, ConnectionID, RequestID string }
			if err := json.Unmarshal([]byte(readText(t, c, 3*time.Second)), &frame); err != nil {
				t.Fatal(err)
			}
			if frame.Message != "Internal server error" || frame.ConnectionID != id || frame.RequestID == "" {
				t.Fatalf("frame = %+v", frame)
			}
			if s := g.bridge.Stats(); s.BackendCalls != 1 || (tc.name == "unreachable" && s.BackendErrors != 1) {
				t.Fatalf("stats = %+v", s)
			}
		})
	}
}

func TestReplyRouteSendsBackendBody(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"plain body", `{"echo":true}`, `{"echo":true}`},
		{"lambda-style body", `{"statusCode":200,"body":"from lambda"}`, "from lambda"},
		{"lambda-style base64", `{"statusCode":200,"body":"aGk=","isBase64Encoded":true}`, "hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, func(event) (int, http.Header, string) { return 200, nil, tc.body })
			g := startGateway(t, Options{Routes: map[string]RouteTarget{
				RouteDefault: {Backend: rec.backend(), Reply: true},
				"quiet":      {Backend: rec.backend()},
			}})
			c, _ := dialRegistered(t, g, "/prod", nil)
			// A route without reply stays one-way: only the second message answers.
			_ = c.WriteMessage(websocket.TextMessage, []byte(`{"action":"quiet"}`))
			_ = c.WriteMessage(websocket.TextMessage, []byte(`ping`))
			if got := readText(t, c, 2*time.Second); got != tc.want {
				t.Fatalf("reply %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMessagesReachBackendInOrder(t *testing.T) {
	rec := newRecorder(t, nil)
	g := startGateway(t, Options{Routes: map[string]RouteTarget{RouteDefault: {Backend: rec.backend()}}})
	c, _ := dialRegistered(t, g, "/prod", nil)
	const n = 40
	for i := range n {
		_ = c.WriteMessage(websocket.TextMessage, []byte{byte('A' + i%26), byte('0' + i/26)})
	}
	evs := rec.wait(t, 5*time.Second, func(e []event) bool { return len(e) == n })
	for i, ev := range evs {
		if want := string([]byte{byte('A' + i%26), byte('0' + i/26)}); ev.Body != want {
			t.Fatalf("event %d body %q, want %q", i, ev.Body, want)
		}
	}
}

func TestCloseCodes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		act        func(c *websocket.Conn)
		wantCode   int
		wantReason string
	}{
		{"binary frame", Options{}, func(c *websocket.Conn) { _ = c.WriteMessage(websocket.BinaryMessage, []byte{1, 2}) }, 1003, reasonBinary},
		{"message over the limit", Options{MaxMessageBytes: 1024}, func(c *websocket.Conn) {
			_ = c.WriteMessage(websocket.TextMessage, make([]byte, 1<<20))
		}, 1009, ""},
		{"idle", Options{IdleTimeout: 150 * time.Millisecond}, func(*websocket.Conn) {}, 1001, reasonIdle},
		{"max age", Options{MaxConnectionAge: 300 * time.Millisecond}, func(c *websocket.Conn) {
			for range 5 { // activity does not extend the hard limit
				_ = c.WriteMessage(websocket.TextMessage, []byte("x"))
				time.Sleep(80 * time.Millisecond)
			}
		}, 1001, reasonMaxAge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			tc.opts.Routes = map[string]RouteTarget{RouteDisconnect: {Backend: rec.backend()}}
			g := startGateway(t, tc.opts)
			c, _ := dialRegistered(t, g, "/prod", nil)
			start := time.Now()
			go tc.act(c)
			ce := readClose(t, c, 3*time.Second)
			if ce.Code != tc.wantCode || ce.Text != tc.wantReason {
				t.Fatalf("close %d %q after %v, want %d %q", ce.Code, ce.Text, time.Since(start), tc.wantCode, tc.wantReason)
			}
			evs := rec.wait(t, 2*time.Second, func(e []event) bool { return len(e) == 1 })
			if rc := evs[0].RequestContext; rc.DisconnectStatusCode != int64(tc.wantCode) {
				t.Fatalf("$disconnect code %d, want %d", rc.DisconnectStatusCode, tc.wantCode)
			}
		})
	}
}

func TestPingKeepsIdleConnectionOpen(t *testing.T) {
	const idle = 500 * time.Millisecond
	g := startGateway(t, Options{IdleTimeout: idle})
	c, id := dialRegistered(t, g, "/prod", nil)
	pongs := make(chan struct{}, 1)
	c.SetPongHandler(func(string) error {
		select {
		case pongs <- struct{}{}:
		default:
		}
		return nil
	})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	// Each ping is sent as soon as the previous one is answered, so the
	// client is never silent for long whatever the scheduling; the pings
	// go on for several idle timeouts. A pong proves the bridge read the
	// ping, which is what keeps the connection open.
	start := time.Now()
	for n := 0; time.Since(start) < 4*idle; n++ {
		if n >= 200000 {
			t.Fatal("200000 pings without reaching four idle timeouts")
		}
		if err := c.WriteControl(websocket.PingMessage, []byte("hb"), time.Now().Add(time.Second)); err != nil {
			t.Fatalf("ping %d: %v", n, err)
		}
		select {
		case <-pongs:
		case <-closed:
			t.Fatalf("connection closed after %d pings in %s although the client kept pinging", n, time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("no pong for ping %d", n)
		}
	}
	if g.bridge.reg.get(id) == nil {
		t.Fatal("connection closed although the client kept pinging")
	}
	waitFor(t, 5*time.Second, "idle close after pings stop", func() bool { return g.bridge.reg.get(id) == nil })
}

func TestDisconnectRunsOnceWithCode(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		act        func(t *testing.T, g *gateway, c *websocket.Conn, id string)
		wantCode   int64
		wantReason string
	}{
		{"client close", Options{}, func(t *testing.T, g *gateway, c *websocket.Conn, id string) {
			_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
			readClose(t, c, 2*time.Second)
		}, 4001, "bye"},
		{"client vanishes", Options{}, func(t *testing.T, g *gateway, c *websocket.Conn, id string) {
			_ = c.NetConn().Close()
		}, 1006, ""},
		{"backend DELETE", Options{}, func(t *testing.T, g *gateway, c *websocket.Conn, id string) {
			if status, _, body := httpDo(t, "DELETE", g.connectionsURL("prod", id), ""); status != 204 {
				t.Fatalf("DELETE status %d %s", status, body)
			}
			if ce := readClose(t, c, 2*time.Second); ce.Code != 1000 || ce.Text != reasonNormal {
				t.Fatalf("client saw close %d %q", ce.Code, ce.Text)
			}
			if status, _, _ := httpDo(t, "DELETE", g.connectionsURL("prod", id), ""); status != 410 {
				t.Fatalf("second DELETE status %d, want 410", status)
			}
		}, 1000, reasonNormal},
		{"idle", Options{IdleTimeout: 100 * time.Millisecond}, func(t *testing.T, g *gateway, c *websocket.Conn, id string) {
			readClose(t, c, 2*time.Second)
		}, 1001, reasonIdle},
		{"shutdown", Options{}, func(t *testing.T, g *gateway, c *websocket.Conn, id string) {
			go func() { _ = g.bridge.Close() }()
			if ce := readClose(t, c, 3*time.Second); ce.Code != 1001 {
				t.Fatalf("client saw close %d %q", ce.Code, ce.Text)
			}
		}, 1001, reasonGoingAway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder(t, nil)
			tc.opts.Routes = map[string]RouteTarget{RouteDisconnect: {Backend: rec.backend()}}
			g := startGateway(t, tc.opts)
			c, id := dialRegistered(t, g, "/prod", nil)
			tc.act(t, g, c, id)
			rec.wait(t, 3*time.Second, func(e []event) bool { return len(e) >= 1 })
			time.Sleep(100 * time.Millisecond) // room for a duplicate to show up
			evs := rec.snapshot()
			if len(evs) != 1 {
				t.Fatalf("$disconnect ran %d times: %v", len(evs), summarize(evs))
			}
			rc := evs[0].RequestContext
			if rc.EventType != "DISCONNECT" || rc.RouteKey != "$disconnect" || rc.ConnectionID != id {
				t.Fatalf("event %+v", rc)
			}
			reason := ""
			if rc.DisconnectReason != nil {
				reason = *rc.DisconnectReason
			}
			if rc.DisconnectStatusCode != tc.wantCode || reason != tc.wantReason {
				t.Fatalf("disconnect %d %q, want %d %q", rc.DisconnectStatusCode, reason, tc.wantCode, tc.wantReason)
			}
			if evs[0].Headers["Host"] != g.addr {
				t.Fatalf("DISCONNECT headers %v", evs[0].Headers)
			}
			if s := g.bridge.Stats(); s.Disconnects != 1 || s.OpenConnections != 0 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

func TestCloseDeliversQueuedMessagesFirst(t *testing.T) {
	g := startGateway(t, Options{})
	c, id := dialRegistered(t, g, "/prod", nil)
	if status, _, _ := httpDo(t, "POST", g.connectionsURL("prod", id), "last words"); status != 200 {
		t.Fatalf("POST status %d", status)
	}
	if status, _, _ := httpDo(t, "DELETE", g.connectionsURL("prod", id), ""); status != 204 {
		t.Fatalf("DELETE status %d", status)
	}
	if got := readText(t, c, 2*time.Second); got != "last words" {
		t.Fatalf("got %q", got)
	}
	if ce := readClose(t, c, 2*time.Second); ce.Code != 1000 {
		t.Fatalf("close %d", ce.Code)
	}
}

func TestUpgradeAfterCloseIsRefused(t *testing.T) {
	g := startGateway(t, Options{})
	if err := g.bridge.Close(); err != nil {
		t.Fatal(err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(g.wsURL("/prod"), nil)
	if err == nil || resp == nil || resp.StatusCode != 503 {
		t.Fatalf("err=%v resp=%+v, want 503", err, resp)
	}
}

func TestClientIPHookFeedsIdentity(t *testing.T) {
	rec := newRecorder(t, nil)
	g := startGateway(t, Options{
		Routes:   map[string]RouteTarget{RouteConnect: {Backend: rec.backend()}},
		ClientIP: func(*fasthttp.RequestCtx) string { return "203.0.113.7" },
	})
	_, id := dialRegistered(t, g, "/prod", nil)
	evs := rec.wait(t, 2*time.Second, func(e []event) bool { return len(e) == 1 })
	if ip := evs[0].RequestContext.Identity.SourceIP; ip != "203.0.113.7" {
		t.Fatalf("sourceIp %q", ip)
	}
	// Through the admin variant: to the hook every caller is 203.0.113.7,
	// which the loopback-only @connections endpoint would refuse.
	if status, _, body := httpDo(t, "GET", "http://"+g.addr+"/admin/@connections/"+id, ""); status != 200 || !strings.Contains(body, `"sourceIp":"203.0.113.7"`) {
		t.Fatalf("GET %d %s", status, body)
	}
}

func TestEveryEventCarriesItsStagesVariables(t *testing.T) {
	rec := newRecorder(t, nil)
	be := rec.backend()
	g := startGateway(t, Options{
		Stages: []string{"prod", "dev"},
		StageVariables: map[string]map[string]string{
			"prod": {"table": "chat-prod", "region": "eu"},
			"dev":  {"table": "chat-dev"},
		},
		Routes: map[string]RouteTarget{RouteConnect: {Backend: be}, RouteDefault: {Backend: be}, RouteDisconnect: {Backend: be}},
	})
	c, _ := dialRegistered(t, g, "/prod", nil)
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, 5*time.Second, func(e []event) bool { return len(e) == 2 })
	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	evs := rec.wait(t, 5*time.Second, func(e []event) bool { return len(e) == 3 })
	for _, ev := range evs {
		if len(ev.StageVariables) != 2 || ev.StageVariables["table"] != "chat-prod" || ev.StageVariables["region"] != "eu" {
			t.Errorf("%s event stageVariables = %v, want prod's", ev.RequestContext.EventType, ev.StageVariables)
		}
	}

	// Another stage's connection carries that stage's variables.
	dialRegistered(t, g, "/dev", nil)
	evs = rec.wait(t, 5*time.Second, func(e []event) bool { return len(e) == 4 })
	if got := evs[3].StageVariables; len(got) != 1 || got["table"] != "chat-dev" {
		t.Errorf("dev CONNECT stageVariables = %v, want dev's", got)
	}
}
