package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/valyala/fasthttp"
)

// eventLog is a WebSocket backend that records the events it gets.
type eventLog struct {
	mu     sync.Mutex
	events []map[string]any
	addr   string
}

func startEventLog(t *testing.T) *eventLog {
	l := &eventLog{}
	l.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		var ev map[string]any
		json.Unmarshal(ctx.PostBody(), &ev)
		l.mu.Lock()
		l.events = append(l.events, ev)
		l.mu.Unlock()
		ctx.SetBodyString(`{"statusCode":200,"body":"echo:` + fmt.Sprint(ev["body"] != nil) + `"}`)
	})
	return l
}

func (l *eventLog) routeKeys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ev := range l.events {
		rc, _ := ev["requestContext"].(map[string]any)
		out = append(out, fmt.Sprint(rc["routeKey"]))
	}
	return out
}

func wsConfig(backend string) string {
	return fmt.Sprintf(`
apis:
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    integrations: {be: {type: http, url: "http://%s/events"}}
    routes:
      "$connect": {integration: be}
      "$disconnect": {integration: be}
      "$default": {integration: be, reply: true}
  web:
    integrations: {m: {type: mock, body: plain-http}}
    routes: {"GET /prod/hello": {integration: m}}
`, backend)
}

func TestWebSocketAPIThroughTheGateway(t *testing.T) {
	be := startEventLog(t)
	path := t.TempDir() + "/frontdesk.yaml"
	writeFile(t, path, wsConfig(be.addr))
	s, base, adm := startFromFile(t, path)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/prod"

	c, resp, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	// An HTTP API on the same host and base path still serves plain requests.
	if r := do(t, "GET", base+"/prod/hello", nil); r.body != "plain-http" {
		t.Errorf("HTTP API beside the WebSocket API: %d %s", r.status, r.body)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"action":"nothing-matches"}`))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "echo:true" {
		t.Fatalf("reply: %q %v", msg, err)
	}

	// @connections through the data plane (loopback, no credentials).
	var list struct {
		Count int `json:"count"`
		APIs  map[string]struct {
			Connections []struct {
				ID string `json:"connectionId"`
			} `json:"connections"`
		} `json:"apis"`
	}
	r := do(t, "GET", adm+"/connections", nil)
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || list.Count != 1 {
		t.Fatalf("admin /connections: %s", r.body)
	}
	var id string
	for _, a := range list.APIs {
		for _, cn := range a.Connections {
			id = cn.ID
		}
	}
	if r := do(t, "POST", base+"/prod/@connections/"+id, strings.NewReader("pushed")); r.status != 200 {
		t.Fatalf("POST @connections: %d %s", r.status, r.body)
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "pushed" {
		t.Fatalf("pushed message: %q %v", msg, err)
	}
	if r := do(t, "GET", base+"/prod/@connections/"+id, nil); r.status != 200 || !strings.Contains(r.body, "connectedAt") {
		t.Errorf("GET @connections: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", base+"/prod/@connections/nope", strings.NewReader("x")); r.status != 410 {
		t.Errorf("unknown connection: %d", r.status)
	}

	// A reload that leaves the WebSocket API alone keeps the connection.
	writeFile(t, path, strings.Replace(wsConfig(be.addr), "plain-http", "plain-http-2", 1))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "POST", base+"/prod/@connections/"+id, strings.NewReader("after-reload")); r.status != 200 {
		t.Fatalf("after reload: %d %s", r.status, r.body)
	}
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "after-reload" {
		t.Fatalf("after reload: %q %v", msg, err)
	}

	// DELETE closes the connection and runs $disconnect once.
	if r := do(t, "DELETE", base+"/prod/@connections/"+id, nil); r.status != 204 {
		t.Fatalf("DELETE: %d", r.status)
	}
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after DELETE: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && strings.Join(be.routeKeys(), ",") != "$connect,$default,$disconnect" {
		time.Sleep(20 * time.Millisecond)
	}
	if got := strings.Join(be.routeKeys(), ","); got != "$connect,$default,$disconnect" {
		t.Errorf("events %s", got)
	}
}

func TestWebSocketConnectIsGatedByAuthorizerAndAPIKey(t *testing.T) {
	be := startEventLog(t)
	authAddr := startServer(t, func(ctx *fasthttp.RequestCtx) {
		var ev struct {
			Headers map[string]string `json:"headers"`
		}
		json.Unmarshal(ctx.PostBody(), &ev)
		effect := "Deny"
		if ev.Headers["X-Token"] == "ok" || ev.Headers["x-token"] == "ok" {
			effect = "Allow"
		}
		fmt.Fprintf(ctx, `{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":%q,"Resource":"*"}]},"context":{"team":"blue"}}`, effect)
	})
	base := startGateway(t, fmt.Sprintf(`
api_keys:
  - {name: alice, value: "alice-key-0123456789abcdef", plan: p}
usage_plans:
  p: {apis: [chat]}
apis:
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    authorizers:
      gate: {type: http, url: "http://%s/auth", identity_source: ["$request.header.X-Token"], payload_format: "1.0"}
    integrations: {be: {type: http, url: "http://%s/events"}}
    routes:
      "$connect": {integration: be, api_key: true, authorizer: gate}
      "$default": {integration: be}
`, authAddr, be.addr), "")
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/prod"
	dial := func(headers ...string) (*websocket.Conn, int) {
		h := http.Header{}
		for i := 0; i+1 < len(headers); i += 2 {
			h.Set(headers[i], headers[i+1])
		}
		c, resp, err := websocket.DefaultDialer.Dial(wsURL, h)
		if err != nil {
			if resp == nil {
				t.Fatalf("dial: %v", err)
			}
			return nil, resp.StatusCode
		}
		return c, 101
	}
	key := "alice-key-0123456789abcdef"
	if _, st := dial("X-Token", "ok"); st != 403 {
		t.Errorf("no API key: %d, want 403", st)
	}
	if _, st := dial("X-API-Key", key); st != 401 {
		t.Errorf("no token: %d, want 401", st)
	}
	if _, st := dial("X-API-Key", key, "X-Token", "bad"); st != 403 {
		t.Errorf("denied token: %d, want 403", st)
	}
	c, st := dial("X-API-Key", key, "X-Token", "ok")
	if st != 101 {
		t.Fatalf("allowed: %d", st)
	}
	defer c.Close()
	c.WriteMessage(websocket.TextMessage, []byte("hello"))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && len(be.routeKeys()) < 2 {
		time.Sleep(20 * time.Millisecond)
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.events) < 2 {
		t.Fatalf("events: %v", be.routeKeys())
	}
	for _, ev := range be.events[:2] {
		rc, _ := ev["requestContext"].(map[string]any)
		az, _ := rc["authorizer"].(map[string]any)
		if az["principalId"] != "u1" || az["team"] != "blue" {
			t.Errorf("%v event authorizer = %v", rc["routeKey"], rc["authorizer"])
		}
	}
}

// Behind a reverse proxy on the same host every caller connects from
// 127.0.0.1: without management credentials, @connections must judge the
// client the proxy forwards for (server.trusted_proxies).
func TestWebSocketManagementBehindSameHostProxyChecksTheForwardedClient(t *testing.T) {
	be := startEventLog(t)
	base := startGateway(t, "server:\n  trusted_proxies: [\"127.0.0.1\"]\n"+wsConfig(be.addr), "")
	url := base + "/prod/@connections/AAAAAAAAAAAAAAAA"
	for _, tc := range []struct {
		name string
		xff  []string
		want int
	}{
		{"local caller", nil, 410}, // let through; the id is unknown
		{"local client through the proxy", []string{"X-Forwarded-For", "127.0.0.1"}, 410},
		{"foreign client through the proxy", []string{"X-Forwarded-For", "203.0.113.9"}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := do(t, "POST", url, strings.NewReader("x"), tc.xff...); r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
		})
	}
}

// API Gateway keeps the client's spelling of header names in $connect
// events: handlers read event.headers["Sec-WebSocket-Protocol"], which
// fasthttp's normalising would have turned into Sec-Websocket-Protocol.
func TestWebSocketConnectEventKeepsHeaderNamesAsSent(t *testing.T) {
	be := startEventLog(t)
	path := t.TempDir() + "/frontdesk.yaml"
	writeFile(t, path, wsConfig(be.addr))
	_, base, _ := startFromFile(t, path)
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/prod"

	d := websocket.Dialer{Subprotocols: []string{"chat"}}
	h := http.Header{"tEsT-HEADeR": {"kept"}, "x-api-key": {"k"}}
	c, _, err := d.Dial(wsURL, h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	var headers map[string]any
	var apiID any
	deadline := time.Now().Add(5 * time.Second)
	for headers == nil && time.Now().Before(deadline) {
		be.mu.Lock()
		for _, ev := range be.events {
			if rc, _ := ev["requestContext"].(map[string]any); rc["routeKey"] == "$connect" {
				headers, _ = ev["headers"].(map[string]any)
				apiID = rc["apiId"]
			}
		}
		be.mu.Unlock()
		if headers == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// WebSocket events carry the API's id, not its name.
	if apiID != config.APIID("chat") {
		t.Errorf("apiId %v, want %q", apiID, config.APIID("chat"))
	}
	for _, name := range []string{"Sec-WebSocket-Protocol", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "tEsT-HEADeR", "x-api-key", "Host"} {
		if _, ok := headers[name]; !ok {
			t.Errorf("$connect headers lack %q: %v", name, headers)
		}
	}
}
