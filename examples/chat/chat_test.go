package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"
	fdconfig "github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/browsertest"
	"github.com/frontdeskgw/frontdesk/internal/redistest"
	fdserver "github.com/frontdeskgw/frontdesk/server"
	"github.com/frontdeskgw/frontdesk/wsbridge"
)

// stack is the example running end to end over TCP on 127.0.0.1: the chat
// backend, and frontdesk serving the chat WebSocket API in front of it
// (/prod upgrades, /prod/@connections/{id} management).
type stack struct {
	gatewayAddr string
	backendURL  string
	chat        *server
	bridge      *wsbridge.Bridge
}

func startStack(t *testing.T, signed bool) *stack {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{gatewayAddr: ln.Addr().String()}
	cfg := config{ConnectionsURL: "http://" + st.gatewayAddr + "/prod/@connections", WebSocketURL: "ws://" + st.gatewayAddr + "/prod"}
	management := "{}"
	if signed {
		cfg.AccessKeyID, cfg.SecretKey, cfg.Region = "AKIDCHAT", "chat-secret", "eu-west-3"
		management = `{credentials: [{access_key_id: AKIDCHAT, secret_access_key: chat-secret}]}`
	}
	st.chat, err = newServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(st.chat.handler())
	t.Cleanup(backend.Close)
	st.backendURL = backend.URL

	src := fmt.Sprintf(`
apis:
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    management: %s
    integrations:
      chat-backend: {type: http, url: "%s/events", timeout: 5s}
    routes:
      "$connect": {integration: chat-backend}
      "$disconnect": {integration: chat-backend}
      "sendmessage": {integration: chat-backend}
      "$default": {integration: chat-backend, reply: true}
`, management, backend.URL)
	fc, _, err := fdconfig.Parse("chat.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := fdserver.New(fc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	gw.UseListener(ln)
	go func() { _ = gw.Serve() }()
	st.bridge = gw.Bridge("chat")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Shutdown(ctx)
	})
	return st
}

func (st *stack) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+st.gatewayAddr+"/prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (st *stack) waitConnections(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for st.chat.connectionCount() != n || st.bridge.Stats().OpenConnections != int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("chat knows %d connections, bridge has %d; want %d", st.chat.connectionCount(), st.bridge.Stats().OpenConnections, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(msg)
}

func TestChatBroadcastsToEveryone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signed bool
	}{
		{"loopback, unsigned", false},
		{"SigV4-signed @connections", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := startStack(t, tc.signed)
			alice, bob := st.dial(t), st.dial(t)
			st.waitConnections(t, 2)
			if err := alice.WriteJSON(map[string]string{"action": "sendmessage", "data": "hello, everyone"}); err != nil {
				t.Fatal(err)
			}
			for name, c := range map[string]*websocket.Conn{"alice": alice, "bob": bob} {
				if got := read(t, c); got != "hello, everyone" {
					t.Fatalf("%s got %q", name, got)
				}
			}
		})
	}
}

func TestChatUnknownMessageGetsReplyOnlyToSender(t *testing.T) {
	st := startStack(t, false)
	alice, bob := st.dial(t), st.dial(t)
	st.waitConnections(t, 2)
	_ = alice.WriteMessage(websocket.TextMessage, []byte("just text"))
	if got := read(t, alice); !strings.Contains(got, "unknown message") {
		t.Fatalf("alice got %q", got)
	}
	_ = bob.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, msg, err := bob.ReadMessage(); err == nil {
		t.Fatalf("bob got %q, want nothing", msg)
	}
}

func TestChatForgetsClosedConnections(t *testing.T) {
	st := startStack(t, false)
	alice, bob := st.dial(t), st.dial(t)
	st.waitConnections(t, 2)
	_ = bob.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	st.waitConnections(t, 1)
	_ = alice.WriteJSON(map[string]string{"action": "sendmessage", "data": "anyone?"})
	if got := read(t, alice); got != "anyone?" {
		t.Fatalf("alice got %q", got)
	}
}

func TestChatPageUsesDefaultWebSocketURL(t *testing.T) {
	st := startStack(t, false)
	resp, err := http.Get(st.backendURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `data-ws="ws://`+st.gatewayAddr+`/prod"`) {
		t.Fatalf("status %d, page:\n%s", resp.StatusCode, body)
	}
}

// TestChatInBrowser drives two headless Chromium pages that talk through
// the bridge. It needs /usr/bin/chromium (Debian: apt-get install chromium).
func TestChatInBrowser(t *testing.T) {
	browser := browsertest.New(t)
	st := startStack(t, false)

	page := st.backendURL + "/?ws=" + "ws://" + st.gatewayAddr + "/prod"
	if err := chromedp.Do(browser, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#status.connected"))); err != nil {
		t.Fatalf("first page: %v", err)
	}
	second, cancelSecond := chromedp.NewContext(browser)
	defer cancelSecond()
	if err := chromedp.Do(second, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#status.connected"))); err != nil {
		t.Fatalf("second page: %v", err)
	}
	st.waitConnections(t, 2)

	if err := chromedp.Do(browser,
		chromedp.SendKeys(chromedp.CSS("#msg"), "hi from the first tab"),
		chromedp.Click(chromedp.CSS("#send")),
	); err != nil {
		t.Fatal(err)
	}
	for name, tab := range map[string]context.Context{"second": second, "first": browser} {
		if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS("#log li"))); err != nil {
			t.Fatalf("%s tab never showed a message: %v", name, err)
		}
		log, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("#log")))
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(log) != "hi from the first tab" {
			t.Fatalf("%s tab shows %q", name, log)
		}
	}
}

// TestChatClusterInBrowserAcrossTwoInstances is make chat-cluster driven by
// a browser: redis-server, two frontdesk instances on
// frontdesk-cluster.yaml and the chat backend; a page on each instance.
// The backend makes every @connections call on instance 1, so what reaches
// the page on instance 2 went through Redis to the instance holding it.
// It needs chromium and redis-server.
func TestChatClusterInBrowserAcrossTwoInstances(t *testing.T) {
	browser := browsertest.New(t)
	r := redistest.Start(t)
	src, err := os.ReadFile("frontdesk-cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lns [2]net.Listener
	for i := range lns {
		if lns[i], err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	first := lns[0].Addr().String()
	chat, err := newServer(config{ConnectionsURL: "http://" + first + "/prod/@connections", WebSocketURL: "ws://" + first + "/prod"})
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(chat.handler())
	t.Cleanup(backend.Close)
	_, redisPort, _ := net.SplitHostPort(r.Addr())
	_, chatPort, _ := net.SplitHostPort(strings.TrimPrefix(backend.URL, "http://"))

	var gws [2]*fdserver.Server
	for i, ln := range lns {
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		env := map[string]string{"REDIS_PORT": redisPort, "PORT": port, "CHAT_PORT": chatPort}
		fc, _, err := fdconfig.Parse("frontdesk-cluster.yaml", src, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		gw, err := fdserver.New(fc, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		gw.UseListener(ln)
		go func() { _ = gw.Serve() }()
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = gw.Shutdown(ctx)
		})
		gws[i] = gw
	}
	for deadline := time.Now().Add(10 * time.Second); gws[0].ClusterState() != "redis up" || gws[1].ClusterState() != "redis up"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("instances never reached redis: %q, %q", gws[0].ClusterState(), gws[1].ClusterState())
		}
	}

	// The first tab is the browser's own (running it starts Chromium); the
	// second a new tab in it, made once Chromium runs.
	tabs := []context.Context{browser, nil}
	for i, ln := range lns {
		if i == 1 {
			second, cancelSecond := chromedp.NewContext(browser)
			defer cancelSecond()
			tabs[1] = second
		}
		tab := tabs[i]
		page := backend.URL + "/?ws=ws://" + ln.Addr().String() + "/prod"
		if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS("#status.connected"))); err != nil {
			t.Fatalf("page on instance %d: %v", i+1, err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); chat.connectionCount() != 2 ||
		gws[0].Bridge("chat").Stats().OpenConnections != 1 || gws[1].Bridge("chat").Stats().OpenConnections != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("chat knows %d connections; instances hold %d and %d, want one each", chat.connectionCount(),
				gws[0].Bridge("chat").Stats().OpenConnections, gws[1].Bridge("chat").Stats().OpenConnections)
		}
	}

	// Each tab types a message; both tabs show both, in order.
	for i, text := range []string{"hi from the tab on instance 1", "hi from the tab on instance 2"} {
		if err := chromedp.Do(tabs[i], chromedp.SendKeys(chromedp.CSS("#msg"), text), chromedp.Click(chromedp.CSS("#send"))); err != nil {
			t.Fatal(err)
		}
		for j, tab := range tabs {
			sel := fmt.Sprintf("#log li:nth-child(%d)", i+1)
			if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
				t.Fatalf("tab on instance %d never showed message %d: %v", j+1, i+1, err)
			}
			got, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(got) != text {
				t.Fatalf("tab on instance %d shows %q as message %d, want %q", j+1, got, i+1, text)
			}
		}
	}
}
