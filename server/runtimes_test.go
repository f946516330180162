package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// runtimesDir holds the handlers of the bundled runtime loops' tests.
const runtimesDir = "../lambda/host/testdata/runtimes"

// startRuntimeServer serves src on 127.0.0.1:0 (and its local_tls listener
// on another port), with a cache directory of its own, and stops it with
// its functions when the test ends.
func startRuntimeServer(t *testing.T, src string) (s *Server, base, tlsAddr string) {
	t.Helper()
	cfg, _, err := config.Parse("test.yaml", []byte(src), os.LookupEnv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s, err = New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	if cfg.Server.LocalTLS != nil {
		lln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.UseLocalTLSListener(lln)
		tlsAddr = lln.Addr().String()
	}
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	return s, "http://" + ln.Addr().String(), tlsAddr
}

// runtimeReply is what the test handlers echo back.
type runtimeReply struct {
	Runtime      string            `json:"runtime"`
	Version      *string           `json:"version"`
	Path         string            `json:"path"`
	Method       string            `json:"method"`
	Query        map[string]string `json:"query"`
	Stage        string            `json:"stage"`
	RequestID    string            `json:"requestId"`
	FunctionName string            `json:"functionName"`
	Remaining    []int64           `json:"remaining"`
	Cwd          string            `json:"cwd"`
	Env          map[string]string `json:"env"`
}

func TestSAMRuntimesServeHelloOnRESTAndHTTPRoutes(t *testing.T) {
	type fn struct{ name, runtime, program, dir, handler, want string }
	fns := []fn{
		{"py", "python3.12", "python3", "py", "app.handler", "python"},
		{"cjsasync", "nodejs20.x", "node", "cjs", "index.async", "cjs-async"},
		{"cjscallback", "nodejs20.x", "node", "cjs", "index.callback", "cjs-callback"},
		{"esmasync", "nodejs22.x", "node", "esm", "index.handler", "esm-async"},
		{"esmcallback", "nodejs22.x", "node", "esm", "index.callback", "esm-callback"},
	}
	var src strings.Builder
	src.WriteString("functions:\n")
	for _, f := range fns {
		fmt.Fprintf(&src, "  %s: {runtime: %s, handler: %s, code_uri: %s, timeout: 3, environment: {GREETING: hi}}\n",
			f.name, f.runtime, f.handler, filepath.Join(runtimesDir, f.dir))
		fmt.Fprintf(&src, "  %sslow: {runtime: %s, handler: %s, code_uri: %s, timeout: 1s}\n",
			f.name, f.runtime, f.handler, filepath.Join(runtimesDir, f.dir))
	}
	src.WriteString("apis:\n")
	for _, api := range []struct{ name, typ, stage string }{{"rest", "rest", "prod"}, {"web", "http", "v1"}} {
		fmt.Fprintf(&src, "  %s:\n    type: %s\n    base_path: /%s\n    stages: {%s: {}}\n    integrations:\n", api.name, api.typ, api.name, api.stage)
		for _, f := range fns {
			fmt.Fprintf(&src, "      %s: {type: lambda, function: %s}\n      %sslow: {type: lambda, function: %sslow}\n", f.name, f.name, f.name, f.name)
		}
		src.WriteString("    routes:\n")
		for _, f := range fns {
			fmt.Fprintf(&src, "      \"GET /%s/hello\": {integration: %s}\n      \"GET /%s/fail\": {integration: %s}\n      \"GET /%s/slow\": {integration: %sslow}\n",
				f.name, f.name, f.name, f.name, f.name, f.name)
		}
	}
	_, base, _ := startRuntimeServer(t, src.String())

	apis := []struct {
		name, stage, version      string // version "": REST events have none
		failStatus, timeoutStatus int
		failBody                  string
	}{
		{"rest", "prod", "", 502, 504, `{"message":"Internal server error"}`},
		{"web", "v1", "2.0", 500, 503, `{"message":"Internal Server Error"}`},
	}
	for _, f := range fns {
		for _, api := range apis {
			t.Run(f.name+"/"+api.name, func(t *testing.T) {
				testdeps.Require(t, f.program)
				prefix := base + "/" + api.name + "/" + api.stage + "/" + f.name
				r := do(t, "GET", prefix+"/hello?q=1", nil)
				if r.status != 200 {
					t.Fatalf("GET /hello: %d %s", r.status, r.body)
				}
				var e runtimeReply
				if err := json.Unmarshal([]byte(r.body), &e); err != nil {
					t.Fatalf("body %s: %v", r.body, err)
				}
				if e.Runtime != f.want || !versionIs(e.Version, api.version) || e.Method != "GET" ||
					!strings.HasSuffix(e.Path, "/"+f.name+"/hello") || e.Query["q"] != "1" || e.Stage != api.stage {
					t.Errorf("event as the handler saw it: %s", r.body)
				}
				if e.FunctionName != f.name || len(e.RequestID) != 36 || e.Env["GREETING"] != "hi" || e.Env["_HANDLER"] != f.handler {
					t.Errorf("context and environment: %s", r.body)
				}
				if dir, _ := filepath.Abs(filepath.Join(runtimesDir, f.dir)); e.Cwd != dir || e.Env["LAMBDA_TASK_ROOT"] != dir {
					t.Errorf("cwd %s, LAMBDA_TASK_ROOT %s, want %s", e.Cwd, e.Env["LAMBDA_TASK_ROOT"], dir)
				}
				if len(e.Remaining) != 2 || e.Remaining[0] > 3000 || e.Remaining[1] >= e.Remaining[0] || e.Remaining[1] <= 0 {
					t.Errorf("remaining time %v: want decreasing within the 3 s timeout", e.Remaining)
				}

				if r := do(t, "GET", prefix+"/fail", nil); r.status != api.failStatus || r.body != api.failBody {
					t.Errorf("handler error: %d %s, want %d %s", r.status, r.body, api.failStatus, api.failBody)
				}
				if r := do(t, "GET", prefix+"/slow", nil); r.status != api.timeoutStatus {
					t.Errorf("handler past its timeout: %d %s, want %d", r.status, r.body, api.timeoutStatus)
				}
			})
		}
	}
}

func TestProvidedRuntimeBuiltFromGoSourceServesHello(t *testing.T) {
	testdeps.Require(t, "go")
	// Inside this module, so go build finds aws-lambda-go without a network.
	dir, err := os.MkdirTemp(".", "gofn-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	main, err := os.ReadFile("../examples/functions/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), main, 0o644); err != nil {
		t.Fatal(err)
	}
	_, base, _ := startRuntimeServer(t, fmt.Sprintf(`
functions:
  hello: {runtime: provided.al2023, code_uri: %s, timeout: 10}
apis:
  web:
    type: http
    integrations: {fn: {type: lambda, function: hello}}
    routes: {"GET /hello/{name}": {integration: fn}}
`, dir))
	r := do(t, "GET", base+"/hello/ada", nil)
	if r.status != 200 || !strings.Contains(r.body, "ada") {
		t.Fatalf("GET /hello/ada: %d %s", r.status, r.body)
	}
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err == nil {
		t.Error("the build wrote into code_uri")
	}
}

// versionIs says whether an event's version field is want; "" means absent,
// as in REST API events.
func versionIs(v *string, want string) bool {
	if want == "" {
		return v == nil
	}
	return v != nil && *v == want
}
