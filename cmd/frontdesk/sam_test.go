package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/valyala/fasthttp"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// samdata holds SAM applications as `sam init` and aws-samples write them:
// template.yaml and the handlers' code beside it.
const samdata = "testdata/sam/"

// lockedBuffer collects a process's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveTemplate runs `frontdesk serve -c template.yaml` on the SAM app in
// dir, from another working directory (SAM reads CodeUri relative to the
// template, wherever the command runs), and returns the plain listener's
// address once it accepts connections.
func serveTemplate(t *testing.T, dir string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	template, err := filepath.Abs(filepath.Join(dir, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	addr, logs, _ := serveFile(t, template, args...)
	return addr, logs
}

// caller returns a function that sends a request to addr with headers as
// name, value pairs, and gives the answer's status, body and header.
func caller(t *testing.T, addr string) func(method, path string, headers ...string) (int, string, *fasthttp.ResponseHeader) {
	return func(method, path string, headers ...string) (int, string, *fasthttp.ResponseHeader) {
		t.Helper()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI("http://" + addr + path)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		var h fasthttp.ResponseHeader
		resp.Header.CopyTo(&h)
		return resp.StatusCode(), string(resp.Body()), &h
	}
}

// abs is path made absolute, for a frontdesk started in another directory.
func abs(t *testing.T, path string) string {
	t.Helper()
	p, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serveFile runs `frontdesk serve -c file` from a directory of its own.
func serveFile(t *testing.T, template string, args ...string) (string, *lockedBuffer, *exec.Cmd) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(binary, append([]string{"serve", "-c", template, "-listen", addr, "-admin-listen", "127.0.0.1:0", "-watch=false"}, args...)...)
	cmd.Dir = t.TempDir()
	// The local CA and the built Go functions go to the test's own
	// directories; Go keeps its usual build cache.
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir(), "GOCACHE="+strings.TrimSpace(string(gocache)))
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("frontdesk serve -c %s exited: %v\n%s", template, err, logs.String())
		default:
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, logs, cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("frontdesk serve -c %s did not start:\n%s", template, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// helloEvent is what the test handlers say of the event they were given.
type helloEvent struct {
	Message string
	Event   struct {
		Version, HTTPMethod, Path, Resource, RawPath, RouteKey, Stage, ContextPath *string
	}
}

// getHello calls addr at Host host, waiting (bounded) while a function
// that is still being built or started answers 5xx.
func getHello(t *testing.T, addr, host, path string) (int, []byte) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, err := http.NewRequest("GET", "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("GET %s at %s: %v", path, host, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 500 || time.Now().After(deadline) {
			return resp.StatusCode, b
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func str(p *string) string {
	if p == nil {
		return "<absent>"
	}
	return *p
}

// checkREST checks a payload format 1.0 event of a REST API on stage Prod.
func checkREST(t *testing.T, code int, body []byte, path string) {
	t.Helper()
	var h helloEvent
	if code != 200 || json.Unmarshal(body, &h) != nil {
		t.Fatalf("%d %s", code, body)
	}
	e := h.Event
	if str(e.HTTPMethod) != "GET" || str(e.Path) != path || str(e.Resource) != path || str(e.Stage) != "Prod" ||
		str(e.ContextPath) != "/Prod"+path || e.RawPath != nil || e.RouteKey != nil {
		t.Errorf("want a REST (1.0) event for GET %s on stage Prod, got %s", path, body)
	}
}

// checkHTTP checks a payload format 2.0 event of an HTTP API's $default stage.
func checkHTTP(t *testing.T, code int, body []byte, path string) {
	t.Helper()
	var h helloEvent
	if code != 200 || json.Unmarshal(body, &h) != nil {
		t.Fatalf("%d %s", code, body)
	}
	e := h.Event
	if str(e.Version) != "2.0" || str(e.RawPath) != path || str(e.RouteKey) != "GET "+path || str(e.Stage) != "$default" || e.HTTPMethod != nil {
		t.Errorf("want an HTTP API (2.0) event for GET %s on $default, got %s", path, body)
	}
}

// The hello-world apps of `sam init`, served from their templates: an Api
// event is a REST API route under the Prod stage (payload 1.0), an
// HttpApi event an HTTP API route (payload 2.0), each through its real
// handler, at the listener and at the API's execute-api hosts.
func TestServeSAMHelloWorldTemplates(t *testing.T) {
	cases := []struct {
		app, program, api string
		rest              bool
	}{
		{"hello-python", "python3", "ServerlessRestApi", true},
		{"hello-node", "node", "ServerlessHttpApi", false},
		{"hello-go", "go", "ServerlessRestApi", true},
	}
	for _, tc := range cases {
		t.Run(tc.app, func(t *testing.T) {
			testdeps.Require(t, tc.program)
			t.Parallel()
			addr, logs := serveTemplate(t, samdata+tc.app)
			prefix := ""
			if tc.rest {
				prefix = "/Prod"
			}
			for _, host := range []string{addr, strings.ToLower(tc.api) + ".execute-api.localhost", config.APIID(tc.api) + ".execute-api.localhost:80"} {
				code, body := getHello(t, addr, host, prefix+"/hello")
				if tc.rest {
					checkREST(t, code, body, "/hello")
				} else {
					checkHTTP(t, code, body, "/hello")
				}
				if !bytes.Contains(body, []byte(`"hello world"`)) {
					t.Errorf("at %s: %s", host, body)
				}
				if t.Failed() {
					t.Fatalf("at Host %s; frontdesk's log:\n%s", host, logs.String())
				}
			}
			if tc.app == "hello-go" && !bytes.Contains(must(getHello(t, addr, addr, "/Prod/hello")), []byte(`"param1":"VALUE"`)) {
				t.Error("the template's Environment did not reach the Go function")
			}
			if tc.rest {
				// The REST dialect: no stage, no route.
				if code, body := getHello(t, addr, addr, "/hello"); code != 403 || !strings.Contains(string(body), "Missing Authentication Token") {
					t.Errorf("GET /hello without the stage: %d %s, want 403 Missing Authentication Token", code, body)
				}
			}
		})
	}
}

func must(_ int, b []byte) []byte { return b }

// Two APIs that both live at / on AWS (an HttpApi and the implicit REST
// API), each with GET /orders: at its own execute-api host (by name or
// id) each answers its own paths through its own function.
func TestServeSAMTwoAPIsEachAtItsExecuteAPIHost(t *testing.T) {
	testdeps.Require(t, "python3")
	t.Parallel()
	addr, logs := serveTemplate(t, samdata+"two-apis")
	if want := "served at its own hosts only, serverlessrestapi.execute-api.localhost and " + config.APIID("ServerlessRestApi") + ".execute-api.localhost"; !strings.Contains(logs.String(), want) {
		t.Errorf("no warning %q in:\n%s", want, logs.String())
	}
	cases := []struct{ host, path, who string }{
		{"ordershttpapi.execute-api.localhost", "/orders", "http"},
		{config.APIID("OrdersHttpApi") + ".execute-api.localhost", "/orders", "http"},
		{"serverlessrestapi.execute-api.localhost", "/Prod/orders", "rest"},
		{config.APIID("ServerlessRestApi") + ".execute-api.localhost:8080", "/Prod/orders", "rest"},
	}
	for _, tc := range cases {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			code, body := getHello(t, addr, tc.host, tc.path)
			if tc.who == "rest" {
				checkREST(t, code, body, "/orders")
			} else {
				checkHTTP(t, code, body, "/orders")
			}
			if !bytes.Contains(body, []byte(`"message": "`+tc.who+`"`)) {
				t.Errorf("want the %s API's function, got %s", tc.who, body)
			}
			if t.Failed() {
				t.Logf("frontdesk's log:\n%s", logs.String())
			}
		})
	}
}

// simple-websockets-chat-app served from its template: onconnect,
// ondisconnect and sendmessage in Node.js, sendmessage posting to
// @connections with the AWS SDK for JavaScript v3 at
// 'https://' + domainName + '/' + stage, as the sample does. Two clients
// chat through it, one at the listener's address and one at the API's
// execute-api host.
func TestServeSAMWebSocketChatApp(t *testing.T) {
	testdeps.Require(t, "node")
	app := samdata + "chat"
	testdeps.RequireNodeModules(t, app)
	t.Parallel()
	// The file that stands in for the DynamoDB table.
	table := filepath.Join(t.TempDir(), "connections")
	addr, logs := serveTemplate(t, app, "-local-tls-listen", "127.0.0.1:0", "--parameter-overrides", "TableName="+table)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nfrontdesk's log:\n%s", append(args, logs.String())...)
	}
	dial := func(host string) *websocket.Conn {
		d := websocket.Dialer{
			// *.localhost is the loopback host; not every resolver knows it.
			NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var nd net.Dialer
				return nd.DialContext(ctx, network, addr)
			},
			HandshakeTimeout: 20 * time.Second,
		}
		c, resp, err := d.Dial("ws://"+host+"/Prod", nil)
		if err != nil {
			fail("dial ws://%s/Prod: %v (%v)", host, err, resp)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	ids := func() []string {
		b, _ := os.ReadFile(table)
		return strings.Fields(string(b))
	}
	alice := dial(addr)
	bob := dial("chatwebsocket.execute-api.localhost:" + addr[strings.LastIndexByte(addr, ':')+1:])
	if n := len(ids()); n != 2 {
		fail("onconnect recorded %d connections, want 2: %q", n, ids())
	}
	say := func(from *websocket.Conn, msg string, to ...*websocket.Conn) {
		t.Helper()
		if err := from.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"`+msg+`"}`)); err != nil {
			t.Fatal(err)
		}
		for i, c := range to {
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, got, err := c.ReadMessage(); err != nil || string(got) != msg {
				fail("client %d of %d got %q, %v; want %q", i+1, len(to), got, err, msg)
			}
		}
	}
	say(alice, "hello from alice", alice, bob)
	say(bob, "hello from bob", alice, bob)

	// ondisconnect removes alice from the table (or sendmessage does, on
	// @connections' 410 Gone, if it has not run yet): bob chats on.
	alice.Close()
	say(bob, "still here", bob)
	deadline := time.Now().Add(20 * time.Second)
	for len(ids()) != 1 {
		if time.Now().After(deadline) {
			fail("alice's connection is still in the table: %q", ids())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := ids(); slices.Contains(got, "") || len(got) != 1 {
		t.Errorf("table %q, want bob's connection only", got)
	}
	if strings.Contains(logs.String(), "Found stale connection") {
		t.Log("sendmessage met alice's closed connection before ondisconnect ran (410 Gone)")
	}
}

// -listen, -admin-listen and -local-tls-listen win over the file on every
// reload too: a reload of an unchanged file changes no listener.
func TestServeListenerFlagsHoldAcrossReloads(t *testing.T) {
	path := writeConfig(t, `
apis:
  ping:
    type: http
    integrations: {pong: {type: mock, status: 200, body: pong}}
    routes: {"GET /ping": {integration: pong}}
`)
	_, logs, cmd := serveFile(t, path, "-local-tls-listen", "127.0.0.1:0")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "msg=reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "serving HTTPS with the local CA") {
		t.Errorf("-local-tls-listen did not turn the HTTPS listener on:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "apply at the next restart") {
		t.Errorf("the reload took the flags for listener changes:\n%s", logs.String())
	}
}
