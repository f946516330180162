package admin_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const consoleToken = "console-admin-token"

func get(t *testing.T, url, auth string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// The console's page, assets and JSON are admin endpoints: the token (as a
// bearer, or as a browser's Basic password) opens them, nothing else does,
// and a browser is asked for Basic credentials only on the console's paths.
func TestConsoleNeedsTheAdminToken(t *testing.T) {
	_, data, adm := startWithAdmin(t, `
admin: {token: `+consoleToken+`}
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /ping": {integration: m}}
`)
	paths := []string{"/console", "/console/", "/console/console.js", "/console/vendor/uPlot.iife.min.js", "/stats/routes", "/reload/last"}
	cases := []struct {
		name       string
		auth       string
		wantStatus int
	}{
		{"no credentials", "", 401},
		{"wrong bearer", "Bearer nope", 401},
		{"wrong basic password", basic("admin", "nope"), 401},
		{"token as the basic user name", basic(consoleToken, ""), 401},
		{"malformed basic", "Basic %%%", 401},
		{"bearer token", "Bearer " + consoleToken, 200},
		{"basic with the token as password", basic("anyone", consoleToken), 200},
	}
	for _, c := range cases {
		for _, p := range paths {
			status, h, _ := get(t, adm+p, c.auth)
			if status != c.wantStatus {
				t.Errorf("%s: GET %s: %d, want %d", c.name, p, status, c.wantStatus)
			}
			if status == 401 {
				challenges := strings.Join(h.Values("WWW-Authenticate"), ", ")
				wantBasic := strings.HasPrefix(p, "/console")
				if strings.Contains(challenges, "Basic") != wantBasic {
					t.Errorf("%s: GET %s: challenges %q, Basic wanted: %v", c.name, p, challenges, wantBasic)
				}
			}
		}
	}
	// Not on the data plane, with or without the token.
	for _, p := range paths {
		if status, _, _ := get(t, data+p, "Bearer "+consoleToken); status != 404 {
			t.Errorf("data plane GET %s: %d, want 404", p, status)
		}
	}
}

func TestConsoleServesItsPageAndRouteStats(t *testing.T) {
	_, data, adm := startWithAdmin(t, `
admin: {token: `+consoleToken+`}
apis:
  a:
    integrations: {m: {type: mock, body: ok}, e: {type: mock, status: 503, body: down}}
    routes: {"GET /ping": {integration: m}, "GET /down": {integration: e}}
`)
	auth := "Bearer " + consoleToken
	status, h, body := get(t, adm+"/console/", auth)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "vendor/uPlot.iife.min.js") {
		t.Fatalf("GET /console/: %d %s %.200q", status, h.Get("Content-Type"), body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if status, _, _ := get(t, adm+"/console/nothing.js", auth); status != 404 {
		t.Errorf("unknown asset: %d", status)
	}
	for range 3 {
		get(t, data+"/ping", "")
	}
	get(t, data+"/down", "")
	status, _, body = get(t, adm+"/stats/routes", auth)
	if status != 200 {
		t.Fatalf("/stats/routes: %d %s", status, body)
	}
	var st struct {
		Bounds []float64 `json:"bounds"`
		Routes []struct {
			API, Stage, Route string
			Requests          map[string]uint64
			Count             uint64
			Buckets           []uint64
		} `json:"routes"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]uint64{}
	for _, r := range st.Routes {
		got[r.Route] = r.Requests
		if len(r.Buckets) != len(st.Bounds)+1 || r.Buckets[len(r.Buckets)-1] != r.Count {
			t.Errorf("%s: %d buckets for %d bounds, last %v, count %d", r.Route, len(r.Buckets), len(st.Bounds), r.Buckets, r.Count)
		}
	}
	if got["GET /ping"]["2xx"] != 3 || got["GET /down"]["5xx"] != 1 {
		t.Errorf("route stats: %v\n%s", got, body)
	}
	if len(st.Bounds) == 0 {
		t.Errorf("no histogram bounds: %s", body)
	}
}
