package bench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/bench/loadgen"
	"github.com/valyala/fasthttp"
)

// The WebSocket scenarios: frontdesk's bridge against a plain in-process
// fasthttp/websocket server doing the same work (the floor), loaded by the
// suite's WebSocket generator (bench/loadgen, RunWS). A "request" in the
// report is a message: an echo reply, or a delivered broadcast message.

// WSFloor is the floor of the WebSocket scenarios: this program's
// `wsfloor` subcommand, pinned like the proxy under test.
const WSFloor ProxyKind = "ws-floor"

// The WebSocket load generators (this program's `wsload` subcommand).
const (
	WSEcho      Generator = "ws-echo"      // each connection sends a message and waits for the reply
	WSBroadcast Generator = "ws-broadcast" // @connections POSTs to every connection in turn
)

// WSStage is the path clients open: the stage of the frontdesk API, and
// the same path on the floor.
const WSStage = "/prod"

// Bounds of the broadcast scenario's connections (Options.WSConns).
const (
	DefaultWSConns = 1000
	maxWSConns     = loadgen.MaxWSConns
	// wsPosters bounds the @connections senders: the suite's -conns,
	// but no more than this many keep-alive clients.
	wsPosters = 64
)

// isWebSocket reports whether the scenario is loaded over WebSocket.
func (sc Scenario) isWebSocket() bool {
	g := sc.generator()
	return g == WSEcho || g == WSBroadcast
}

// wsEchoAPI is the echo scenario's frontdesk API: $default to the suite's
// upstream, whose answer goes back to the client.
const wsEchoAPI = `apis:
  ws:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    integrations:
      up: {type: http, url: "http://{{.Upstream}}` + SmallPath + `", timeout: 10s}
    routes:
      "$default": {integration: up, reply: true}
`

// wsBroadcastAPI is the broadcast scenario's frontdesk API: a whoami
// route (a mock replying the connection id) for the generator to learn the
// ids it POSTs to; @connections is open (no management credentials).
const wsBroadcastAPI = `apis:
  ws:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    integrations:
      whoami:
        type: mock
        request_templates: {$default: '{"statusCode": 200}'}
        responses:
          - response_templates: {$default: '$context.connectionId'}
    routes:
      whoami: {integration: whoami, reply: true}
`

// wsScenarios are the WebSocket scenarios, in report order.
func wsScenarios() []Scenario {
	// The bridge's event building is the part of the path with a
	// micro-benchmark; the rest is profiled only under load.
	events := []Profile{{Pkg: "./wsbridge/", Bench: "BenchmarkMessageEvent"}}
	return []Scenario{
		{Name: "floor-ws-echo", Proxy: WSFloor, Generator: WSEcho, Path: WSStage, Group: "ws-echo",
			About: "floor: a plain fasthttp/websocket server POSTing each message to the upstream and writing its answer back"},
		{Name: "frontdesk-ws-echo", Proxy: Frontdesk, Generator: WSEcho, Path: WSStage, Reference: "floor-ws-echo", Group: "ws-echo",
			Config: wsEchoAPI, Profiles: events,
			About: "WebSocket $default route to the upstream (type http, reply: true): client → bridge → backend → reply; per message"},
		{Name: "floor-ws-broadcast", Proxy: WSFloor, Generator: WSBroadcast, Path: WSStage, Group: "ws-broadcast",
			About: "floor: a plain fasthttp/websocket server writing each POSTed message to its connection"},
		{Name: "frontdesk-ws-broadcast", Proxy: Frontdesk, Generator: WSBroadcast, Path: WSStage, Reference: "floor-ws-broadcast", Group: "ws-broadcast",
			Config: wsBroadcastAPI,
			About:  "@connections POSTs fanning a message out to every connection (one POST each); per delivered message, p99 from POST to delivery"},
	}
}

// wsConns is the broadcast scenario's connection count, bounded.
func (s *suite) wsConns() int {
	n := s.opt.WSConns
	if n <= 0 {
		n = DefaultWSConns
	}
	return min(n, maxWSConns)
}

// startWSFloor runs this program's `wsfloor` subcommand on the proxy's
// CPU, with GOMAXPROCS=1 as frontdesk gets.
func (s *suite) startWSFloor(ctx context.Context, dir, upstream string) (*child, string, error) {
	cmd := s.layout.command(ctx, s.layout.Proxy, []string{"GOMAXPROCS=1"}, s.opt.Self, "wsfloor", "-backend", upstream)
	return startListening(cmd, "ws floor", filepath.Join(dir, "wsfloor.log"))
}

// probeWS checks that the scenario's first exchange works before any load
// is applied: an echo, or a whoami answer. target (nil in tests) is the
// process serving it, whose exit ends the wait.
func probeWS(ctx context.Context, addr string, sc Scenario, target *child) error {
	// An echo must come back with the upstream's answer: proof that the
	// message went through the backend and not a shortcut.
	msg, want := loadgen.EchoMessage, SmallBody
	if sc.generator() == WSBroadcast {
		msg, want = loadgen.WhoAmIMessage, ""
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := wsExchange("ws://"+addr+sc.Path, msg, want)
		if err == nil {
			return nil
		}
		if target != nil && target.exited() {
			return target.failure()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("probe %s: %w", sc.Path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wsExchange sends msg on a new connection and reads one reply, which must
// be want when want is set, and no error frame in any case.
func wsExchange(url, msg, want string) error {
	d := websocket.Dialer{HandshakeTimeout: 2 * time.Second}
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	_, reply, err := ws.ReadMessage()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if bytes.Contains(reply, []byte(`"message":`)) {
		return fmt.Errorf("error frame %s", truncate(reply))
	}
	if want != "" && string(reply) != want {
		return fmt.Errorf("reply %q, want %q", truncate(reply), want)
	}
	return nil
}

// runWSLoad runs this program's `wsload` subcommand against addr and reads
// CPU times when the child says the window opens and closes, as runLoadgen
// does for HTTP.
func (s *suite) runWSLoad(ctx context.Context, dir string, sc Scenario, addr string, w watched, rd *Round) error {
	args := []string{s.opt.Self, "wsload", "-addr", addr, "-path", sc.Path,
		"-warmup", s.opt.Warmup.String(), "-duration", s.opt.Duration.String()}
	switch sc.generator() {
	case WSBroadcast:
		args = append(args, "-mode", loadgen.ModeBroadcast, "-conns", strconv.Itoa(s.wsConns()),
			"-posters", strconv.Itoa(min(s.opt.Conns, wsPosters)))
	default:
		args = append(args, "-mode", loadgen.ModeEcho, "-conns", strconv.Itoa(min(s.opt.Conns, maxWSConns)))
	}
	return s.runGenerator(ctx, dir, "ws load generator", "wsload.log", args, w, rd)
}

// WSFloorServer is the floor of the WebSocket scenarios: the least a Go
// server on fasthttp/websocket does for the same exchanges as frontdesk's
// bridge. Clients open any path; a message containing "whoami" is answered
// with the connection's id, any other is POSTed to the backend and the
// answer's body written back; POST .../@connections/{id} writes its body to
// that connection (410 when it is gone).
type WSFloorServer struct {
	backend  *fasthttp.HostClient
	upgrader websocket.FastHTTPUpgrader
	next     atomic.Uint64
	mu       sync.Mutex
	conns    map[string]*floorConn // open connections; bounded by the clients the suite opens
}

type floorConn struct {
	mu sync.Mutex // one writer at a time: the echo loop and @connections POSTs
	ws *websocket.Conn
}

// NewWSFloor returns the floor, POSTing messages to backend (host:port).
func NewWSFloor(backend string) *WSFloorServer {
	return &WSFloorServer{
		backend:  &fasthttp.HostClient{Addr: backend, MaxConns: 1024},
		upgrader: websocket.FastHTTPUpgrader{ReadBufferSize: 4096, WriteBufferSize: 4096},
		conns:    map[string]*floorConn{},
	}
}

// Server wraps the floor's handler in a fasthttp server.
func (f *WSFloorServer) Server() *fasthttp.Server {
	return &fasthttp.Server{Handler: f.Handle, Name: "bench-ws-floor", NoDefaultServerHeader: true, Concurrency: 16384}
}

// Handle serves the upgrade and the @connections POSTs.
func (f *WSFloorServer) Handle(ctx *fasthttp.RequestCtx) {
	if _, id, ok := bytes.Cut(ctx.Path(), []byte("/@connections/")); ok {
		f.post(ctx, string(id))
		return
	}
	err := f.upgrader.Upgrade(ctx, func(ws *websocket.Conn) {
		id := strconv.FormatUint(f.next.Add(1), 36)
		c := &floorConn{ws: ws}
		f.mu.Lock()
		f.conns[id] = c
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.conns, id)
			f.mu.Unlock()
			ws.Close()
		}()
		f.serve(c, id)
	})
	if err != nil {
		ctx.Error("upgrade: "+err.Error(), fasthttp.StatusBadRequest)
	}
}

func (f *WSFloorServer) serve(c *floorConn, id string) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.SetRequestURI("http://" + f.backend.Addr + SmallPath)
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		reply := []byte(id)
		if !bytes.Contains(msg, []byte("whoami")) {
			req.SetBodyRaw(msg)
			req.Header.Set("X-Connection-Id", id)
			if err := f.backend.DoTimeout(req, resp, 10*time.Second); err != nil {
				reply = []byte(`{"message":"Internal server error"}`)
			} else {
				reply = resp.Body()
			}
		}
		c.mu.Lock()
		err = c.ws.WriteMessage(websocket.TextMessage, reply)
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (f *WSFloorServer) post(ctx *fasthttp.RequestCtx, id string) {
	f.mu.Lock()
	c := f.conns[id]
	f.mu.Unlock()
	if c == nil {
		ctx.Error(`{"message":"gone"}`, fasthttp.StatusGone)
		return
	}
	c.mu.Lock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := c.ws.WriteMessage(websocket.TextMessage, ctx.PostBody())
	c.mu.Unlock()
	if err != nil {
		ctx.Error(`{"message":"gone"}`, fasthttp.StatusGone)
	}
}
