package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/frontdeskgw/frontdesk/lambda/host"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
)

// serveInvoke serves fn's Invoke endpoint on loopback until the test ends.
func serveInvoke(t *testing.T, fn lambda.Invoker) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewInvokeEndpoint(fn, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return ln.Addr().String()
}

// The frontdesk-lambda-invoke scenario's endpoint: the Invoke API client
// frontdesk uses for invoke_url functions calls the example function
// through it, on the local function host.
func TestInvokeEndpointServesTheHostedFunctionToTheInvokeClient(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hello")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/functions/hello").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fn, err := host.NewFunction(host.Config{Name: "hello", Command: []string{bin}, Concurrency: 1, Timeout: 10 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fn.Close() })
	addr := serveInvoke(t, fn)

	ctx := context.Background()
	client, err := invoke.New(ctx, invoke.Config{InvokeURL: "http://" + addr, FunctionName: "hello", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	event := `{"version":"2.0","rawPath":"/hello/bench","pathParameters":{"name":"bench"},"requestContext":{"http":{"method":"GET"}}}`
	for i := range 3 { // the first starts the instance, the others reuse it
		res, err := client.Invoke(ctx, []byte(event))
		if err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		if res.FunctionError != "" {
			t.Fatalf("invoke %d: function error %s: %s", i, res.FunctionError, res.Payload)
		}
		var out struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(res.Payload, &out); err != nil {
			t.Fatalf("invoke %d: payload %s: %v", i, res.Payload, err)
		}
		if out.StatusCode != 200 || !strings.Contains(out.Body, "hello, bench!") {
			t.Fatalf("invoke %d: payload %s", i, res.Payload)
		}
	}
}

// invokerFunc adapts a function to lambda.Invoker.
type invokerFunc func(context.Context, []byte) (lambda.Result, error)

func (f invokerFunc) Invoke(ctx context.Context, p []byte) (lambda.Result, error) { return f(ctx, p) }

func TestInvokeEndpointAnswersAsTheInvokeAPI(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		res        lambda.Result
		err        error
		wantStatus int
		wantFnErr  string // X-Amz-Function-Error
		wantType   string // X-Amzn-Errortype
		wantBody   string // exact, when set
	}{
		{name: "result", path: "/2015-03-31/functions/hello/invocations", res: lambda.Result{Payload: []byte(`{"ok":true}`)},
			wantStatus: 200, wantBody: `{"ok":true}`},
		{name: "function error", path: "/2015-03-31/functions/hello/invocations",
			res:        lambda.Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled"},
			wantStatus: 200, wantFnErr: "Unhandled", wantBody: `{"errorMessage":"boom"}`},
		{name: "timeout", path: "/2015-03-31/functions/hello/invocations", err: fmt.Errorf("invoke hello: %w", lambda.ErrTimeout),
			wantStatus: 504, wantType: "TimeoutException"},
		{name: "host failure", path: "/2015-03-31/functions/hello/invocations", err: errors.New("start: no such file"),
			wantStatus: 500, wantType: "ServiceException"},
		{name: "other path", path: "/2015-03-31/functions/hello", wantStatus: 404, wantType: "ResourceNotFoundException"},
		{name: "GET", method: "GET", path: "/2015-03-31/functions/hello/invocations", wantStatus: 404, wantType: "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			addr := serveInvoke(t, invokerFunc(func(_ context.Context, p []byte) (lambda.Result, error) {
				got = append([]byte(nil), p...)
				return tt.res, tt.err
			}))
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + tt.path)
			req.Header.SetMethod("POST")
			if tt.method != "" {
				req.Header.SetMethod(tt.method)
			}
			req.SetBodyString(`{"event":1}`)
			if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.wantStatus, resp.Body())
			}
			if h := string(resp.Header.Peek("X-Amz-Function-Error")); h != tt.wantFnErr {
				t.Errorf("X-Amz-Function-Error %q, want %q", h, tt.wantFnErr)
			}
			if h := string(resp.Header.Peek("X-Amzn-Errortype")); h != tt.wantType {
				t.Errorf("X-Amzn-Errortype %q, want %q", h, tt.wantType)
			}
			if tt.wantBody != "" && string(resp.Body()) != tt.wantBody {
				t.Errorf("body %s, want %s", resp.Body(), tt.wantBody)
			}
			if tt.wantStatus == 200 && string(got) != `{"event":1}` {
				t.Errorf("the function got %s", got)
			}
		})
	}
}
