package config

import (
	"errors"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestTheContractExampleIsValid(t *testing.T) {
	c, warns, err := Load("../../shared/spec/frontdesk.yaml")
	if err != nil {
		t.Fatalf("the spec's example must load: %v", err)
	}
	if c.APIs["petstore"].Routes["GET /pets/{id}"].Authorizer != "users" {
		t.Error("route fields not decoded")
	}
	if len(warns) == 0 {
		t.Error("keys not yet implemented must be reported as warnings")
	}
}

func TestEveryMistakeIsReportedWithItsLine(t *testing.T) {
	src := `server:
  listen: "127.0.0.1:8080"
  read_timeout: 30 seconds
  max_body_bytes: lots
  colour: blue
apis:
  petstore:
    type: http
    integrations:
      up:
        type: http_proxy
        url: "http://127.0.0.1:9000"
        timeout: 5s
    routes:
      "GET /pets/{proxy+}/x": {integration: up}
      "FETCH /pets": {integration: up}
      "GET /pets/{id}": {integration: nowhere}
      "GET /pets/{name}": {integration: up}
      "GET /ok":
        integration: up
        api_key: maybe
  shop:
    type: soap
`
	_, _, err := Parse("broken.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	want := []struct {
		line int
		key  string
		msg  string
	}{
		{3, "server.read_timeout", "invalid duration"},
		{4, "server.max_body_bytes", "invalid size"},
		{5, "server.colour", "unknown key"},
		{21, "apis.petstore.routes.GET /ok.api_key", "true or false"},
	}
	for _, w := range want {
		if !hasProblem(list, w.line, w.key, w.msg) {
			t.Errorf("missing %d %s %q in:\n%v", w.line, w.key, w.msg, list)
		}
	}

	// Kind and key errors stop before the semantic checks; fix them and
	// the semantic ones are all reported together.
	src = strings.NewReplacer("30 seconds", "30s", "lots", "1MiB", "  colour: blue\n", "", "api_key: maybe", "api_key: true").Replace(src)
	_, _, err = Parse("broken.yaml", []byte(src), env(nil))
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	want = []struct {
		line int
		key  string
		msg  string
	}{
		{14, "apis.petstore.routes.GET /pets/{proxy+}/x", "must be the last segment"},
		{15, "apis.petstore.routes.FETCH /pets", "unknown method"},
		{16, "apis.petstore.routes.GET /pets/{id}.integration", `no integration named "nowhere"`},
		{22, "apis.shop.type", "want http, rest or websocket"},
	}
	for _, w := range want {
		if !hasProblem(list, w.line, w.key, w.msg) {
			t.Errorf("missing %d %s %q in:\n%v", w.line, w.key, w.msg, list)
		}
	}
	if !strings.Contains(list.Error(), "conflicts with route") {
		t.Errorf("conflicting GET /pets/{id} and GET /pets/{name} not reported:\n%v", list)
	}
	if !strings.Contains(list.Error(), "broken.yaml:") {
		t.Errorf("problems must name the file: %v", list)
	}
}

func hasProblem(list Errors, line int, key, msg string) bool {
	for _, p := range list {
		if p.Line == line && p.Key == key && strings.Contains(p.Msg, msg) {
			return true
		}
	}
	return false
}

func TestDuplicateKeysAreErrors(t *testing.T) {
	src := "server:\n  listen: a:1\n  listen: b:2\n"
	_, _, err := Parse("dup.yaml", []byte(src), env(nil))
	if err == nil || !strings.Contains(err.Error(), "dup.yaml:3: server.listen: duplicate key (first at line 2)") {
		t.Fatalf("got %v", err)
	}
}

func TestEnvironmentExpansion(t *testing.T) {
	lookup := env(map[string]string{"PORT": "9999", "EMPTY": ""})
	cases := []struct{ in, want string }{
		{"127.0.0.1:${PORT}", "127.0.0.1:9999"},
		{"${MISSING:-7}", "7"},
		{"${EMPTY:-fallback}", "fallback"},
		{"${MISSING}", ""},
		{"${stageVariables.backend}/x", "${stageVariables.backend}/x"},
		{"${request.body.action}", "${request.body.action}"},
		{"a${PORT}b${PORT}", "a9999b9999"},
		{"${unterminated", "${unterminated"},
	}
	for _, c := range cases {
		if got := expand(c.in, lookup); got != c.want {
			t.Errorf("expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSizesAndDurations(t *testing.T) {
	sizes := map[string]int64{"1024": 1024, "512KiB": 512 << 10, "10MiB": 10 << 20, "1GiB": 1 << 30, "2MB": 2e6}
	for in, want := range sizes {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "ten", "1XB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	if _, err := parseDuration("-5s"); err == nil {
		t.Error("negative durations must be refused")
	}
}

func TestDefaultsApply(t *testing.T) {
	c, _, err := Parse("min.yaml", []byte("apis:\n  a:\n    integrations:\n      m: {type: mock}\n    routes:\n      $default: {integration: m}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Listen != DefaultListen || c.Server.MaxBodyBytes != DefaultMaxBodyBytes || c.APIs["a"].Type != "http" || c.APIs["a"].Integrations["m"].Status != 200 {
		t.Errorf("defaults not applied: %+v", c.Server)
	}
}

func TestWebSocketBackendPoolAndDisconnectQueue(t *testing.T) {
	const ws = `apis:
  chat:
    type: websocket
    route_selection: "$request.body.action"
%s    integrations:
      be: {type: http, url: "http://127.0.0.1:9000/events"}
    routes:
      $default: {integration: be}
`
	for _, tc := range []struct {
		name      string
		src       string
		wantConns int
		wantQueue int
		errLine   int // with errKey and errMsg: the expected problem
		errKey    string
		errMsg    string
	}{
		{"defaults", strings.Replace(ws, "%s", "", 1), DefaultBackendMaxConns, DefaultDisconnectQueue, 0, "", ""},
		{"set", strings.Replace(ws, "%s", "    backend_max_conns: 64\n    disconnect_queue: 500\n", 1), 64, 500, 0, "", ""},
		{"pool too large", strings.Replace(ws, "%s", "    backend_max_conns: 70000\n", 1), 0, 0, 5, "apis.chat.backend_max_conns", "want 1 to 65536"},
		{"negative queue", strings.Replace(ws, "%s", "    disconnect_queue: -1\n", 1), 0, 0, 5, "apis.chat.disconnect_queue", "want 1 to 1000000"},
		{"on an HTTP API", `apis:
  web:
    backend_max_conns: 10
    integrations:
      m: {type: mock}
    routes:
      $default: {integration: m}
`, 0, 0, 3, "apis.web.backend_max_conns", "websocket APIs only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Parse("ws.yaml", []byte(tc.src), env(nil))
			if tc.errKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a := c.APIs["chat"]; a.BackendMaxConns != tc.wantConns || a.DisconnectQueue != tc.wantQueue {
					t.Fatalf("backend_max_conns %d disconnect_queue %d", a.BackendMaxConns, a.DisconnectQueue)
				}
				return
			}
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("want Errors, got %v", err)
			}
			if !hasProblem(list, tc.errLine, tc.errKey, tc.errMsg) {
				t.Fatalf("missing %d %s %q in:\n%v", tc.errLine, tc.errKey, tc.errMsg, list)
			}
		})
	}
}
