package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestTheContractExampleIsValid(t *testing.T) {
	c, warns, err := Load("../docs/frontdesk.reference.yaml")
	if err != nil {
		t.Fatalf("the reference example must load: %v", err)
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

	// Kind and key errors do not hide the semantic ones: one run
	// reports them all.
	want = []struct {
		line int
		key  string
		msg  string
	}{
		{15, "apis.petstore.routes.GET /pets/{proxy+}/x", "must be the last segment"},
		{16, "apis.petstore.routes.FETCH /pets", "unknown method"},
		{17, "apis.petstore.routes.GET /pets/{id}.integration", `no integration named "nowhere"`},
		{23, "apis.shop.type", "want http, rest or websocket"},
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

func TestValidateReportsKindAndSemanticProblemsInOneRun(t *testing.T) {
	src := `server:
  max_body_bytes: lots
apis:
  shop:
    type: http
    integrations:
      m: {type: mok}
    routes:
      "GET /x": {integration: nowhere}
`
	_, _, err := Parse("one.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	for _, w := range []struct {
		line int
		key  string
		msg  string
	}{
		{2, "server.max_body_bytes", "invalid size"},
		{7, "apis.shop.integrations.m.type", `want http_proxy, lambda or mock, got "mok"`},
		{9, "apis.shop.routes.GET /x.integration", `no integration named "nowhere"`},
	} {
		if !hasProblem(list, w.line, w.key, w.msg) {
			t.Errorf("missing %d %s %q in:\n%v", w.line, w.key, w.msg, list)
		}
	}
}

func TestABadValueIsReportedOnceNotAgainAsMissing(t *testing.T) {
	src := `apis:
  chat:
    type: websocket
    route_selection: [a, b]
    integrations:
      be: {type: http, url: "http://127.0.0.1:9000/events"}
    routes:
      $default: {integration: be}
  dup:
    type: http
    type: rest
    integrations:
      m: {type: mock}
    routes:
      "GET /x": {integration: m}
`
	_, _, err := Parse("bad.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	if len(list) != 2 || !hasProblem(list, 4, "apis.chat.route_selection", "want a string") ||
		!hasProblem(list, 11, "apis.dup.type", "duplicate key") {
		t.Fatalf("want the list and the duplicate key only, got:\n%v", list)
	}
}

func TestWebSocketRouteSelectionIsRequiredAndTheMessageSuggestsAction(t *testing.T) {
	src := `apis:
  chat:
    type: websocket
    integrations:
      be: {type: http, url: "http://127.0.0.1:9000/events"}
    routes:
      $default: {integration: be}
`
	_, _, err := Parse("ws.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	const want = `required for websocket APIs (AWS has no default); to route on the message's "action" field write route_selection: "$request.body.action"`
	if !hasProblem(list, 2, "apis.chat.route_selection", want) {
		t.Fatalf("missing 2 apis.chat.route_selection %q in:\n%v", want, list)
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

func TestUpstreamKeysDefaultsAndBounds(t *testing.T) {
	const apis = "apis:\n  a:\n    integrations:\n      m: {type: mock}\n    routes:\n      $default: {integration: m}\n"
	c, _, err := Parse("up.yaml", []byte(apis), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	streams := DefaultMaxStreamsPerClient
	want := Upstream{MaxConnsPerOrigin: 1024, IdleTimeout: Duration(4 * time.Second), BufferResponses: 1 << 20, MaxBufferedBytes: 64 << 20, MaxStreamsPerClient: &streams}
	if !reflect.DeepEqual(c.Upstream, want) {
		t.Errorf("defaults %+v, want %+v", c.Upstream, want)
	}
	c, _, err = Parse("up.yaml", []byte("upstream:\n  max_conns_per_origin: 64\n  idle_timeout: 2s\n  buffer_responses: 256KiB\n  max_buffered_bytes: 8MiB\n"+apis), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want = Upstream{MaxConnsPerOrigin: 64, IdleTimeout: Duration(2 * time.Second), BufferResponses: 256 << 10, MaxBufferedBytes: 8 << 20, MaxStreamsPerClient: &streams}
	if !reflect.DeepEqual(c.Upstream, want) {
		t.Errorf("set %+v, want %+v", c.Upstream, want)
	}
	for _, tc := range []struct{ line, key string }{
		{"max_conns_per_origin: -1", "upstream.max_conns_per_origin"},
		{"max_conns_per_origin: 100000", "upstream.max_conns_per_origin"},
		{"idle_timeout: 10ms", "upstream.idle_timeout"},
		{"idle_timeout: 1h", "upstream.idle_timeout"},
		{"buffer_responses: 100", "upstream.buffer_responses"},
		{"buffer_responses: 1GiB", "upstream.buffer_responses"},
		{"max_buffered_bytes: 512KiB", "upstream.max_buffered_bytes"},
	} {
		_, _, err := Parse("up.yaml", []byte("upstream:\n  "+tc.line+"\n"+apis), env(nil))
		var list Errors
		if !errors.As(err, &list) || !hasProblem(list, 2, tc.key, "between") {
			t.Errorf("%s: got %v, want up.yaml:2 %s out of bounds", tc.line, err, tc.key)
		}
	}
}

func TestListenerBoundsDefaultAndAreChecked(t *testing.T) {
	const routes = "apis:\n  a:\n    integrations:\n      m: {type: mock}\n    routes:\n      $default: {integration: m}\n"
	c, _, err := Parse("min.yaml", []byte(routes), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.SendTimeout.D() != DefaultSendTimeout || c.Server.MaxInflightBodyBytes != DefaultMaxInflightBodyBytes {
		t.Errorf("send_timeout %v, max_inflight_body_bytes %d: defaults not applied", c.Server.SendTimeout.D(), c.Server.MaxInflightBodyBytes)
	}
	c, _, err = Parse("big.yaml", []byte("server:\n  max_body_bytes: 1GiB\n"+routes), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.MaxInflightBodyBytes != 1<<30 {
		t.Errorf("max_inflight_body_bytes %d, want max_body_bytes when that is larger than the default", c.Server.MaxInflightBodyBytes)
	}
	src := "server:\n  send_timeout: 500ms\n  max_body_bytes: 10MiB\n  max_inflight_body_bytes: 1MiB\n" + routes
	_, _, err = Parse("bad.yaml", []byte(src), env(nil))
	var list Errors
	if !errors.As(err, &list) {
		t.Fatalf("want Errors, got %v", err)
	}
	if !hasProblem(list, 2, "server.send_timeout", "at least 1s") {
		t.Errorf("send_timeout under 1s not reported at its line:\n%v", list)
	}
	if !hasProblem(list, 4, "server.max_inflight_body_bytes", "at least max_body_bytes") {
		t.Errorf("max_inflight_body_bytes under max_body_bytes not reported at its line:\n%v", list)
	}
}

func TestUpstreamURLTemplatesAreCheckedForTheirShape(t *testing.T) {
	for _, tc := range []struct {
		path string
		want string // "" when valid
	}{
		{"/pets/{id}", ""},
		{"/a/{x}/b/{proxy+}", ""},
		{"/plain", ""},
		{"/a}b/{id}", "a } without its {"},
		{"/a{}b", "an empty {}"},
		{"/a/{id", "a { without its }"},
		{"/a/{x{y}}", "a { inside a {variable}"},
		{"/a%7Bb/{id}", "a { inside a {variable}"},
	} {
		src := "apis:\n  a:\n    integrations:\n      up:\n        type: http_proxy\n        url: \"http://127.0.0.1:9000" + tc.path + "\"\n    routes:\n      $default: {integration: up}\n"
		_, _, err := Parse("t.yaml", []byte(src), env(nil))
		var list Errors
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.path, err)
		case tc.want != "" && (!errors.As(err, &list) || !hasProblem(list, 6, "apis.a.integrations.up.url", tc.want)):
			t.Errorf("%s: got %v, want t.yaml:6 url %q", tc.path, err, tc.want)
		}
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

func TestAdminListenerBoundsDefaultAndAreChecked(t *testing.T) {
	const apis = "apis:\n  a:\n    integrations:\n      m: {type: mock}\n    routes:\n      $default: {integration: m}\n"
	c, _, err := Parse("a.yaml", []byte(apis), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Admin
	if a.ReadTimeout.D() != 10*time.Second || a.WriteTimeout.D() != 30*time.Second || a.IdleTimeout.D() != time.Minute || a.MaxConns != 256 {
		t.Errorf("defaults %+v", a)
	}
	for _, tc := range []struct{ line, key string }{
		{"read_timeout: 1ms", "admin.read_timeout"},
		{"write_timeout: 2h", "admin.write_timeout"},
		{"idle_timeout: 10ms", "admin.idle_timeout"},
		{"max_conns: -1", "admin.max_conns"},
		{"max_conns: 100000", "admin.max_conns"},
	} {
		_, _, err := Parse("a.yaml", []byte("admin:\n  "+tc.line+"\n"+apis), env(nil))
		var list Errors
		if !errors.As(err, &list) || !hasProblem(list, 2, tc.key, "between") {
			t.Errorf("%s: got %v, want a.yaml:2 %s out of bounds", tc.line, err, tc.key)
		}
	}
}
