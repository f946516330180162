package attack

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// adminDo sends one request to the admin listener with the given Host,
// Origin and Authorization (empty: not sent).
func adminDo(addr, method, path, host, origin, auth string) outcome {
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	if origin != "" {
		b.WriteString("Origin: " + origin + "\r\n")
	}
	if auth != "" {
		b.WriteString("Authorization: " + auth + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\nConnection: close\r\n\r\n")
	return roundTrip(addr, b.String(), 10*time.Second)
}

func TestAdmin(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{})
	const class = "admin"
	_, port, _ := net.SplitHostPort(f.fd.Admin)
	reloads := func() float64 { return f.fd.metric("frontdesk_config_reloads_total") }

	for _, c := range []struct {
		name, method, path, host, origin string
		want                             int
	}{
		{"loopback Host served", "GET", "/metrics", "127.0.0.1:" + port, "", 200},
		{"localhost Host served", "GET", "/healthz", "localhost:" + port, "", 200},
		{"IPv6 loopback Host served", "GET", "/healthz", "[::1]:" + port, "", 200},
		{"same Origin served", "GET", "/healthz", "127.0.0.1:" + port, "http://127.0.0.1:" + port, 200},
		// A foreign Host is 421 Misdirected Request (docs/config.md, admin).
		{"foreign Host refused", "GET", "/metrics", "evil.example", "", 421},
		{"foreign Host with the admin port refused", "GET", "/config", "evil.example:" + port, "", 421},
		{"rebinding Host refused", "GET", "/config", "127.0.0.1.evil.example:" + port, "", 421},
		{"cross-origin Origin refused", "GET", "/config", "127.0.0.1:" + port, "http://evil.example", 403},
		{"null Origin refused", "GET", "/config", "127.0.0.1:" + port, "null", 403},
		{"cross-origin reload refused", "POST", "/reload", "127.0.0.1:" + port, "http://evil.example", 403},
		{"foreign Host reload refused", "POST", "/reload", "evil.example", "", 421},
	} {
		f.run(t, class, c.name, func(t *testing.T) {
			before := reloads()
			out := adminDo(f.fd.Admin, c.method, c.path, c.host, c.origin, "")
			if out.status() != c.want {
				t.Errorf("want %d, got %s", c.want, out)
			}
			if c.want != 200 && reloads() != before {
				t.Errorf("a refused request reloaded the config")
			}
		})
	}

	f.run(t, class, "data plane never serves admin paths", func(t *testing.T) {
		before := reloads()
		for _, p := range []struct{ method, path string }{
			{"GET", "/metrics"}, {"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/config"}, {"GET", "/routes"},
			{"GET", "/usage"}, {"GET", "/cache/stats"}, {"GET", "/connections"}, {"POST", "/reload"}, {"DELETE", "/cache"},
		} {
			out := adminDo(f.fd.Addr, p.method, p.path, "127.0.0.1", "", "")
			if out.status() != 404 || !bytes.Contains(out.Replies[0].Body, []byte(`"Not Found"`)) {
				t.Errorf("%s %s on the data plane: want the API's 404, got %s", p.method, p.path, out)
			}
			for _, marker := range []string{"go_goroutines", "frontdesk_requests_total", "apis:", `"status"`, "api_keys"} {
				if len(out.Replies) > 0 && bytes.Contains(out.Replies[0].Body, []byte(marker)) {
					t.Errorf("%s %s on the data plane answered with admin content (%s)", p.method, p.path, marker)
				}
			}
		}
		if reloads() != before {
			t.Errorf("POST /reload on the data plane reloaded the config")
		}
	})

	g := newFixture(t, options{adminToken: adminToken})
	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"token missing", "", 401},
		{"token wrong", "Bearer " + adminToken + "x", 401},
		{"token without Bearer", adminToken, 401},
		{"token right", "Bearer " + adminToken, 200},
	} {
		g.run(t, class, "with admin.token: "+c.name, func(t *testing.T) {
			out := adminDo(g.fd.Admin, "GET", "/config", "127.0.0.1", "", c.auth)
			if out.status() != c.want {
				t.Errorf("want %d, got %s", c.want, out)
			}
			if c.want != 200 && len(out.Replies) > 0 && bytes.Contains(out.Replies[0].Body, []byte("apis")) {
				t.Errorf("the refusal leaked the config")
			}
		})
	}
	g.run(t, class, "with admin.token: the token is not in the config dump", func(t *testing.T) {
		st, body, err := adminGet(g.fd.Admin, "/config", map[string]string{"Authorization": "Bearer " + adminToken})
		if err != nil || st != http.StatusOK {
			t.Fatalf("GET /config: %d %v", st, err)
		}
		for _, s := range []string{adminToken, apiKey, sigv4Secret} {
			if bytes.Contains(body, []byte(s)) {
				t.Errorf("/config shows a secret: %s…", s[:8])
			}
		}
	})
}
