package admin_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/servertest"
	"github.com/frontdeskgw/frontdesk/server"
)

// startWithAdmin serves src with its admin listener, both on 127.0.0.1:0,
// and returns the server and the two base URLs.
func startWithAdmin(t *testing.T, src string) (s *server.Server, data, adm string) {
	t.Helper()
	cfg, _, err := config.Parse("test.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	in := servertest.Start(t, cfg)
	return in.Server, in.Data, in.Admin
}

func send(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The admin endpoints live on their own listener only: on the data-plane
// listener their paths are ordinary request paths, answered by the API's
// routes (404 when none matches), and nothing is reloaded or disclosed.
func TestDataPlaneListenerDoesNotServeAdminPaths(t *testing.T) {
	adminPaths := []struct{ method, path string }{
		{"POST", "/reload"}, {"GET", "/metrics"}, {"GET", "/config"}, {"GET", "/routes"},
		{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/usage"}, {"GET", "/cache/stats"},
		{"DELETE", "/cache"}, {"GET", "/connections"},
		{"GET", "/console/"}, {"GET", "/console/console.js"}, {"GET", "/stats/routes"}, {"GET", "/reload/last"},
	}
	cases := []struct {
		name       string
		routes     string
		wantStatus int
		wantBody   string
	}{
		{"no route matches: the API's 404", `"GET /ping": {integration: ping}`, 404, `{"message":"Not Found"}`},
		{"a catch-all route answers them", `"$default": {integration: ping}`, 200, `{"pong":true}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, data, adm := startWithAdmin(t, `
apis:
  a:
    integrations:
      ping: {type: mock, status: 200, body: '{"pong":true}'}
    routes:
      `+c.routes+`
`)
			for _, p := range adminPaths {
				status, body := send(t, p.method, data+p.path)
				if status != c.wantStatus || strings.TrimSpace(body) != c.wantBody {
					t.Errorf("data plane %s %s: %d %q, want %d %q", p.method, p.path, status, body, c.wantStatus, c.wantBody)
				}
			}
			if n := s.Reloads(); n != 0 {
				t.Errorf("POST /reload on the data plane reloaded %d times", n)
			}
			// The admin listener itself is up and serves them.
			if status, body := send(t, "GET", adm+"/metrics"); status != 200 || !strings.Contains(body, "frontdesk_") {
				t.Errorf("admin /metrics: %d %.80q", status, body)
			}
		})
	}
}
