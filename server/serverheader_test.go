package server

import (
	"testing"
)

// API Gateway sends no Server header; frontdesk sends one only when
// server.server_header names it, on its own error answers (fasthttp's,
// for a request it cannot parse) as on every other.
func TestServerHeaderIsAbsentUnlessConfigured(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"default", mockOnly, ""},
		{"configured", "server:\n  server_header: edge-gw\n" + mockOnly, "edge-gw"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startServerWith(t, tc.config, "", nil)
			for _, rc := range []struct {
				name, raw string
				status    int
			}{
				{"normal request", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 200},
				{"malformed request", "GET / HTTP/1.1\r\nHost: a\r\nthis line is broken\r\n\r\n", 400},
			} {
				resp, _ := roundTrip(t, addr, rc.raw)
				if resp.StatusCode != rc.status {
					t.Fatalf("%s: status %d, want %d", rc.name, resp.StatusCode, rc.status)
				}
				if got, ok := resp.Header["Server"]; tc.want == "" && ok || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
					t.Errorf("%s: Server header %q, want %q", rc.name, got, tc.want)
				}
			}
		})
	}
}
