package wsbridge

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/lambda"
)

func TestRouteSelectionExpressions(t *testing.T) {
	for _, tc := range []struct {
		name, expr, msg string
		want            string
		wantJSON        bool
	}{
		{"action field", "$request.body.action", `{"action":"join"}`, "join", true},
		{"default expression", "", `{"action":"join"}`, "join", true},
		{"nested path", "$request.body.meta.kind", `{"meta":{"x":[1,{"kind":"no"}],"kind":"deep"}}`, "deep", true},
		{"missing path is empty", "$request.body.action", `{"other":"x"}`, "", true},
		{"path through a scalar is empty", "$request.body.a.b", `{"a":"str"}`, "", true},
		{"number as text", "$request.body.n", `{"n": 12.5e1}`, "12.5e1", true},
		{"bool as text", "$request.body.ok", `{"ok":true}`, "true", true},
		{"null is empty", "$request.body.a", `{"a":null}`, "", true},
		{"escaped string value", "$request.body.a", `{"a":"x\"y\u00e9"}`, `x"yé`, true},
		{"key after nested values", "$request.body.z", `{"a":{"b":"}"},"c":["]",{}],"z":"found"}`, "found", true},
		{"whitespace everywhere", "$request.body.a", " {\n \"a\" :\t\"v\" } ", "v", true},
		{"template", "${request.body.service}/${request.body.action}", `{"action":"join","service":"chat"}`, "chat/join", true},
		{"template with missing part", "${request.body.service}/${request.body.action}", `{"action":"join"}`, "/join", true},
		{"escaped dollar literal", `\$v-${request.body.a}`, `{"a":"1"}`, "$v-1", true},
		{"array top level", "$request.body.a", `["a"]`, "", true},
		{"not JSON", "$request.body.action", `{"action":"join"`, "", false},
		{"plain text", "$request.body.action", `hello`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel, err := parseSelector(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, isJSON := sel.eval(nil, []byte(tc.msg))
			if string(got) != tc.want || isJSON != tc.wantJSON {
				t.Fatalf("eval = %q, %v; want %q, %v", got, isJSON, tc.want, tc.wantJSON)
			}
		})
	}
}

func TestRouteSelectionExpressionErrors(t *testing.T) {
	for _, expr := range []string{
		"$request.header.x",
		"${request.querystring.a}",
		"${request.body.a",
		"$request.body.",
		"$request.body.a..b",
		"x-$request.body.a",
		"${context.routeKey}",
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := parseSelector(expr); err == nil {
				t.Fatalf("parseSelector(%q) accepted", expr)
			}
		})
	}
}

func TestRouteKeysAreValidated(t *testing.T) {
	b := NewHTTPBackend("http://127.0.0.1:1", 0)
	for _, tc := range []struct {
		name    string
		routes  map[string]RouteTarget
		wantErr bool
	}{
		{"predefined and custom", map[string]RouteTarget{RouteConnect: {Backend: b}, "chat": {Backend: b}}, false},
		{"unknown $ key", map[string]RouteTarget{"$other": {Backend: b}}, true},
		{"missing backend", map[string]RouteTarget{"chat": {}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(Options{Routes: tc.routes}); (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestLambdaStyleRepliesUnfold(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         Reply
		wantStatus int
		wantBody   string
		wantHeader string
	}{
		{"plain body stays", Reply{Status: 200, Body: []byte(`{"a":1}`)}, 200, `{"a":1}`, ""},
		{"lambda shape unfolds", Reply{Status: 200, Body: []byte(`{"statusCode":401,"headers":{"Sec-WebSocket-Protocol":"p"},"body":"no"}`)}, 401, "no", "p"},
		{"statusCode without body", Reply{Status: 200, Body: []byte(`{"statusCode":200}`)}, 200, "", ""},
		{"non-2xx transport stays", Reply{Status: 500, Body: []byte(`{"statusCode":200,"body":"x"}`)}, 500, `{"statusCode":200,"body":"x"}`, ""},
		{"invalid JSON stays", Reply{Status: 200, Body: []byte(`{"statusCode":`)}, 200, `{"statusCode":`, ""},
		{"numeric string statusCode", Reply{Status: 200, Body: []byte(`{"statusCode":"404","body":"x"}`)}, 404, "x", ""},
		{"unknown member stays", Reply{Status: 200, Body: []byte(`{"statusCode":200,"data":1}`)}, 200, `{"statusCode":200,"data":1}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := unwrapLambda(tc.in)
			h := ""
			for _, kv := range got.Headers {
				if kv[0] == "Sec-WebSocket-Protocol" {
					h = kv[1]
				}
			}
			if got.Status != tc.wantStatus || string(got.Body) != tc.wantBody || h != tc.wantHeader {
				t.Fatalf("got %d %q %q", got.Status, got.Body, h)
			}
		})
	}
}

func TestConnectionIDsAreUniqueAndURLSafe(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := newConnectionID()
		if len(id) != 16 || strings.ContainsAny(id, "+/=%") || id[0] == '-' || id[0] == '_' || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	if rid := appendRequestID(nil); len(rid) != requestIDLen || rid[len(rid)-1] != '=' {
		t.Fatalf("request id %q", rid)
	}
}

func BenchmarkRouteSelection(b *testing.B) {
	sel, err := parseSelector("$request.body.action")
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(`{"meta":{"room":"blue","tags":["a","b"]},"action":"sendmessage","data":"hello there, everyone in the room"}`)
	var key [64]byte
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if k, ok := sel.eval(key[:0], msg); !ok || string(k) != "sendmessage" {
			b.Fatal("wrong key")
		}
	}
}

// BenchmarkMessageEvent builds a MESSAGE event of a connection whose stage
// has variables, as the read loop does for every routed message.
func BenchmarkMessageEvent(b *testing.B) {
	br, err := New(Options{
		Stages:         []string{"prod"},
		StageVariables: map[string]map[string]string{"prod": {"table": "chat-prod", "region": "eu-west-1"}},
		Routes:         map[string]RouteTarget{RouteDefault: {Backend: NewHTTPBackend("http://127.0.0.1:9/events", time.Second)}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	c := &conn{id: "R1kmxc2VNjMCFIA=", idb: []byte("R1kmxc2VNjMCFIA="), stage: "prod", stageVars: br.s.stageVars["prod"],
		host: []byte("ws.example.com"), sourceIP: []byte("127.0.0.1"), userAgent: []byte("wscat/5"), connectedAt: time.Now().UnixNano()}
	body := []byte(`{"action":"sendmessage","data":"hello"}`)
	rid := []byte("R1knPH17NjMFftw=")
	now := time.Now()
	var dst []byte
	b.ReportAllocs()
	for b.Loop() {
		in := br.event(c, lambda.WSMessage, RouteDefault, rid, now)
		in.MessageID, in.Body = rid, body
		dst = lambda.AppendWebSocketEvent(dst[:0], &in)
	}
	if !bytes.Contains(dst, []byte(`"stageVariables":{"region":"eu-west-1","table":"chat-prod"}`)) {
		b.Fatalf("event without the stage's variables: %s", dst)
	}
}
