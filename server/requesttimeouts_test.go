package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func timeoutsConfig(read, idle string) string {
	return fmt.Sprintf(`
server:
  read_timeout: %s
  idle_timeout: %s
apis:
  a:
    integrations:
      m: {type: mock, status: 200, body: ok}
    routes:
      $default: {integration: m}
`, read, idle)
}

// The listener keeps read_timeout and idle_timeout (requestTimeouts): it
// finds where a keep-alive request starts and ends from the connection's
// own reads and writes. Each case cuts a connection in one phase, at the
// phase's timeout and not at the other's.
func TestRequestTimeoutsFollowTheRequestsOnAKeptAliveConnection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		read, idle string
		// run drives the connection, answered once already, and returns
		// when the timed phase started.
		run      func(t *testing.T, c net.Conn, br *bufio.Reader) time.Time
		drip     string
		min, max time.Duration
	}{
		{
			name: "the second request has read_timeout from its first byte",
			read: "1s", idle: "6s",
			run: func(t *testing.T, c net.Conn, _ *bufio.Reader) time.Time {
				write(t, c, "GET /slow HTTP/1.1\r\nHost: a\r\n")
				return time.Now()
			},
			drip: "X-Drip: 1\r\n",
			min:  time.Second, max: 4 * time.Second,
		},
		{
			name: "an idle connection has idle_timeout after its answer",
			read: "1s", idle: "3s",
			run: func(*testing.T, net.Conn, *bufio.Reader) time.Time { return time.Now() },
			min: 3 * time.Second, max: 6 * time.Second,
		},
		{
			name: "a body after 100 Continue stays under its request's read_timeout",
			read: "2s", idle: "10s",
			run: func(t *testing.T, c net.Conn, br *bufio.Reader) time.Time {
				start := time.Now()
				write(t, c, "POST /slow HTTP/1.1\r\nHost: a\r\n")
				time.Sleep(1800 * time.Millisecond)
				write(t, c, "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n")
				if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
					t.Fatalf("want 100 Continue, got %q %v", line, err)
				}
				if _, err := br.ReadString('\n'); err != nil {
					t.Fatal(err)
				}
				return start
			},
			drip: "b",
			// A fresh read_timeout after the 100 Continue would cut at 3.8 s or later.
			min: 2 * time.Second, max: 3500 * time.Millisecond,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServerWith(t, timeoutsConfig(tc.read, tc.idle), "", nil)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			write(t, c, "GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
			if body := readAnswer(t, br); body != "ok" {
				t.Fatalf("first answer %q", body)
			}
			start := tc.run(t, c, br)
			cut := waitForClose(t, c, br, tc.drip, tc.max+2*time.Second)
			if d := cut.Sub(start); d < tc.min || d > tc.max {
				t.Fatalf("connection closed %v after the phase began, want between %v and %v", d.Round(10*time.Millisecond), tc.min, tc.max)
			}
		})
	}
}

// A WebSocket keeps its own deadlines (its idle_timeout, 10 minutes by
// default): the server's idle_timeout, for HTTP keep-alive, does not cut
// it after the upgrade, nor after the gateway's replies.
func TestHijackedConnectionsKeepTheirOwnDeadlines(t *testing.T) {
	t.Parallel()
	be := startEventLog(t)
	_, addr := startServerWith(t, "\nserver:\n  read_timeout: 1s\n  idle_timeout: 1s\n"+wsConfig(be.addr), "", nil)
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer c.Close()
	for i := range 2 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"action":"x"}`)); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck // bounds the test
		if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "echo:true" {
			t.Fatalf("reply %d: %q %v", i, msg, err)
		}
		time.Sleep(3 * time.Second) // three idle_timeouts, with the clock's lateness
	}
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// readAnswer reads one answer with a Content-Length and returns its body.
func readAnswer(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	n := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading an answer: %v", err)
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
			fmt.Sscan(strings.TrimSpace(v), &n)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// waitForClose sends drip every 200 ms (none when empty) and returns when
// the server closed the connection; it fails the test after limit. An
// answer before the close (the server's 408) is read and ignored.
func waitForClose(t *testing.T, c net.Conn, br *bufio.Reader, drip string, limit time.Duration) time.Time {
	t.Helper()
	end := time.Now().Add(limit)
	buf := make([]byte, 4096)
	for time.Now().Before(end) {
		if drip != "" {
			c.SetWriteDeadline(time.Now().Add(time.Second)) //nolint:errcheck // bounds the test
			if _, err := io.WriteString(c, drip); err != nil {
				return time.Now()
			}
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond)) //nolint:errcheck // bounds the test
		_, err := br.Read(buf)
		var ne net.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && ne.Timeout():
		default:
			return time.Now() // EOF or reset
		}
	}
	t.Fatalf("connection still open after %v", limit)
	return time.Time{}
}

// A TLS client that stalls in its handshake is cut at read_timeout from
// the accept: the handshake is part of the first request.
func TestAStalledTLSHandshakeIsCutAtReadTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	crt, key := newTestCA(t).issue(t, dir, "a.test", 2)
	_, addr := startServerWith(t, fmt.Sprintf(`
server:
  read_timeout: 1s
  idle_timeout: 10s
  tls:
    certs: [{cert: %q, key: %q}]
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /": {integration: m}}
`, crt, key), "", nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	write(t, c, "\x16\x03\x01\x02\x00") // a ClientHello record's header, and nothing of the record
	cut := waitForClose(t, c, bufio.NewReader(c), "", 8*time.Second)
	if d := cut.Sub(start); d < time.Second || d > 3*time.Second {
		t.Fatalf("stalled handshake closed after %v, want between read_timeout (1s) and 3s", d.Round(10*time.Millisecond))
	}
}
