package wsbridge

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// recorder is an HTTP backend that records the events it receives and
// answers through respond.
type recorder struct {
	srv     *httptest.Server
	mu      sync.Mutex
	events  []events.APIGatewayWebsocketProxyRequest
	headers []http.Header
	changed chan struct{}
	respond func(ev events.APIGatewayWebsocketProxyRequest) (int, http.Header, string)
}

func newRecorder(t *testing.T, respond func(ev events.APIGatewayWebsocketProxyRequest) (int, http.Header, string)) *recorder {
	t.Helper()
	r := &recorder{changed: make(chan struct{}), respond: respond}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var ev events.APIGatewayWebsocketProxyRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Errorf("backend got invalid event JSON: %v\n%s", err, raw)
			w.WriteHeader(400)
			return
		}
		status, hdr, body := 200, http.Header(nil), ""
		if r.respond != nil {
			status, hdr, body = r.respond(ev)
		}
		r.mu.Lock()
		r.events = append(r.events, ev)
		r.headers = append(r.headers, req.Header.Clone())
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		for k, vs := range hdr {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) backend() Backend { return NewHTTPBackend(r.srv.URL+"/events", 2*time.Second) }

// wait returns the recorded events once match accepts them, failing the
// test after timeout.
func (r *recorder) wait(t *testing.T, timeout time.Duration, match func([]events.APIGatewayWebsocketProxyRequest) bool) []events.APIGatewayWebsocketProxyRequest {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		evs := append([]events.APIGatewayWebsocketProxyRequest(nil), r.events...)
		ch := r.changed
		r.mu.Unlock()
		if match(evs) {
			return evs
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("backend events never matched; got %d events: %+v", len(evs), summarize(evs))
		}
	}
}

func (r *recorder) snapshot() []events.APIGatewayWebsocketProxyRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.APIGatewayWebsocketProxyRequest(nil), r.events...)
}

func summarize(evs []events.APIGatewayWebsocketProxyRequest) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.RequestContext.RouteKey+":"+e.Body)
	}
	return out
}

// gateway is a fasthttp server on 127.0.0.1 serving one bridge the way
// the gateway does: /{stage} upgrades, /{stage}/@connections/{id} is the
// management API, /admin/@connections/{id} its admin variant.
type gateway struct {
	bridge *Bridge
	addr   string
	srv    *fasthttp.Server
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func startGateway(t *testing.T, opts Options) *gateway {
	t.Helper()
	return startGatewayWith(t, opts, nil)
}

// startGatewayWith is startGateway with a chance to adjust the bridge's
// settings before it serves.
func startGatewayWith(t *testing.T, opts Options, tweak func(*settings)) *gateway {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.APIID == "" {
		opts.APIID = "testapi"
	}
	if opts.Stages == nil {
		opts.Stages = []string{"prod"}
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(b.s)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{bridge: b, addr: ln.Addr().String()}
	g.srv = &fasthttp.Server{Handler: g.handle, ReadTimeout: 5 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = b.Close()
		_ = g.srv.Shutdown()
	})
	return g
}

func (g *gateway) handle(ctx *fasthttp.RequestCtx) {
	parts := strings.SplitN(strings.TrimPrefix(string(ctx.Path()), "/"), "/", 3)
	switch {
	case len(parts) == 1:
		g.bridge.ServeUpgrade(ctx, parts[0], nil)
	case len(parts) == 3 && parts[1] == "@connections" && parts[0] == "admin":
		g.bridge.ServeAdminManagement(ctx, parts[2])
	case len(parts) == 3 && parts[1] == "@connections":
		g.bridge.ServeManagement(ctx, parts[0], parts[2])
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
	}
}

func (g *gateway) wsURL(pathAndQuery string) string { return "ws://" + g.addr + pathAndQuery }

func (g *gateway) connectionsURL(stage, id string) string {
	return "http://" + g.addr + "/" + stage + "/@connections/" + id
}

// dial opens a client connection and fails the test if it is refused.
func dial(t *testing.T, url string, hdr http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, hdr)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readText reads one text message within timeout.
func readText(t *testing.T, c *websocket.Conn, timeout time.Duration) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	mt, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("message type %d, want text", mt)
	}
	return string(msg)
}

// readClose reads until the server closes and returns its close frame.
func readClose(t *testing.T, c *websocket.Conn, timeout time.Duration) *websocket.CloseError {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		ce, ok := err.(*websocket.CloseError)
		if !ok {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

// connectionIDs lists the ids of the bridge's open connections.
func connectionIDs(b *Bridge) []string {
	var ids []string
	for _, ci := range b.ListConnections() {
		ids = append(ids, ci.ID)
	}
	return ids
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// httpDo sends a plain request and returns status, headers and body.
func httpDo(t *testing.T, method, url, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}
