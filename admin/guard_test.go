package admin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// countingBackend records the calls that change state.
type countingBackend struct {
	fakeBackend
	reloads atomic.Int32
}

func (b *countingBackend) Reload() error { b.reloads.Add(1); return nil }

// startAdmin serves an admin listener on 127.0.0.1:0 until the test ends. A
// DELETE /cache endpoint is added the way features add theirs; it counts
// its calls in flushes.
func startAdmin(t *testing.T, token string) (addr string, b *countingBackend, flushes *atomic.Int32) {
	t.Helper()
	b = &countingBackend{}
	flushes = &atomic.Int32{}
	s := New(token, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Handle("DELETE", "/cache", func(ctx *fasthttp.RequestCtx) {
		flushes.Add(1)
		WriteJSON(ctx, 200, map[string]string{"status": "flushed"})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ln) //nolint:errcheck // ends at cleanup
	}()
	t.Cleanup(func() {
		s.Shutdown() //nolint:errcheck // the listener is ours
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("admin server did not stop")
		}
	})
	return ln.Addr().String(), b, flushes
}

// omit leaves the Host header out of a raw request.
const omit = "(none)"

// rawRequest sends one request as written, so Host, Origin and
// Sec-Fetch-Site are exactly what a browser page could make them, and
// returns the status and the decoded JSON "message" (empty when the body
// is not a JSON object with one).
func rawRequest(t *testing.T, addr, method, path, host string, headers ...string) (status int, message, contentType string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\n", method, path)
	if host != omit {
		fmt.Fprintf(&req, "Host: %s\r\n", host)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&req, "%s: %s\r\n", headers[i], headers[i+1])
	}
	req.WriteString("Content-Length: 0\r\nConnection: close\r\n\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", method, path, host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &doc) // a non-JSON body leaves message empty
	return resp.StatusCode, doc.Message, resp.Header.Get("Content-Type")
}

// guardCase is one raw request to the admin listener. host may contain
// {addr}, replaced by the listener's address, and so may origin. A refused
// request must not reach POST /reload's or DELETE /cache's handler.
type guardCase struct {
	name         string
	method, path string
	host         string
	origin       string // "" sends no Origin header
	fetchSite    string // "" sends no Sec-Fetch-Site header
	auth         string // "" sends no Authorization header
	want         int
}

func runGuardCases(t *testing.T, token string, cases []guardCase) {
	t.Helper()
	addr, b, flushes := startAdmin(t, token)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.origin != "" {
				headers = append(headers, "Origin", strings.ReplaceAll(c.origin, "{addr}", addr))
			}
			if c.fetchSite != "" {
				headers = append(headers, "Sec-Fetch-Site", c.fetchSite)
			}
			if c.auth != "" {
				headers = append(headers, "Authorization", c.auth)
			}
			reloads, flushed := b.reloads.Load(), flushes.Load()
			host := strings.ReplaceAll(c.host, "{addr}", addr)
			status, msg, ct := rawRequest(t, addr, c.method, c.path, host, headers...)
			if status != c.want {
				t.Fatalf("%s %s Host %q Origin %q Sec-Fetch-Site %q: %d %q, want %d",
					c.method, c.path, host, c.origin, c.fetchSite, status, msg, c.want)
			}
			if status >= 400 && (msg == "" || !strings.HasPrefix(ct, "application/json")) {
				t.Errorf("refusal without a JSON message: %q %q", ct, msg)
			}
			ran := b.reloads.Load() != reloads || flushes.Load() != flushed
			if status >= 400 && ran {
				t.Errorf("refused with %d, but the handler ran", status)
			}
		})
	}
}

func TestAdminWithoutTokenServesOnlyLoopbackHostsAndSameSiteRequests(t *testing.T) {
	runGuardCases(t, "", []guardCase{
		// Host names that can only reach this machine's loopback.
		{name: "loopback address with port", method: "GET", path: "/config", host: "{addr}", want: 200},
		{name: "localhost with port", method: "GET", path: "/config", host: "localhost:9901", want: 200},
		{name: "localhost without port", method: "GET", path: "/config", host: "localhost", want: 200},
		{name: "localhost in capitals", method: "GET", path: "/config", host: "LocalHost:9901", want: 200},
		{name: "other 127/8 address", method: "GET", path: "/config", host: "127.1.2.3", want: 200},
		{name: "IPv6 loopback with port", method: "GET", path: "/config", host: "[::1]:9901", want: 200},
		{name: "IPv6 loopback without port", method: "GET", path: "/config", host: "[::1]", want: 200},
		{name: "reload from a loopback host", method: "POST", path: "/reload", host: "{addr}", want: 200},

		// DNS rebinding: the browser sends the attacker's name.
		{name: "foreign name reads config", method: "GET", path: "/config", host: "evil.example", want: 421},
		{name: "foreign name with port reads connections", method: "GET", path: "/connections", host: "evil.example:9901", want: 421},
		{name: "foreign name reloads", method: "POST", path: "/reload", host: "evil.example", want: 421},
		{name: "foreign name flushes", method: "DELETE", path: "/cache", host: "evil.example", want: 421},
		{name: "foreign name health", method: "GET", path: "/healthz", host: "evil.example", want: 421},
		{name: "localhost as a subdomain", method: "GET", path: "/config", host: "localhost.evil.example", want: 421},
		{name: "loopback address as a subdomain", method: "GET", path: "/config", host: "127.0.0.1.evil.example", want: 421},
		{name: "unspecified address", method: "GET", path: "/config", host: "0.0.0.0:9901", want: 421},
		{name: "private address", method: "GET", path: "/config", host: "192.168.1.10:9901", want: 421},
		// fasthttp refuses these Host values before the guard sees them.
		{name: "IPv6 without brackets", method: "GET", path: "/config", host: "::1", want: 400},
		{name: "IPv4 in brackets", method: "GET", path: "/config", host: "[127.0.0.1]", want: 400},
		{name: "port that is not a number", method: "GET", path: "/config", host: "localhost:x", want: 400},
		{name: "empty Host", method: "GET", path: "/config", host: "", want: 400},
		{name: "no Host", method: "GET", path: "/config", host: omit, want: 400},
		{name: "absolute URI naming a foreign host", method: "GET", path: "http://evil.example/config", host: "{addr}", want: 421},

		// Cross-site browser requests, whatever the method.
		{name: "cross-site origin reloads", method: "POST", path: "/reload", host: "{addr}", origin: "http://evil.example", want: 403},
		{name: "cross-site origin flushes", method: "DELETE", path: "/cache", host: "{addr}", origin: "https://evil.example", want: 403},
		{name: "cross-site origin reads config", method: "GET", path: "/config", host: "{addr}", origin: "http://evil.example", want: 403},
		{name: "cross-site origin reads metrics", method: "GET", path: "/metrics", host: "localhost", origin: "http://evil.example:9901", want: 403},
		{name: "cross-site preflight", method: "OPTIONS", path: "/reload", host: "{addr}", origin: "http://evil.example", want: 403},
		{name: "opaque origin", method: "POST", path: "/reload", host: "{addr}", origin: "null", want: 403},
		{name: "localhost-looking origin", method: "POST", path: "/reload", host: "{addr}", origin: "http://localhost.evil.example", want: 403},
		{name: "origin with a path", method: "POST", path: "/reload", host: "{addr}", origin: "http://localhost/x", want: 403},
		{name: "Sec-Fetch-Site cross-site", method: "POST", path: "/reload", host: "{addr}", fetchSite: "cross-site", want: 403},
		{name: "Sec-Fetch-Site cross-site on a read", method: "GET", path: "/config", host: "{addr}", fetchSite: "cross-site", want: 403},
		{name: "Sec-Fetch-Site cross-site with a loopback origin", method: "POST", path: "/reload", host: "{addr}",
			origin: "http://localhost:3000", fetchSite: "cross-site", want: 403},

		// Pages served from loopback itself are same-site.
		{name: "loopback origin reloads", method: "POST", path: "/reload", host: "{addr}", origin: "http://localhost:3000", want: 200},
		{name: "same origin reloads", method: "POST", path: "/reload", host: "{addr}", origin: "http://{addr}", fetchSite: "same-origin", want: 200},
		{name: "IPv6 loopback origin", method: "GET", path: "/config", host: "[::1]:9901", origin: "http://[::1]:9901", want: 200},
		{name: "Sec-Fetch-Site none (typed in the address bar)", method: "GET", path: "/config", host: "{addr}", fetchSite: "none", want: 200},
		{name: "Sec-Fetch-Site same-site", method: "GET", path: "/config", host: "{addr}", fetchSite: "same-site", want: 200},
	})
}

func TestAdminWithTokenRefusesCrossSiteStateChanges(t *testing.T) {
	const bearer = "Bearer s3cret"
	runGuardCases(t, "s3cret", []guardCase{
		// The token is what protects the listener: any Host is served.
		{name: "foreign host with the token", method: "GET", path: "/config", host: "admin.example.com", auth: bearer, want: 200},
		{name: "foreign host reloads with the token", method: "POST", path: "/reload", host: "admin.example.com", auth: bearer, want: 200},
		{name: "no token", method: "GET", path: "/config", host: "{addr}", want: 401},
		{name: "wrong token", method: "POST", path: "/reload", host: "{addr}", auth: "Bearer nope", want: 401},
		{name: "cross-site origin without the token", method: "POST", path: "/reload", host: "{addr}", origin: "http://evil.example", want: 401},

		// State-changing methods refuse cross-site requests even with the token.
		{name: "cross-site origin reloads", method: "POST", path: "/reload", host: "{addr}", origin: "http://evil.example", auth: bearer, want: 403},
		{name: "cross-site origin flushes", method: "DELETE", path: "/cache", host: "admin.example.com", origin: "https://evil.example", auth: bearer, want: 403},
		{name: "opaque origin reloads", method: "POST", path: "/reload", host: "{addr}", origin: "null", auth: bearer, want: 403},
		{name: "Sec-Fetch-Site cross-site reloads", method: "POST", path: "/reload", host: "{addr}", fetchSite: "cross-site", auth: bearer, want: 403},
		{name: "same origin reloads", method: "POST", path: "/reload", host: "admin.example.com", origin: "https://admin.example.com", auth: bearer, want: 200},
		{name: "same origin with port reloads", method: "POST", path: "/reload", host: "admin.example.com:9901", origin: "http://Admin.example.com:9901", auth: bearer, want: 200},
		{name: "loopback origin reloads", method: "POST", path: "/reload", host: "{addr}", origin: "http://localhost:3000", auth: bearer, want: 200},
		{name: "same-site is not cross-site", method: "POST", path: "/reload", host: "{addr}", fetchSite: "same-site", auth: bearer, want: 200},

		// Reads stay governed by the token alone.
		{name: "cross-site origin reads", method: "GET", path: "/config", host: "{addr}", origin: "http://evil.example", auth: bearer, want: 200},
		{name: "Sec-Fetch-Site cross-site reads", method: "GET", path: "/metrics", host: "{addr}", fetchSite: "cross-site", auth: bearer, want: 200},
	})
}

// The guard runs before routing, so a refusal is the same for paths the
// router does not know.
func TestAdminRefusesForeignHostsBeforeRouting(t *testing.T) {
	addr, _, _ := startAdmin(t, "")
	if status, _, _ := rawRequest(t, addr, "GET", "/nowhere", "evil.example"); status != 421 {
		t.Errorf("unknown path, foreign host: %d, want 421", status)
	}
	if status, _, _ := rawRequest(t, addr, "GET", "/nowhere", "localhost"); status != 404 {
		t.Errorf("unknown path, loopback host: %d, want 404", status)
	}
}

func TestLoopbackHostNames(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:80": true, "localhost:": true, "127.0.0.1": true, "127.255.255.254:9901": true,
		"[::1]": true, "[::1]:9901": true, "[0:0:0:0:0:0:0:1]": true, "[::ffff:127.0.0.1]": true,
		"": false, ":9901": false, "localhost.": false, "localhost.evil.example": false, "sub.localhost": false,
		"127.0.0.1.evil.example": false, "127.1": false, "0x7f.0.0.1": false, "2130706433": false, "0.0.0.0": false,
		"::1": false, "[::1": false, "[::1]x": false, "[127.0.0.1]": false, "[::1%lo]": false, "[fe80::1]": false,
		"localhost:x": false, "localhost:123456": false, "localhost:80:80": false, "127.0.0.1:-1": false,
	} {
		if got := loopbackHost([]byte(host)); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// A request fasthttp cannot read is refused in JSON like every other
// admin answer.
func TestAdminUnreadableRequestsGetJSON(t *testing.T) {
	addr, _, _ := startAdmin(t, "")
	status, msg, ct := rawRequest(t, addr, "GET", "/config", "[::1")
	if status != 400 || msg == "" || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("bad Host: %d %q %q, want 400 with a JSON message", status, ct, msg)
	}

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The declared length alone is over the 1 MiB limit; no body follows.
	if _, err := io.WriteString(conn, "POST /reload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000000\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: "POST"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("body over the limit: %d %q %s, want 413 with a JSON message", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// A client that sends half a request head is cut off at the read timeout
// instead of holding an admin connection for as long as it likes.
func TestAdminCutsOffASlowClient(t *testing.T) {
	b := &countingBackend{}
	s := New("", b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.http.ReadTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)                     //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.Shutdown() }) //nolint:errcheck // the listener is ours
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // bounds the test
	buf := make([]byte, 512)
	for {
		_, err := conn.Read(buf)
		if err == nil {
			continue // an error answer may come before the close
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the slow client was still connected after 10 s")
		}
		return // closed by the server
	}
}

func TestAdminListenerHasBounds(t *testing.T) {
	s := New("", &countingBackend{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if s.http.ReadTimeout != 10*time.Second || s.http.WriteTimeout != 30*time.Second || s.http.IdleTimeout != time.Minute || s.http.Concurrency != 256 {
		t.Errorf("defaults: read %v write %v idle %v conns %d", s.http.ReadTimeout, s.http.WriteTimeout, s.http.IdleTimeout, s.http.Concurrency)
	}
	s.SetLimits(Limits{ReadTimeout: time.Second, MaxConns: 8})
	if s.http.ReadTimeout != time.Second || s.http.WriteTimeout != 30*time.Second || s.http.Concurrency != 8 {
		t.Errorf("set: read %v write %v conns %d", s.http.ReadTimeout, s.http.WriteTimeout, s.http.Concurrency)
	}
}
