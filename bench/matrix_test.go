package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
	"github.com/valyala/fasthttp"
)

func matrixScenario(t *testing.T, name string) Scenario {
	t.Helper()
	for _, s := range Scenarios() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no scenario %s", name)
	return Scenario{}
}

func TestMatrixHasEveryCellForFrontdeskAndNginx(t *testing.T) {
	var names []string
	for _, s := range Scenarios() {
		if s.Matrix == nil {
			continue
		}
		names = append(names, s.Name)
		c := *s.Matrix
		if s.Name != MatrixName(c) || s.Group != "matrix" || s.Path != MatrixPath || string(s.Proxy) != c.Gateway {
			t.Errorf("%s: cell %+v, group %q, path %q, proxy %s", s.Name, c, s.Group, s.Path, s.Proxy)
		}
		if wantRef := matrixReference; s.Name != matrixReference && s.Reference != wantRef {
			t.Errorf("%s: reference %q, want %s", s.Name, s.Reference, wantRef)
		}
		if sendsKey := len(s.Headers) == 1 && s.Headers[0].Name == "X-Api-Key" && s.Headers[0].Value == apiKey; sendsKey != (c.Plugins == MatrixKey) {
			t.Errorf("%s: headers %v: the key goes with the key cells only", s.Name, s.Headers)
		}
	}
	want := []string{
		"frontdesk-m-none-1", "frontdesk-m-rate-1", "frontdesk-m-key-1", "frontdesk-m-none-1000", "frontdesk-m-rate-1000", "frontdesk-m-key-1000",
		"nginx-m-none-1", "nginx-m-rate-1", "nginx-m-key-1", "nginx-m-none-1000", "nginx-m-rate-1000", "nginx-m-key-1000",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("matrix scenarios %v, want %v", names, want)
	}
}

func TestMatrixFrontdeskConfigsPutThePluginOnEveryRoute(t *testing.T) {
	for _, tc := range []struct {
		name   string
		routes int
		key    bool
		rate   bool
	}{
		{"frontdesk-m-none-1", 1, false, false},
		{"frontdesk-m-rate-1", 1, false, true},
		{"frontdesk-m-key-1", 1, true, false},
		{"frontdesk-m-none-1000", 1000, false, false},
		{"frontdesk-m-rate-1000", 1000, false, true},
		{"frontdesk-m-key-1000", 1000, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := matrixScenario(t, tc.name)
			text, err := FrontdeskConfig(s, ConfigData{Upstream: "127.0.0.1:9", Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			cfg, warnings, err := config.Parse(tc.name+".yaml", []byte(text), func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatalf("config does not load: %v", err)
			}
			// frontdesk validate prints these; a "not yet supported" one
			// would leave the cell not measured.
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			// The rest of what frontdesk validate checks.
			if _, err := gateway.Compile(cfg, gateway.Deps{}); err != nil {
				t.Errorf("config does not compile: %v", err)
			}
			routes := cfg.APIs["bench"].Routes
			if len(routes) != tc.routes {
				t.Fatalf("%d routes, want %d", len(routes), tc.routes)
			}
			loaded := "GET " + MatrixPath
			if routes[loaded] == nil {
				t.Fatalf("the loaded route %s is not in the config", loaded)
			}
			if tc.routes > 1 && strings.Index(text, `"`+loaded+`"`) <= strings.Index(text, `"GET `+routePath(0)+`"`) {
				t.Errorf("the loaded route comes first among the %d", tc.routes)
			}
			for key, r := range routes {
				if r.APIKey != tc.key {
					t.Errorf("%s: api_key %v, want %v", key, r.APIKey, tc.key)
				}
				switch {
				case !tc.rate && r.Throttle != nil:
					t.Errorf("%s: throttle %+v, want none", key, r.Throttle)
				case tc.rate && (r.Throttle == nil || r.Throttle.Per != config.PerClientIP || r.Throttle.Rate < matrixRate || r.Throttle.Burst < matrixRate):
					t.Errorf("%s: throttle %+v, want one per client address that never refuses", key, r.Throttle)
				}
			}
			if tc.key && (len(cfg.APIKeys) != 1 || cfg.APIKeys[0].Value != apiKey) {
				t.Errorf("api keys %+v, want the one the load sends", cfg.APIKeys)
			}
		})
	}
}

func TestNginxScenarioConfigsValidate(t *testing.T) {
	dir := t.TempDir()
	cert, err := WriteCertificate(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]struct {
		want      []string
		not       []string
		locations int // `location = ` blocks; 0: `location /`
	}{
		"nginx":             {want: []string{"location / {"}, not: []string{"limit_req", "map ", "proxy_cache"}},
		"nginx-cache-hit":   {want: []string{"proxy_cache_path " + dir + "/nginx-cache-hit/nginx-cache ", "proxy_cache bench;", "proxy_cache_valid 200 300s;", "add_header X-Cache-Status $upstream_cache_status;"}},
		"nginx-m-none-1":    {locations: 1, not: []string{"limit_req", "map ", "location / {"}},
		"nginx-m-rate-1":    {locations: 1, want: []string{"limit_req_zone $binary_remote_addr zone=bench_rate:1m rate=1000000r/s;", "limit_req zone=bench_rate burst=1000000 nodelay;"}},
		"nginx-m-key-1":     {locations: 1, want: []string{"map $http_x_api_key $bench_key_ok {", `"` + apiKey + `" 1;`, "if ($bench_key_ok = 0) {", "return 401;"}},
		"nginx-m-none-1000": {locations: 1000, not: []string{"limit_req", "map "}},
		"nginx-m-rate-1000": {locations: 1000, want: []string{"limit_req zone=bench_rate"}},
		"nginx-m-key-1000":  {locations: 1000, want: []string{"map $http_x_api_key"}},
	}
	var nginx string
	for _, s := range Scenarios() {
		if s.Proxy != Nginx {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			sdir := filepath.Join(dir, s.Name)
			if err := os.MkdirAll(sdir, 0o755); err != nil {
				t.Fatal(err)
			}
			conf, err := nginxScenarioConf(s, sdir, "127.0.0.1:18080", "127.0.0.1:19000", cert)
			if err != nil {
				t.Fatal(err)
			}
			c := checks[s.Name]
			for _, w := range c.want {
				if !strings.Contains(conf, w) {
					t.Errorf("config lacks %q", w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(conf, n) {
					t.Errorf("config has %q", n)
				}
			}
			if got := strings.Count(conf, "location = "); got != c.locations {
				t.Errorf("%d exact locations, want %d", got, c.locations)
			}
			if c.locations > 0 && strings.Count(conf, "proxy_pass http://backend;") != c.locations {
				t.Errorf("not every location proxies")
			}
			if nginx == "" {
				nginx = testdeps.Require(t, "nginx")
			}
			path := filepath.Join(sdir, "nginx.conf")
			if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(nginx, "-t", "-q", "-p", sdir+"/", "-c", path, "-e", filepath.Join(sdir, "err.log")).CombinedOutput(); err != nil {
				t.Errorf("nginx -t: %v\n%s", err, out)
			}
		})
	}
}

// TestNginxMatrixCellsServeTheirRoutes starts nginx with each matrix
// cell's config: the loaded route answers with the cell's headers, a key
// cell refuses a request without the key, and the other routes are there
// too (or, with one route, nothing else is).
func TestNginxMatrixCellsServeTheirRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nginx")
	}
	nginx := testdeps.Require(t, "nginx")
	upstream, _ := countingUpstream(t)
	s := &suite{opt: Options{Tools: Tools{Nginx: nginx}}}
	client := &fasthttp.Client{}
	get := func(addr, path string, withKey bool) int {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		if withKey {
			req.Header.Set("X-Api-Key", apiKey)
		}
		if err := client.DoTimeout(req, resp, 2*time.Second); err != nil {
			t.Errorf("GET %s: %v", path, err)
			return 0
		}
		return resp.StatusCode()
	}
	for _, sc := range Scenarios() {
		if sc.Matrix == nil || sc.Proxy != Nginx {
			continue
		}
		t.Run(sc.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c, addr, err := s.startNginx(ctx, t.TempDir(), sc, upstream)
			if err != nil {
				t.Fatal(err)
			}
			defer c.stop(5 * time.Second)
			if err := probe(ctx, addr, sc, c, nil); err != nil {
				t.Fatal(err)
			}
			key := sc.Matrix.Plugins == MatrixKey
			if key {
				if got := get(addr, MatrixPath, false); got != 401 {
					t.Errorf("without the key: %d, want 401", got)
				}
			}
			wantOther := 200
			if sc.Matrix.Routes == 1 {
				wantOther = 404
			}
			if got := get(addr, routePath(0), key); got != wantOther {
				t.Errorf("GET %s: %d, want %d", routePath(0), got, wantOther)
			}
		})
	}
}

// matrixResult is a measured (or failed) matrix cell for report tests.
func matrixResult(gw ProxyKind, plugins string, routes int, cpu float64) ScenarioResult {
	c := MatrixCell{Gateway: string(gw), Plugins: plugins, Routes: routes}
	if cpu == 0 {
		return ScenarioResult{Name: MatrixName(c), Proxy: gw, Group: "matrix", Status: Failed, Matrix: &c}
	}
	s := result(MatrixName(c), gw, "matrix", []float64{cpu}, 0.01)
	s.Matrix = &c
	return s
}

func TestMatrixTableAndVerdict(t *testing.T) {
	r := &Report{
		Settings: Settings{Rounds: 1, DurationS: 3, Conns: 64},
		Scenarios: []ScenarioResult{
			result("nginx", Nginx, "small", []float64{17}, 0.01),
			matrixResult(Frontdesk, MatrixNone, 1, 15.2),
			matrixResult(Frontdesk, MatrixRate, 1, 18.7),
			matrixResult(Nginx, MatrixNone, 1, 16),
			matrixResult(Nginx, MatrixRate, 1, 17),
			matrixResult(Nginx, MatrixKey, 1, 16.5),
			matrixResult(Nginx, MatrixNone, 1000, 16.2),
			matrixResult(Nginx, MatrixRate, 1000, 0),
		},
	}
	r.Scenario("nginx-m-key-1").Median.OtherCPU = 0.6
	want := [][]string{
		{"gateway", "no plugins, 1 route", "rate limit, 1 route", "key auth, 1 route", "no plugins, 1,000 routes", "rate limit, 1,000 routes", "key auth, 1,000 routes"},
		{"frontdesk", "15.20 (0.95×)", "18.70 (1.17×)", "not run", "not run", "not run", "not run"},
		{"nginx", "16.00 (1.00×)", "17.00 (1.06×)", "16.50 (1.03×) †", "16.20 (1.01×)", "failed", "not run"},
	}
	if got := r.MatrixRows(); !reflect.DeepEqual(got, want) {
		t.Errorf("matrix rows\n got %q\nwant %q", got, want)
	}
	verdict := r.MakeVerdict()
	for _, w := range []string{"In the vendor matrix frontdesk spent less CPU per request than nginx in 1 of 2 cells (frontdesk ÷ nginx: no plugins, 1 route 0.95×; rate limit, 1 route 1.10×)."} {
		if !strings.Contains(verdict, w) {
			t.Errorf("verdict lacks %q:\n%s", w, verdict)
		}
	}
	// Cells doing different work are not ranked against each other.
	if strings.Contains(verdict, "was the cheapest") {
		t.Errorf("verdict ranks the matrix's cells as one group:\n%s", verdict)
	}
	md := r.Markdown()
	for _, w := range []string{"## Vendor matrix", "| gateway | no plugins, 1 route | rate limit, 1 route |", "|---|---|---|---|---|---|---|\n| frontdesk | 15.20 (0.95×) | 18.70 (1.17×) | not run |"} {
		if !strings.Contains(md, w) {
			t.Errorf("markdown lacks %q:\n%s", w, md)
		}
	}
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Vendor matrix (CPU µs/req, and × nginx-m-none-1; †: median round under other load):") || !strings.Contains(b.String(), "18.70 (1.17×)") {
		t.Errorf("terminal table lacks the matrix:\n%s", b.String())
	}

	// Without the reference cell the ratios are not taken; without any
	// cell there is no matrix at all.
	r.Scenarios = r.Scenarios[:3]
	if got := r.MatrixRows(); len(got) != 2 || got[1][1] != "15.20 (—)" {
		t.Errorf("rows without the reference: %q", got)
	}
	r.Scenarios = r.Scenarios[:1]
	if r.MatrixRows() != nil || strings.Contains(r.Markdown(), "Vendor matrix") || r.matrixVerdict() != "" {
		t.Error("a run without the matrix shows one")
	}
}

func TestCacheHitTableSetsTheCachesSideBySide(t *testing.T) {
	hit := func(name string, proxy ProxyKind, cpu, backend float64) ScenarioResult {
		s := result(name, proxy, "memory", []float64{cpu}, 0.01)
		s.Median.BackendCPUUsPerReq = backend
		return s
	}
	r := &Report{Scenarios: []ScenarioResult{
		result("nginx", Nginx, "small", []float64{20}, 0.01),
		hit("frontdesk-cache-hit", Frontdesk, 8, 0.1),
		hit("nginx-cache-hit", Nginx, 10, 0),
		hit("varnish-cache-hit", Varnish, 12, 0.02),
		hit("frontdesk-mock", Frontdesk, 7, 0),
	}}
	want := [][]string{
		{"cache", "CPU µs/req", "backend CPU µs/req", "× nginx (proxy)", "× frontdesk-cache-hit", "× nginx-cache-hit", "× varnish-cache-hit"},
		{"frontdesk-cache-hit", "8.00", "0.10", "0.40×", "1.00×", "0.80×", "0.67×"},
		{"nginx-cache-hit", "10.00", "0.00", "0.50×", "1.25×", "1.00×", "0.83×"},
		{"varnish-cache-hit", "12.00", "0.02", "0.60×", "1.50×", "1.20×", "1.00×"},
	}
	if got := r.cacheHitRows(); !reflect.DeepEqual(got, want) {
		t.Errorf("cache rows\n got %q\nwant %q", got, want)
	}
	if md := r.Markdown(); !strings.Contains(md, "## Cache hits") || !strings.Contains(md, "| varnish-cache-hit | 12.00 | 0.02 | 0.60× | 1.50× | 1.20× | 1.00× |") {
		t.Errorf("markdown lacks the cache table:\n%s", md)
	}
	// The caches run in the memory group beside the mock: the verdict
	// ranks them all.
	if v := r.MakeVerdict(); !strings.Contains(v, "frontdesk-mock was the cheapest per request at 7.00 µs of CPU, 12% below frontdesk-cache-hit (8.00 µs); then nginx-cache-hit 1.43×, varnish-cache-hit 1.71×") {
		t.Errorf("verdict:\n%s", v)
	}
	r.Scenarios = r.Scenarios[:2]
	if r.cacheHitRows() != nil {
		t.Error("one cache alone is set beside nobody")
	}
}

func TestDefaultTimeLimitKeepsAFullRunsWindowsMeaningful(t *testing.T) {
	opt := Options{Rounds: 3, Warmup: time.Second, Duration: 8 * time.Second, TimeLimit: DefaultTimeLimit,
		Alternations: DefaultAlternations, Slice: DefaultSlice, Scenarios: Scenarios()}
	n := len(Scenarios())
	if d, _ := fitDuration(opt, n); d < MeaningfulWindow {
		t.Errorf("a default run of all %d scenarios gets %s windows under the %s limit, want at least %s: raise DefaultTimeLimit",
			n, d, DefaultTimeLimit, MeaningfulWindow)
	}
}
