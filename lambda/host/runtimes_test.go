package host

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/testdeps"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// runtimeFunction resolves rt and starts a Function for it.
func runtimeFunction(t *testing.T, rt Runtime, cfg Config) *Function {
	t.Helper()
	if rt.CacheDir == "" {
		rt.CacheDir = t.TempDir()
	}
	if rt.Function == "" {
		rt.Function = "fn"
	}
	l, err := Resolve(rt)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	cfg.Command, cfg.Handler, cfg.Dir = l.Command, l.Handler, l.Dir
	cfg.ExecutionEnv, cfg.RuntimeDir, cfg.Build = l.ExecutionEnv, l.RuntimeDir, l.Build
	if cfg.EnvDefaults == nil {
		cfg.EnvDefaults = l.Env
	}
	f, _ := newFunction(t, cfg)
	return f
}

// echo is what the test handlers answer to {"action": "echo"}.
type echo struct {
	Runtime      string            `json:"runtime"`
	RequestID    string            `json:"requestId"`
	FunctionName string            `json:"functionName"`
	Memory       string            `json:"memory"`
	ARN          string            `json:"arn"`
	Remaining    []int64           `json:"remaining"`
	Cwd          string            `json:"cwd"`
	Env          map[string]string `json:"env"`
}

func invokeJSON(t *testing.T, f *Function, payload string) lambda.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := f.Invoke(ctx, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

func TestBundledRuntimesRunHandlersWithLambdaContextAndEnvironment(t *testing.T) {
	abs, _ := filepath.Abs("testdata/runtimes")
	cases := []struct {
		name, runtime, program, dir, handler, want string
	}{
		{"python", "python3.12", "python3", "py", "app.handler", "python"},
		{"node commonjs async", "nodejs20.x", "node", "cjs", "index.async", "cjs-async"},
		{"node commonjs callback", "nodejs20.x", "node", "cjs", "index.callback", "cjs-callback"},
		{"node .mjs async", "nodejs22.x", "node", "esm", "index.handler", "esm-async"},
		{"node .mjs callback", "nodejs22.x", "node", "esm", "index.callback", "esm-callback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testdeps.Require(t, tc.program)
			timeout := 4 * time.Second
			f := runtimeFunction(t, Runtime{Name: tc.runtime, Handler: tc.handler, CodeDir: filepath.Join("testdata/runtimes", tc.dir)},
				Config{Name: "echo-fn", Timeout: timeout, MemorySize: 256, Env: map[string]string{"GREETING": "hi"}})
			var seen []string
			for i := 0; i < 2; i++ { // the second runs on the warm instance
				res := invokeJSON(t, f, `{"action":"echo"}`)
				if res.FunctionError != "" {
					t.Fatalf("function error: %s", res.Payload)
				}
				var e echo
				if err := json.Unmarshal(res.Payload, &e); err != nil {
					t.Fatalf("payload %s: %v", res.Payload, err)
				}
				if e.Runtime != tc.want || e.FunctionName != "echo-fn" || e.Memory != "256" ||
					e.ARN != "arn:aws:lambda:us-east-1:000000000000:function:echo-fn" || len(e.RequestID) != 36 {
					t.Errorf("context: %+v", e)
				}
				seen = append(seen, e.RequestID)
				if len(e.Remaining) != 2 || e.Remaining[0] <= 0 || e.Remaining[0] > timeout.Milliseconds() || e.Remaining[1] >= e.Remaining[0] {
					t.Errorf("remaining time %v: want decreasing, within (0, %d]", e.Remaining, timeout.Milliseconds())
				}
				dir := filepath.Join(abs, tc.dir)
				if e.Cwd != dir {
					t.Errorf("cwd %q, want code_uri %q", e.Cwd, dir)
				}
				wantEnv := map[string]string{
					"GREETING": "hi", "LAMBDA_TASK_ROOT": dir, "_HANDLER": tc.handler, "AWS_REGION": "us-east-1",
					"AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "echo-fn",
					"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
					"AWS_EXECUTION_ENV": "AWS_Lambda_" + tc.runtime,
				}
				for k, v := range wantEnv {
					if e.Env[k] != v {
						t.Errorf("%s = %q, want %q", k, e.Env[k], v)
					}
				}
				if rd := e.Env["LAMBDA_RUNTIME_DIR"]; rd == "" || !strings.HasPrefix(f.cfg.Command[len(f.cfg.Command)-1], rd) {
					t.Errorf("LAMBDA_RUNTIME_DIR %q does not hold the loop %v", rd, f.cfg.Command)
				}
			}
			if seen[0] == seen[1] {
				t.Errorf("two invocations share request id %s", seen[0])
			}
			if st := f.Stats(); st.ColdStarts != 1 {
				t.Errorf("cold starts %d, want 1 (the instance stays warm)", st.ColdStarts)
			}
		})
	}
}

func TestBundledNodeLoadsESModuleFromTypeModulePackage(t *testing.T) {
	testdeps.Require(t, "node")
	f := runtimeFunction(t, Runtime{Name: "nodejs20.x", Handler: "app.handler", CodeDir: "testdata/runtimes/esmjs"}, Config{})
	res := invokeJSON(t, f, `{"action":"x"}`)
	var got struct{ Runtime, RequestID, Action string }
	if err := json.Unmarshal(res.Payload, &got); err != nil || got.Runtime != "esm-js" || got.Action != "x" || got.RequestID == "" {
		t.Errorf("payload %s (%v)", res.Payload, err)
	}
}

func TestBundledRuntimesReportHandlerErrorsInAWSShape(t *testing.T) {
	cases := []struct {
		name, runtime, program, dir, handler, errType, msg, traceKey string
	}{
		{"python", "python3.11", "python3", "py", "app.handler", "ValueError", "boom from python", "stackTrace"},
		{"node async", "nodejs20.x", "node", "cjs", "index.async", "TypeError", "boom from cjs", "trace"},
		{"node callback", "nodejs20.x", "node", "cjs", "index.callback", "RangeError", "boom from callback", "trace"},
		{"node esm", "nodejs20.x", "node", "esm", "index.handler", "Error", "boom from esm", "trace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testdeps.Require(t, tc.program)
			f := runtimeFunction(t, Runtime{Name: tc.runtime, Handler: tc.handler, CodeDir: filepath.Join("testdata/runtimes", tc.dir)}, Config{})
			res := invokeJSON(t, f, `{"action":"error"}`)
			if res.FunctionError != "Unhandled" {
				t.Fatalf("FunctionError %q, payload %s", res.FunctionError, res.Payload)
			}
			var doc map[string]any
			if err := json.Unmarshal(res.Payload, &doc); err != nil {
				t.Fatalf("payload %s: %v", res.Payload, err)
			}
			if doc["errorType"] != tc.errType || doc["errorMessage"] != tc.msg {
				t.Errorf("error document %s", res.Payload)
			}
			if tr, ok := doc[tc.traceKey].([]any); !ok || len(tr) == 0 {
				t.Errorf("no %s in %s", tc.traceKey, res.Payload)
			}
			// A handler error leaves the instance warm, as in Lambda.
			invokeJSON(t, f, `{"action":"echo"}`)
			if st := f.Stats(); st.ColdStarts != 1 {
				t.Errorf("cold starts %d after a handler error, want 1", st.ColdStarts)
			}
		})
	}
}

func TestBundledRuntimesReportInitErrors(t *testing.T) {
	cases := []struct {
		name, runtime, program, handler, errType string
	}{
		{"python missing module", "python3.12", "python3", "nope.handler", "Runtime.ImportModuleError"},
		{"python missing function", "python3.12", "python3", "app.nope", "Runtime.HandlerNotFound"},
		{"node missing module", "nodejs20.x", "node", "nope.handler", "Runtime.ImportModuleError"},
		{"node missing export", "nodejs20.x", "node", "index.nope", "Runtime.HandlerNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testdeps.Require(t, tc.program)
			dir := "testdata/runtimes/cjs"
			if tc.program == "python3" {
				dir = "testdata/runtimes/py"
			}
			f := runtimeFunction(t, Runtime{Name: tc.runtime, Handler: tc.handler, CodeDir: dir}, Config{})
			res := invokeJSON(t, f, `{}`)
			var doc map[string]any
			if err := json.Unmarshal(res.Payload, &doc); err != nil || res.FunctionError != "Unhandled" || doc["errorType"] != tc.errType {
				t.Errorf("FunctionError %q payload %s, want errorType %s", res.FunctionError, res.Payload, tc.errType)
			}
		})
	}
}

func TestBundledRuntimeTimeoutKillsTheInstance(t *testing.T) {
	cases := []struct{ name, runtime, program, dir, handler string }{
		{"python", "python3.12", "python3", "py", "app.handler"},
		{"node", "nodejs20.x", "node", "cjs", "index.async"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testdeps.Require(t, tc.program)
			f := runtimeFunction(t, Runtime{Name: tc.runtime, Handler: tc.handler, CodeDir: filepath.Join("testdata/runtimes", tc.dir)},
				Config{Timeout: 500 * time.Millisecond})
			_, err := f.Invoke(context.Background(), []byte(`{"path":"/slow"}`))
			if !errors.Is(err, lambda.ErrTimeout) {
				t.Fatalf("err %v, want lambda.ErrTimeout", err)
			}
			// The next invocation gets a fresh instance and succeeds.
			if res := invokeJSON(t, f, `{"action":"echo"}`); res.FunctionError != "" {
				t.Errorf("after timeout: %s", res.Payload)
			}
		})
	}
}

func TestProvidedRuntimeBuildsBootstrapFromGoSource(t *testing.T) {
	// The source lives inside this module, so go build needs no network.
	src := t.TempDir()
	dir, err := os.MkdirTemp(".", "gobuild-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	main, err := os.ReadFile("testdata/fn/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), main, 0o644); err != nil {
		t.Fatal(err)
	}
	f := runtimeFunction(t, Runtime{Name: "provided.al2023", CodeDir: dir, CacheDir: src}, Config{})
	if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err == nil {
		t.Fatal("bootstrap written into code_uri")
	}
	res := invokeJSON(t, f, `{"action":"echo"}`)
	var r fnReply
	if err := json.Unmarshal(res.Payload, &r); err != nil || r.RequestID == "" {
		t.Fatalf("payload %s (%v)", res.Payload, err)
	}
	if !strings.HasPrefix(f.exe, filepath.Join(src, "build")) {
		t.Errorf("executable %s, want it under the cache's build directory", f.exe)
	}
	if r.Env["_HANDLER"] != "bootstrap" || r.Env["AWS_EXECUTION_ENV"] != "AWS_Lambda_provided.al2023" {
		t.Errorf("env %v", r.Env)
	}
}

func TestProvidedRuntimeWithoutBootstrapOrSourceIsAnError(t *testing.T) {
	_, err := Resolve(Runtime{Name: "provided.al2", CodeDir: t.TempDir(), CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no bootstrap") {
		t.Errorf("err %v", err)
	}
}

func TestInstallBundledIsIdempotent(t *testing.T) {
	cache := t.TempDir()
	a, err := InstallBundled(cache)
	if err != nil {
		t.Fatal(err)
	}
	b, err := InstallBundled(cache)
	if err != nil || a != b {
		t.Fatalf("second install %q %v, first %q", b, err, a)
	}
	for _, name := range []string{"bootstrap.py", "bootstrap.mjs"} {
		if st, err := os.Stat(filepath.Join(a, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBundledNodeCallbackHandlerThatNeverCallsBackReturnsNull(t *testing.T) {
	testdeps.Require(t, "node")
	f := runtimeFunction(t, Runtime{Name: "nodejs20.x", Handler: "index.forgetful", CodeDir: "testdata/runtimes/cjs"}, Config{})
	for i := 0; i < 2; i++ {
		if res := invokeJSON(t, f, `{}`); res.FunctionError != "" || string(res.Payload) != "null" {
			t.Errorf("result %q (%s), want null", res.Payload, res.FunctionError)
		}
	}
}

func TestOfficialClientThatIsNotInstalledIsANamedError(t *testing.T) {
	cases := []struct{ name, runtime, program, dir, probe, want string }{
		{"python", "python3.12", "python3", "py", "import awslambdaric", "pip install awslambdaric"},
		{"node", "nodejs20.x", "node", "cjs", "", "npm install aws-lambda-ric"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exe := testdeps.Require(t, tc.program)
			if tc.probe != "" && exec.Command(exe, "-c", tc.probe).Run() == nil {
				t.Skip("awslambdaric is installed here")
			}
			if tc.probe == "" {
				if _, err := exec.LookPath("aws-lambda-ric"); err == nil {
					t.Skip("aws-lambda-ric is installed here")
				}
			}
			_, err := Resolve(Runtime{Name: tc.runtime, Handler: "app.handler", CodeDir: filepath.Join("testdata/runtimes", tc.dir),
				Client: ClientOfficial, CacheDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestOfficialNodeClientIsTakenFromCodeURINodeModules(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "node_modules", ".bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	ric := filepath.Join(bin, "aws-lambda-ric")
	if err := os.WriteFile(ric, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Resolve(Runtime{Name: "nodejs20.x", Handler: "app.handler", CodeDir: dir, Client: ClientOfficial, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Command) != 2 || l.Command[0] != ric || l.Command[1] != "app.handler" {
		t.Errorf("command %v, want [%s app.handler]", l.Command, ric)
	}
}

// invokeUntil invokes f until its payload contains want or the deadline
// passes, and reports the last payload.
func invokeUntil(t *testing.T, f *Function, payload, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		res := invokeJSON(t, f, payload)
		last = string(res.Payload)
		if strings.Contains(last, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("payload never contained %q; last %s", want, last)
}

func TestRuntimeFunctionsRunNewCodeAfterAChange(t *testing.T) {
	t.Run("python handler module", func(t *testing.T) {
		testdeps.Require(t, "python3")
		dir := t.TempDir()
		app := filepath.Join(dir, "app.py")
		writeFile(t, app, "def handler(event, context):\n    return 'v1'\n")
		l, err := Resolve(Runtime{Name: "python3.12", Handler: "app.handler", CodeDir: dir, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := newFunction(t, Config{Command: l.Command, Handler: l.Handler, Dir: l.Dir, Watch: true, WatchPaths: l.WatchPaths})
		invokeUntil(t, f, `{}`, "v1")
		writeFile(t, app, "def handler(event, context):\n    return 'v2'\n")
		invokeUntil(t, f, `{}`, "v2")
	})
	t.Run("go source rebuilt", func(t *testing.T) {
		testdeps.Require(t, "go")
		dir, err := os.MkdirTemp(".", "gobuild-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		src, err := os.ReadFile("../../examples/functions/hello/main.go")
		if err != nil {
			t.Fatal(err)
		}
		main := filepath.Join(dir, "main.go")
		writeFile(t, main, string(src))
		l, err := Resolve(Runtime{Name: "provided.al2023", CodeDir: dir, CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(main)
		if !slices.Contains(l.WatchPaths, abs) {
			t.Fatalf("watch paths %v lack %s", l.WatchPaths, abs)
		}
		f, _ := newFunction(t, Config{Command: l.Command, Handler: l.Handler, Dir: l.Dir, Build: l.Build, Watch: true, WatchPaths: l.WatchPaths})
		invokeUntil(t, f, `{}`, "hello")
		writeFile(t, main, strings.Replace(string(src), `greeting = "hello"`, `greeting = "rebuilt"`, 1))
		invokeUntil(t, f, `{}`, "rebuilt")
	})
}
