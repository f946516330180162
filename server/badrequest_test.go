package server

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
)

const mockOnly = "apis:\n  a:\n    integrations: {m: {type: mock, body: ok}}\n    routes: {$default: {integration: m}}\n"

func TestMalformedRequestsAreCountedAndTheirContentsNeverLogged(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, addr := startServerWith(t, mockOnly, "", log)
	const key, token = "k3y-IN-A-BROKEN-REQUEST-0123456789", "t0ken-IN-A-BROKEN-REQUEST"
	cases := []struct{ name, raw string }{
		{"header line without a colon", "GET / HTTP/1.1\r\nHost: a\r\nx-api-key: " + key + "\r\nAuthorization: Bearer " + token + "\r\nthis line is broken\r\n\r\n"},
		{"control character in a header value", "GET / HTTP/1.1\r\nHost: a\r\nx-api-key: " + key + "\r\nAuthorization: Bearer " + token + "\x01\r\n\r\n"},
		{"bad request line", "GET /" + key + " HTTP/1.1 junk " + token + "\r\nHost: a\r\n\r\n"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := roundTrip(t, addr, c.raw)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			want := strconv.Itoa(i + 1)
			waitFor(t, "the bad request to be counted", 5*time.Second, func() bool {
				return metric(s, "frontdesk_bad_requests_total") == want
			})
		})
	}
	// fasthttp logs a connection's error after the connection is done
	// with, just before it is closed: once none is open, every line that
	// was going to be written has been.
	waitFor(t, "the connections to close", 5*time.Second, func() bool { return s.metrics.OpenConnections().Value() == 0 })
	out := logs.String()
	for _, secret := range []string{key, token, "contents:"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	if strings.Contains(out, "level=WARN") {
		t.Errorf("a client's malformed request was logged at WARN:\n%s", out)
	}
}

func TestFasthttpLinesNeverCarryRequestData(t *testing.T) {
	var logs syncBuffer
	p := newSlogPrinter(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	const secret = "Bearer s3cret"
	p.Printf(connErrorFormat, "127.0.0.1:8080", "127.0.0.1:5000", fmt.Errorf("invalid header value %q", secret))
	// A line in a format not known to be safe: the request's URI, as
	// fasthttp's per-request logger writes it.
	p.Printf("%.3f %s - %s", 0.1, "GET /?token="+secret, "msg")
	out := logs.String()
	if strings.Contains(out, secret) {
		t.Errorf("the log holds request data:\n%s", out)
	}
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, `error="malformed request"`) {
		t.Errorf("the connection's error is not at debug with its kind:\n%s", out)
	}
}

func TestFasthttpWarningsAreLimitedToOneASecond(t *testing.T) {
	var logs syncBuffer
	p := newSlogPrinter(slog.New(slog.NewTextHandler(&logs, nil)))
	for range 100 {
		p.Printf("Timeout error when accepting new connections: %v", "timeout")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n < 1 || n > 2 {
		t.Errorf("100 warnings within a second wrote %d lines:\n%s", n, logs.String())
	}
}
