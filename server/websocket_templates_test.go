package server

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// bodyLog is a backend that records the bodies it gets and answers with
// a JSON document naming the last one's length.
type bodyLog struct {
	mu     sync.Mutex
	bodies []string
	addr   string
}

func startBodyLog(t *testing.T) *bodyLog {
	l := &bodyLog{}
	l.addr = startServer(t, func(ctx *fasthttp.RequestCtx) {
		l.mu.Lock()
		l.bodies = append(l.bodies, string(ctx.PostBody()))
		l.mu.Unlock()
		if strings.Contains(string(ctx.PostBody()), "boom") {
			ctx.SetStatusCode(404)
			ctx.SetBodyString(`{"missing":"room"}`)
			return
		}
		ctx.SetContentType("application/json")
		fmt.Fprintf(ctx, `{"stored":%d}`, len(ctx.PostBody()))
	})
	return l
}

func (l *bodyLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bodies...)
}

const wsTemplatesConfig = `
apis:
  chat:
    type: websocket
    stages: {prod: {variables: {room: lobby}}}
    route_selection: "$request.body.action"
    integrations:
      be:
        type: http
        url: "http://{{UP}}/messages"
        template_selection_expression: "$request.body.kind"
        request_templates:
          text: '{"say": "$util.escapeJavaScript($input.path(''$.text''))", "from": "$context.connectionId", "route": "$context.routeKey", "room": "$stageVariables.room"}'
          $default: '{"raw": $input.json(''$'')}'
        responses:
          - selection_pattern: "4\\d\\d"
            response_templates: {$default: '{"error": "not found", "detail": $input.json(''$.missing'')}'}
          - response_templates: {$default: '{"ok": true, "backend": $input.body}'}
      ping:
        type: mock
        template_selection_expression: "\\$default"
        request_templates:
          $default: '{"statusCode": 200}'
        responses:
          - response_templates: {$default: '{"pong": "$input.params(''x'')$context.routeKey"}'}
      plain: {type: mock, status: 200, body: '{"plain": true}'}
    routes:
      "$default": {integration: be, reply: true}
      send: {integration: be, reply: true}
      ping: {integration: ping, reply: true}
      plain: {integration: plain, reply: true}
`

func TestWebSocketTemplatesMapMessagesThroughTheServer(t *testing.T) {
	be := startBodyLog(t)
	base := startGateway(t, wsTemplatesConfig, be.addr)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	exchange := func(msg string) string {
		t.Helper()
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, reply, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("reply to %s: %v", msg, err)
		}
		return string(reply)
	}

	// The selection expression picks the "text" template by the message's kind.
	reply := exchange(`{"action":"send","kind":"text","text":"hi \"all\""}`)
	bodies := be.all()
	if len(bodies) != 1 {
		t.Fatalf("backend got %d bodies: %q", len(bodies), bodies)
	}
	got := bodies[0]
	if !strings.HasPrefix(got, `{"say": "hi \"all\"", "from": "`) || !strings.HasSuffix(got, `", "route": "send", "room": "lobby"}`) || strings.Contains(got, `"from": ""`) {
		t.Errorf("the backend got %s", got)
	}
	if want := fmt.Sprintf(`{"ok": true, "backend": {"stored":%d}}`, len(got)); reply != want {
		t.Errorf("reply %s, want %s", reply, want)
	}

	// A key without a template of its own uses $default.
	reply = exchange(`{"action":"send","kind":"image","n":1}`)
	if bodies = be.all(); len(bodies) != 2 || bodies[1] != `{"raw": {"action":"send","kind":"image","n":1}}` {
		t.Errorf("the backend got %q", bodies)
	}
	if !strings.HasPrefix(reply, `{"ok": true, "backend": {"stored":`) {
		t.Errorf("reply %s", reply)
	}

	// The backend's 404 is mapped by the 4xx integration response.
	if reply = exchange(`{"kind":"text","text":"boom"}`); reply != `{"error": "not found", "detail": "room"}` {
		t.Errorf("mapped 404: %s", reply)
	}

	// A mock answers from its response template without a backend.
	if reply = exchange(`{"action":"ping"}`); reply != `{"pong": "ping"}` {
		t.Errorf("mock: %s", reply)
	}
	// A mock without templates answers its body, as on HTTP routes.
	if reply = exchange(`{"action":"plain"}`); reply != `{"plain": true}` {
		t.Errorf("plain mock: %s", reply)
	}
	if n := len(be.all()); n != 3 {
		t.Errorf("the backend got %d bodies, want 3 (the mocks call none)", n)
	}
}
