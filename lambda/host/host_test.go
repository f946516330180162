package host

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// Binaries built once for the whole test run.
var (
	helloBin string // examples/functions/hello
	fnBin    string // testdata/fn: behaviour chosen by the event
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "frontdesk-host-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	helloBin = filepath.Join(dir, "hello")
	fnBin = filepath.Join(dir, "fn")
	for bin, pkg := range map[string]string{helloBin: "../../examples/functions/hello", fnBin: "./testdata/fn"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// syncBuffer collects JSON log lines from concurrent goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the logged records as maps.
func (b *syncBuffer) records() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// testLogger writes to the test log and to a buffer the test can inspect.
func testLogger(t *testing.T) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	w := io.MultiWriter(buf, testWriter{t})
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newFunction(t *testing.T, cfg Config) (*Function, *syncBuffer) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "fn"
	}
	if cfg.Command == nil {
		cfg.Command = []string{fnBin}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	log, buf := testLogger(t)
	f, err := NewFunction(cfg, log)
	if err != nil {
		t.Fatalf("NewFunction: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f, buf
}

// fnReply is testdata/fn's successful answer.
type fnReply struct {
	PID         int               `json:"pid"`
	RequestID   string            `json:"requestId"`
	FunctionARN string            `json:"functionArn"`
	DeadlineIn  int64             `json:"deadlineInMs"`
	TraceID     string            `json:"traceId"`
	Env         map[string]string `json:"env"`
}

type errorDoc struct {
	Message    string          `json:"errorMessage"`
	Type       string          `json:"errorType"`
	StackTrace json.RawMessage `json:"stackTrace"`
}

func invoke(t *testing.T, f *Function, event string) (lambda.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return f.Invoke(ctx, []byte(event))
}

// mustReply invokes and decodes a successful fn reply.
func mustReply(t *testing.T, f *Function, event string) fnReply {
	t.Helper()
	res, err := invoke(t, f, event)
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	if res.FunctionError != "" {
		t.Fatalf("Invoke(%s): function error %s: %s", event, res.FunctionError, res.Payload)
	}
	var r fnReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("decode %s: %v", res.Payload, err)
	}
	return r
}

func mustFunctionError(t *testing.T, res lambda.Result, err error) errorDoc {
	t.Helper()
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.FunctionError != "Unhandled" {
		t.Fatalf("FunctionError = %q (payload %s), want Unhandled", res.FunctionError, res.Payload)
	}
	var d errorDoc
	if err := json.Unmarshal(res.Payload, &d); err != nil {
		t.Fatalf("decode error document %s: %v", res.Payload, err)
	}
	return d
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestInvokeRoundTripThroughHelloExample(t *testing.T) {
	f, _ := newFunction(t, Config{Name: "hello", Command: []string{helloBin}, Env: map[string]string{"GREETING": "hi"}})
	tests := []struct {
		name    string
		event   events.APIGatewayV2HTTPRequest
		message string
	}{
		{
			name: "path parameter names the caller",
			event: events.APIGatewayV2HTTPRequest{
				RawPath: "/hello/alice", PathParameters: map[string]string{"name": "alice"},
				Headers: map[string]string{"accept": "*/*", "x-b": "1"},
			},
			message: "hi, alice!",
		},
		{
			name:    "query parameter names the caller",
			event:   events.APIGatewayV2HTTPRequest{RawPath: "/hello", QueryStringParameters: map[string]string{"name": "bob"}},
			message: "hi, bob!",
		},
		{
			name:    "default name is world",
			event:   events.APIGatewayV2HTTPRequest{RawPath: "/hello"},
			message: "hi, world!",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.event.RequestContext.HTTP.Method = "GET"
			payload, err := json.Marshal(tt.event)
			if err != nil {
				t.Fatal(err)
			}
			res, err := invoke(t, f, string(payload))
			if err != nil || res.FunctionError != "" {
				t.Fatalf("Invoke: %v %s %s", err, res.FunctionError, res.Payload)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(res.Payload, &resp); err != nil {
				t.Fatalf("decode %s: %v", res.Payload, err)
			}
			var body struct {
				Message string            `json:"message"`
				Method  string            `json:"method"`
				Path    string            `json:"path"`
				Query   map[string]string `json:"query"`
				Headers []string          `json:"headers"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("decode body %q: %v", resp.Body, err)
			}
			if resp.StatusCode != 200 || body.Message != tt.message || body.Method != "GET" || body.Path != tt.event.RawPath {
				t.Errorf("got %d %+v, want 200 with message %q", resp.StatusCode, body, tt.message)
			}
			if len(body.Headers) != len(tt.event.Headers) {
				t.Errorf("headers = %v, want names of %v", body.Headers, tt.event.Headers)
			}
		})
	}
}

var (
	uuidRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	traceRE  = regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$`)
	streamRE = regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`)
)

func TestInstanceGetsLambdaEnvironmentAndInvocationHeaders(t *testing.T) {
	dir := t.TempDir()
	f, _ := newFunction(t, Config{
		Name:       "envfn",
		Env:        map[string]string{"GREETING": "yo", "AWS_REGION": "ignored-reserved"},
		MemorySize: 512,
		Region:     "eu-west-1",
		Dir:        dir,
		Timeout:    4 * time.Second,
	})
	r := mustReply(t, f, `{"action":"echo"}`)
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/envfn",
		"_HANDLER":                        "fn",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"AWS_EXECUTION_ENV":               "AWS_Lambda_provided.al2023",
		"LAMBDA_TASK_ROOT":                dir,
		"TZ":                              ":UTC",
		"GREETING":                        "yo",
	}
	for k, v := range want {
		if got := r.Env[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := r.Env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a loopback address", got)
	}
	if got := r.Env["AWS_LAMBDA_LOG_STREAM_NAME"]; !streamRE.MatchString(got) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q", got)
	}
	if !uuidRE.MatchString(r.RequestID) {
		t.Errorf("request ID %q is not a UUID", r.RequestID)
	}
	if r.FunctionARN != "arn:aws:lambda:eu-west-1:000000000000:function:envfn" {
		t.Errorf("function ARN = %q", r.FunctionARN)
	}
	if !traceRE.MatchString(r.TraceID) {
		t.Errorf("trace ID = %q", r.TraceID)
	}
	if r.DeadlineIn <= 3000 || r.DeadlineIn > 4000 {
		t.Errorf("deadline in %d ms, want about 4000", r.DeadlineIn)
	}
}

func TestHandlerErrorIsFunctionErrorAndKeepsInstance(t *testing.T) {
	f, _ := newFunction(t, Config{})
	before := mustReply(t, f, `{}`)
	res, err := invoke(t, f, `{"action":"error"}`)
	doc := mustFunctionError(t, res, err)
	if doc.Message != "handler said no" || doc.Type != "errorString" {
		t.Errorf("error document = %+v", doc)
	}
	if after := mustReply(t, f, `{}`); after.PID != before.PID {
		t.Errorf("instance replaced after a handled error: pid %d -> %d", before.PID, after.PID)
	}
}

func TestFailuresReplaceTheInstance(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		timeout time.Duration
		check   func(t *testing.T, res lambda.Result, err error)
	}{
		{
			name:  "panic is reported through /error",
			event: `{"action":"panic"}`,
			check: func(t *testing.T, res lambda.Result, err error) {
				doc := mustFunctionError(t, res, err)
				if doc.Message != "handler panicked" || len(doc.StackTrace) == 0 {
					t.Errorf("error document = %s", res.Payload)
				}
			},
		},
		{
			name:  "exit mid-invocation is Runtime.ExitError",
			event: `{"action":"exit","code":7}`,
			check: func(t *testing.T, res lambda.Result, err error) {
				doc := mustFunctionError(t, res, err)
				if doc.Type != "Runtime.ExitError" || !strings.Contains(doc.Message, "Runtime exited with error: exit status 7") ||
					!strings.HasPrefix(doc.Message, "RequestId: ") {
					t.Errorf("error document = %s", res.Payload)
				}
			},
		},
		{
			name:    "timeout kills the instance",
			event:   `{"action":"sleep","ms":5000}`,
			timeout: 400 * time.Millisecond,
			check: func(t *testing.T, res lambda.Result, err error) {
				if !errors.Is(err, lambda.ErrTimeout) {
					t.Fatalf("Invoke = %q %s, %v; want lambda.ErrTimeout", res.FunctionError, res.Payload, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			f, _ := newFunction(t, Config{Concurrency: 1, Timeout: timeout})
			before := mustReply(t, f, `{}`)

			start := time.Now()
			res, err := invoke(t, f, tt.event)
			tt.check(t, res, err)
			if tt.timeout > 0 {
				if d := time.Since(start); d > tt.timeout+time.Second {
					t.Errorf("timed out after %s, want about %s", d, tt.timeout)
				}
			}

			after := mustReply(t, f, `{}`)
			if after.PID == before.PID {
				t.Errorf("instance %d was not replaced", before.PID)
			}
			if processAlive(before.PID) {
				t.Errorf("old instance %d still running", before.PID)
			}
			if s := f.Stats(); s.Instances != 1 {
				t.Errorf("Stats = %+v, want 1 instance", s)
			}
		})
	}
}

func TestInitFailuresAreReportedToTheInvocation(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		check func(t *testing.T, res lambda.Result, err error)
	}{
		{
			name: "exit during init is Runtime.ExitError",
			cfg:  Config{Env: map[string]string{"FN_INIT": "exit"}},
			check: func(t *testing.T, res lambda.Result, err error) {
				doc := mustFunctionError(t, res, err)
				if doc.Type != "Runtime.ExitError" || !strings.Contains(doc.Message, "exit status 3") {
					t.Errorf("error document = %s", res.Payload)
				}
			},
		},
		{
			name: "init error posted by the runtime is the payload",
			cfg:  Config{Env: map[string]string{"FN_INIT": "initerror"}},
			check: func(t *testing.T, res lambda.Result, err error) {
				doc := mustFunctionError(t, res, err)
				if doc.Type != "InitFailed" || doc.Message != "config missing" {
					t.Errorf("error document = %s", res.Payload)
				}
			},
		},
		{
			name: "init that never polls times out",
			cfg:  Config{Env: map[string]string{"FN_INIT": "hang"}, InitTimeout: 300 * time.Millisecond},
			check: func(t *testing.T, res lambda.Result, err error) {
				if !errors.Is(err, lambda.ErrTimeout) {
					t.Errorf("Invoke = %q %s, %v; want lambda.ErrTimeout", res.FunctionError, res.Payload, err)
				}
			},
		},
		{
			name: "missing executable is an error",
			cfg:  Config{Command: []string{filepath.Join(os.TempDir(), "frontdesk-no-such-bootstrap")}},
			check: func(t *testing.T, res lambda.Result, err error) {
				if err == nil || errors.Is(err, lambda.ErrTimeout) {
					t.Errorf("Invoke = %q %s, %v; want a start error", res.FunctionError, res.Payload, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newFunction(t, tt.cfg)
			res, err := invoke(t, f, `{}`)
			tt.check(t, res, err)
			// The failure happens again on the next call: nothing is cached.
			res, err = invoke(t, f, `{}`)
			tt.check(t, res, err)
			waitFor(t, func() bool { return f.Stats().Instances == 0 }, "failed instances to be reaped")
		})
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrencyBoundsInstances(t *testing.T) {
	f, _ := newFunction(t, Config{Concurrency: 2})
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		pids    = map[int]int{}
		errs    []error
		maxSeen int
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if s := f.Stats(); s.Instances > maxSeen {
				maxSeen = s.Instances
			}
			time.Sleep(time.Millisecond)
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := invoke(t, f, `{"action":"sleep","ms":150}`)
			mu.Lock()
			defer mu.Unlock()
			if err != nil || res.FunctionError != "" {
				errs = append(errs, fmt.Errorf("%v %s %s", err, res.FunctionError, res.Payload))
				return
			}
			var r fnReply
			if err := json.Unmarshal(res.Payload, &r); err != nil {
				errs = append(errs, err)
				return
			}
			pids[r.PID]++
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	elapsed := time.Since(start)

	if len(errs) > 0 {
		t.Fatalf("%d invocations failed: %v", len(errs), errs)
	}
	if len(pids) != 2 {
		t.Errorf("served by %d processes %v, want exactly 2", len(pids), pids)
	}
	if maxSeen > 2 {
		t.Errorf("saw %d instances at once, want at most 2", maxSeen)
	}
	if elapsed < 4*150*time.Millisecond {
		t.Errorf("8 × 150 ms on 2 instances took %s: not serialised", elapsed)
	}
}

// occupy starts a long invocation and waits until an instance runs it.
func occupy(t *testing.T, f *Function, ms int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := invoke(t, f, fmt.Sprintf(`{"action":"sleep","ms":%d}`, ms))
		done <- err
	}()
	waitFor(t, func() bool { s := f.Stats(); return s.Instances == 1 && s.Queued == 0 && s.Idle == 0 }, "the instance to be busy")
	return done
}

func TestFullQueueRejectsInvocation(t *testing.T) {
	f, _ := newFunction(t, Config{Concurrency: 1, QueueSize: 1})
	busy := occupy(t, f, 400)
	queued := make(chan error, 1)
	go func() {
		_, err := invoke(t, f, `{}`)
		queued <- err
	}()
	waitFor(t, func() bool { return f.Stats().Queued == 1 }, "an invocation to queue")

	if _, err := invoke(t, f, `{}`); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third invocation: err = %v, want ErrQueueFull", err)
	}
	if err := <-busy; err != nil {
		t.Errorf("running invocation: %v", err)
	}
	if err := <-queued; err != nil {
		t.Errorf("queued invocation: %v", err)
	}
}

func TestCanceledWaitLeavesTheQueue(t *testing.T) {
	f, _ := newFunction(t, Config{Concurrency: 1})
	busy := occupy(t, f, 2000)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.Invoke(ctx, []byte(`{"action":"exit","code":1}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	// The canceled wait ends with its context, not when the instance
	// frees up: the running invocation is still going.
	var err error
	select {
	case err = <-busy:
		t.Errorf("canceled wait returned only after the running invocation ended")
	default:
		err = <-busy
	}
	if err != nil {
		t.Fatalf("running invocation: %v", err)
	}
	// Had the abandoned "exit" event run, the instance would have been
	// replaced.
	before := mustReply(t, f, `{}`)
	if after := mustReply(t, f, `{}`); after.PID != before.PID {
		t.Errorf("instance changed: %d -> %d", before.PID, after.PID)
	}
}

func TestOutputGoesToLoggerTaggedByInstance(t *testing.T) {
	f, logs := newFunction(t, Config{Name: "chatty"})
	mustReply(t, f, `{"action":"log"}`)
	want := map[string]bool{"stdout/to stdout": false, "stderr/to stderr": false}
	waitFor(t, func() bool {
		for _, r := range logs.records() {
			key := fmt.Sprint(r["stream"], "/", r["msg"])
			if _, ok := want[key]; ok && r["function"] == "chatty" && r["instance"] == float64(1) {
				want[key] = true
			}
		}
		return want["stdout/to stdout"] && want["stderr/to stderr"]
	}, "output lines in the log")
}

func TestExecutableChangeStartsNewInstance(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	copyFile(t, fnBin, bin)
	f, _ := newFunction(t, Config{Command: []string{bin}, Watch: true})
	first := mustReply(t, f, `{}`)
	if again := mustReply(t, f, `{}`); again.PID != first.PID {
		t.Fatalf("warm instance not reused: %d -> %d", first.PID, again.PID)
	}

	// Replace the file the way build tools do: write aside, rename over.
	copyFile(t, fnBin, bin+".tmp")
	if err := os.Rename(bin+".tmp", bin); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !processAlive(first.PID) }, "the old instance to be retired")
	if next := mustReply(t, f, `{}`); next.PID == first.PID {
		t.Errorf("still served by the old instance %d", first.PID)
	}
}

func TestWatchIsOptional(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	copyFile(t, fnBin, bin)
	f, _ := newFunction(t, Config{Command: []string{bin}})
	first := mustReply(t, f, `{}`)
	copyFile(t, fnBin, bin+".tmp")
	if err := os.Rename(bin+".tmp", bin); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * watchQuiet)
	if next := mustReply(t, f, `{}`); next.PID != first.PID {
		t.Errorf("unwatched function replaced its instance: %d -> %d", first.PID, next.PID)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsInstancesAndInvocations(t *testing.T) {
	f, _ := newFunction(t, Config{Concurrency: 2})
	running := make(chan error, 1)
	go func() {
		_, err := invoke(t, f, `{"action":"sleep","ms":5000}`)
		running <- err
	}()
	waitFor(t, func() bool { s := f.Stats(); return s.Instances == 1 && s.Queued == 0 && s.Idle == 0 }, "the first instance to be busy")
	idle := mustReply(t, f, `{}`) // served by a second instance

	start := time.Now()
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %s", d)
	}
	if err := <-running; !errors.Is(err, ErrClosed) {
		t.Errorf("running invocation: err = %v, want ErrClosed", err)
	}
	if processAlive(idle.PID) {
		t.Errorf("instance %d survived Close", idle.PID)
	}
	if s := f.Stats(); s.Instances != 0 {
		t.Errorf("Stats after Close = %+v", s)
	}
	if _, err := invoke(t, f, `{}`); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: err = %v, want ErrClosed", err)
	}
}

func TestNewFunctionRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "missing name", cfg: Config{Command: []string{fnBin}}},
		{name: "missing command", cfg: Config{Name: "x"}},
		{name: "command not in PATH", cfg: Config{Name: "x", Command: []string{"frontdesk-no-such-runtime"}}},
		{name: "unwatchable path", cfg: Config{Name: "x", Command: []string{fnBin}, Watch: true, WatchPaths: []string{"/no/such/dir/bootstrap"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := NewFunction(tt.cfg, nil); err == nil {
				_ = f.Close()
				t.Fatal("NewFunction succeeded")
			}
		})
	}
}

func BenchmarkInvokeWarm(b *testing.B) {
	f, err := NewFunction(Config{Name: "hello", Command: []string{helloBin}, Concurrency: 1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	event, err := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "GET /hello/{name}", RawPath: "/hello/bench",
		PathParameters: map[string]string{"name": "bench"},
		Headers:        map[string]string{"accept": "application/json", "user-agent": "bench"},
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.Invoke(ctx, event); err != nil { // cold start outside the timing
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := f.Invoke(ctx, event)
		if err != nil || res.FunctionError != "" {
			b.Fatalf("Invoke: %v %s", err, res.Payload)
		}
	}
}

// Stats.ColdStarts counts the instances started for invocations: the first
// one, none while it stays warm, one more after it died.
func TestColdStartsCountInstancesStarted(t *testing.T) {
	f, _ := newFunction(t, Config{Concurrency: 1})
	if s := f.Stats(); s.ColdStarts != 0 {
		t.Fatalf("ColdStarts = %d before any invocation", s.ColdStarts)
	}
	mustReply(t, f, `{}`)
	mustReply(t, f, `{}`)
	if s := f.Stats(); s.ColdStarts != 1 {
		t.Errorf("ColdStarts = %d after two warm invocations, want 1", s.ColdStarts)
	}
	if _, err := invoke(t, f, `{"action":"exit","code":7}`); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	mustReply(t, f, `{}`)
	if s := f.Stats(); s.ColdStarts != 2 {
		t.Errorf("ColdStarts = %d after the instance exited, want 2", s.ColdStarts)
	}
}

// A caller that invokes again as soon as it has its answer finds the warm
// instance idle: the slot is counted idle before the answer is handed
// over, so sequential invocations never start a second instance.
func TestSequentialInvocationsStayOnOneWarmInstance(t *testing.T) {
	f, _ := newFunction(t, Config{Concurrency: 4})
	for i := range 200 {
		mustReply(t, f, `{}`)
		if st := f.Stats(); st.ColdStarts != 1 || st.Idle != 1 {
			t.Fatalf("invocation %d answered: %d cold starts, %d idle slots; want 1 and 1", i, st.ColdStarts, st.Idle)
		}
	}
}
