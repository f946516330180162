package host

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// apiInstance is an instance with no process, to drive the Runtime API
// handlers directly.
func apiInstance(t *testing.T) *instance {
	t.Helper()
	f := &Function{
		cfg: Config{Name: "api", Timeout: 2 * time.Second},
		arn: "arn:aws:lambda:us-east-1:000000000000:function:api",
		log: slog.New(slog.DiscardHandler),
	}
	return &instance{
		f:       f,
		log:     f.log,
		next:    make(chan *invocation),
		pending: make(chan *invocation, 1),
		result:  make(chan outcome, 1),
		initErr: make(chan []byte, 1),
		stop:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
}

func call(inst *instance, method, path string, body []byte, headers ...string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	req.SetBody(body)
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	inst.serveRuntimeAPI(ctx)
	return ctx
}

// assign runs GET /next while handing it inv, and returns the response.
func assign(t *testing.T, inst *instance, inv *invocation) *fasthttp.RequestCtx {
	t.Helper()
	got := make(chan *fasthttp.RequestCtx)
	go func() { got <- call(inst, "GET", "/2018-06-01/runtime/invocation/next", nil) }()
	select {
	case inst.next <- inv:
	case <-time.After(2 * time.Second):
		t.Fatal("GET /next did not wait for an event")
	}
	return <-got
}

func TestNextDeliversEventWithRuntimeHeaders(t *testing.T) {
	inst := apiInstance(t)
	inv := namedInvocation([]byte(`{"k":"v"}`))
	before := time.Now()
	ctx := assign(t, inst, inv)

	h := &ctx.Response.Header
	if got := string(h.Peek("Lambda-Runtime-Aws-Request-Id")); got != inv.id {
		t.Errorf("request ID = %q, want %q", got, inv.id)
	}
	if got := string(h.Peek("Lambda-Runtime-Invoked-Function-Arn")); got != inst.f.arn {
		t.Errorf("function ARN = %q", got)
	}
	if got := string(h.Peek("Lambda-Runtime-Trace-Id")); got != inv.traceID || !traceRE.MatchString(got) {
		t.Errorf("trace ID = %q", got)
	}
	ms, err := strconv.ParseInt(string(h.Peek("Lambda-Runtime-Deadline-Ms")), 10, 64)
	if err != nil {
		t.Fatalf("deadline header: %v", err)
	}
	if d := time.UnixMilli(ms).Sub(before); d < 1900*time.Millisecond || d > 2100*time.Millisecond {
		t.Errorf("deadline %s after the call, want the 2s timeout", d)
	}
	if string(ctx.Response.Body()) != `{"k":"v"}` {
		t.Errorf("body = %s", ctx.Response.Body())
	}
	if inst.current.Load() != inv {
		t.Error("delivered invocation is not current")
	}
}

func TestNextAnswersErrorWhenInstanceStops(t *testing.T) {
	inst := apiInstance(t)
	close(inst.stop)
	ctx := call(inst, "GET", "/2018-06-01/runtime/invocation/next", nil)
	if ctx.Response.StatusCode() != 500 {
		t.Errorf("status = %d, want 500 so the runtime exits", ctx.Response.StatusCode())
	}
}

func TestRuntimeAPICompletesInvocations(t *testing.T) {
	// AWS's limit, as its error message gives it.
	const awsLimit = 6291556
	atLimit := bytes.Repeat([]byte("a"), awsLimit)
	big := bytes.Repeat([]byte("a"), awsLimit+1)
	tests := []struct {
		name      string
		path      string // %s = request ID
		body      []byte
		headers   []string
		wantFnErr string
		wantType  string // errorType of the payload, when a function error
		wantBody  string // exact payload, when set
	}{
		{name: "response is the result", path: "/2018-06-01/runtime/invocation/%s/response", body: []byte(`{"statusCode":200}`), wantBody: `{"statusCode":200}`},
		{name: "error posts the document as Unhandled", path: "/2018-06-01/runtime/invocation/%s/error",
			body: []byte(`{"errorMessage":"bad","errorType":"errorString"}`), wantFnErr: "Unhandled", wantType: "errorString"},
		{name: "error without JSON body uses the error type header", path: "/2018-06-01/runtime/invocation/%s/error",
			body: []byte(`it broke`), headers: []string{"Lambda-Runtime-Function-Error-Type", "Runtime.Custom"}, wantFnErr: "Unhandled", wantType: "Runtime.Custom"},
		{name: "streamed response failure trailer is Unhandled", path: "/2018-06-01/runtime/invocation/%s/response",
			body: []byte(`partial`), headers: []string{
				"Lambda-Runtime-Function-Error-Type", "errorString",
				"Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"read failed","errorType":"errorString"}`)),
			}, wantFnErr: "Unhandled", wantType: "errorString"},
		{name: "response at the AWS limit is the result", path: "/2018-06-01/runtime/invocation/%s/response",
			body: atLimit},
		{name: "oversized response is Function.ResponseSizeTooLarge", path: "/2018-06-01/runtime/invocation/%s/response",
			body: big, wantFnErr: "Unhandled", wantType: "Function.ResponseSizeTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := apiInstance(t)
			inv := namedInvocation([]byte(`{}`))
			assign(t, inst, inv)
			ctx := call(inst, "POST", strings.Replace(tt.path, "%s", inv.id, 1), tt.body, tt.headers...)
			if ctx.Response.StatusCode() != 202 {
				t.Fatalf("status = %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			var o outcome
			select {
			case o = <-inst.result:
			default:
				t.Fatal("no outcome delivered")
			}
			if o.res.FunctionError != tt.wantFnErr {
				t.Errorf("FunctionError = %q, want %q", o.res.FunctionError, tt.wantFnErr)
			}
			if tt.wantBody != "" && string(o.res.Payload) != tt.wantBody {
				t.Errorf("payload = %s, want %s", o.res.Payload, tt.wantBody)
			}
			if tt.wantType != "" {
				var doc errorDoc
				if err := json.Unmarshal(o.res.Payload, &doc); err != nil || doc.Type != tt.wantType {
					t.Errorf("payload %s: errorType %q, want %q (%v)", o.res.Payload, doc.Type, tt.wantType, err)
				}
			}
			// A second answer for the same request is refused.
			again := call(inst, "POST", strings.Replace(tt.path, "%s", inv.id, 1), []byte(`{}`))
			if again.Response.StatusCode() != 400 {
				t.Errorf("second answer status = %d, want 400", again.Response.StatusCode())
			}
		})
	}
}

func TestRuntimeAPIRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{name: "unknown request ID", method: "POST", path: "/2018-06-01/runtime/invocation/nope/response", want: 400},
		{name: "next with POST", method: "POST", path: "/2018-06-01/runtime/invocation/next", want: 405},
		{name: "response with GET", method: "GET", path: "/2018-06-01/runtime/invocation/x/response", want: 405},
		{name: "init error with GET", method: "GET", path: "/2018-06-01/runtime/init/error", want: 405},
		{name: "unknown invocation action", method: "POST", path: "/2018-06-01/runtime/invocation/x/cancel", want: 404},
		{name: "other API version", method: "GET", path: "/2020-01-01/runtime/invocation/next", want: 404},
		{name: "extensions API is not served", method: "POST", path: "/2020-01-01/extension/register", want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := apiInstance(t)
			ctx := call(inst, tt.method, tt.path, nil)
			if got := ctx.Response.StatusCode(); got != tt.want {
				t.Errorf("status = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestInitErrorIsRecordedOnce(t *testing.T) {
	inst := apiInstance(t)
	for _, body := range []string{`{"errorMessage":"first","errorType":"A"}`, `{"errorMessage":"second","errorType":"B"}`} {
		if ctx := call(inst, "POST", "/2018-06-01/runtime/init/error", []byte(body)); ctx.Response.StatusCode() != 202 {
			t.Fatalf("status = %d", ctx.Response.StatusCode())
		}
	}
	if got := string(<-inst.initErr); !strings.Contains(got, "first") {
		t.Errorf("recorded init error = %s, want the first one", got)
	}
}

// namedInvocation is an invocation with a request and a trace ID, as
// Function.Invoke queues it.
func namedInvocation(payload []byte) *invocation {
	inv := newInvocation(payload)
	var random [36]byte
	_, _ = rand.Read(random[:])
	inv.setIDs(&random, "")
	return inv
}
