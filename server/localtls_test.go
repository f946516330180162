package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// chatConfig is a WebSocket API whose Node.js handlers call @connections
// back over https; @connections takes signed calls only (a key the
// functions are not given).
const chatConfig = `
server:
  local_tls: {listen: "127.0.0.1:0", state_dir: %q}
functions:
  onconnect: {runtime: nodejs20.x, handler: app.onconnect, code_uri: testdata/chat, environment: {CHAT_DB: %q}, timeout: 10}
  sendmessage: {runtime: nodejs20.x, handler: app.sendmessage, code_uri: testdata/chat, environment: {CHAT_DB: %q}, timeout: 10}
apis:
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    management:
      credentials: [{access_key_id: AKIAOPERATOREXAMPLE1, secret_access_key: operator-secret-not-given-to-functions}]
    integrations:
      connect: {type: lambda, function: onconnect}
      send: {type: lambda, function: sendmessage}
    routes:
      "$connect": {integration: connect}
      "sendmessage": {integration: send}
`

// withoutAWSCredentials leaves the test nothing an AWS SDK would find, so
// frontdesk gives its local functions credentials of its own.
func withoutAWSCredentials(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
}

func TestNodeHandlersPostToConnectionsOverHTTPSWithTheLocalCA(t *testing.T) {
	testdeps.Require(t, "node")
	withoutAWSCredentials(t)
	state := t.TempDir()
	db := filepath.Join(t.TempDir(), "connections")
	_, base, tlsAddr := startRuntimeServer(t, fmt.Sprintf(chatConfig, state, db, db))

	caPEM, err := os.ReadFile(filepath.Join(state, "ca.pem"))
	if err != nil {
		t.Fatalf("local CA not created in state_dir: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	_, port, _ := net.SplitHostPort(tlsAddr)
	host := "chat.execute-api.localhost:" + port
	dialer := websocket.Dialer{
		// *.localhost is the loopback host; not every resolver knows it.
		NetDialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, tlsAddr)
		},
		TLSClientConfig:  &tls.Config{RootCAs: roots},
		HandshakeTimeout: 10 * time.Second,
	}
	// One client over TLS at the API's execute-api host, one over plain
	// HTTP at the listener's address: for the second, domainName names the
	// HTTPS listener's port, so the handler's https:// URL works for both.
	tlsClient, resp, err := dialer.Dial("wss://"+host+"/prod", nil)
	if err != nil {
		t.Fatalf("dial wss://%s/prod: %v (%v)", host, err, resp)
	}
	defer tlsClient.Close()
	plainURL := "ws" + strings.TrimPrefix(base, "http") + "/prod"
	plainClient, resp, err := websocket.DefaultDialer.Dial(plainURL, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", plainURL, err, resp)
	}
	defer plainClient.Close()
	clients := []*websocket.Conn{tlsClient, plainClient}

	for i, from := range clients {
		want := fmt.Sprintf("hello from %d", i)
		if err := from.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","data":"`+want+`"}`)); err != nil {
			t.Fatal(err)
		}
		for j, c := range clients {
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			if _, msg, err := c.ReadMessage(); err != nil || string(msg) != want {
				t.Fatalf("client %d got %q, %v; want %q from client %d", j, msg, err, want, i)
			}
		}
	}

	// Without a signature made with an accepted key @connections refuses,
	// so the handler's calls above were signed with what it was given.
	r := do(t, "POST", base+"/prod/@connections/anything", strings.NewReader("x"), "Host", "chat.execute-api.localhost")
	if r.status != http.StatusForbidden {
		t.Errorf("unsigned @connections call: %d %s, want 403", r.status, r.body)
	}
}

func TestLocalFunctionsGetTheCABundleAndLocalCredentials(t *testing.T) {
	testdeps.Require(t, "python3")
	withoutAWSCredentials(t)
	state := t.TempDir()
	_, base, _ := startRuntimeServer(t, fmt.Sprintf(`
server:
  local_tls: {listen: "127.0.0.1:0", state_dir: %q}
functions:
  env: {runtime: python3.12, handler: env.handler, code_uri: testdata/chat}
apis:
  web:
    type: http
    integrations: {fn: {type: lambda, function: env}}
    routes: {"GET /env": {integration: fn}}
`, state))
	r := do(t, "GET", base+"/env", nil)
	var env map[string]string
	if err := json.Unmarshal([]byte(r.body), &env); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	want := map[string]string{
		"NODE_EXTRA_CA_CERTS": filepath.Join(state, "ca.pem"),
		"AWS_CA_BUNDLE":       filepath.Join(state, "ca-bundle.pem"),
		"SSL_CERT_FILE":       filepath.Join(state, "ca-bundle.pem"),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if !strings.HasPrefix(env["AWS_ACCESS_KEY_ID"], "ASIA") || env["AWS_SECRET_ACCESS_KEY"] == "" || env["AWS_SESSION_TOKEN"] == "" {
		t.Errorf("credentials %q / %q / %q", env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"])
	}
}
