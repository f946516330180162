package invoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// captured is what the fake Invoke API endpoint saw of one request.
type captured struct {
	method     string
	requestURI string
	host       string
	headers    http.Header
	body       []byte
}

// fakeEndpoint serves the Invoke API on 127.0.0.1:0 with the given handler
// and records every request it receives.
type fakeEndpoint struct {
	addr string
	reqs chan captured
}

func startFake(t *testing.T, h fasthttp.RequestHandler) *fakeEndpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f := &fakeEndpoint{addr: ln.Addr().String(), reqs: make(chan captured, 64)}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		c := captured{
			method:     string(ctx.Method()),
			requestURI: string(ctx.RequestURI()),
			host:       string(ctx.Host()),
			headers:    http.Header{},
			body:       append([]byte(nil), ctx.PostBody()...),
		}
		for k, v := range ctx.Request.Header.All() {
			c.headers.Add(string(k), string(v))
		}
		select {
		case f.reqs <- c:
		default:
		}
		h(ctx)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
	})
	return f
}

func (f *fakeEndpoint) last(t *testing.T) captured {
	t.Helper()
	select {
	case c := <-f.reqs:
		return c
	case <-time.After(2 * time.Second):
		t.Fatal("fake endpoint saw no request")
		return captured{}
	}
}

// reply builds a handler answering with a fixed status, headers and body.
func reply(status int, body string, headers ...string) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		for i := 0; i+1 < len(headers); i += 2 {
			ctx.Response.Header.Set(headers[i], headers[i+1])
		}
		ctx.SetStatusCode(status)
		ctx.SetBodyString(body)
	}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestInvokeClassifiesResponses(t *testing.T) {
	const event = `{"rawPath":"/hello"}`
	tests := []struct {
		name      string
		handler   fasthttp.RequestHandler
		wantFnErr string
		wantBody  string
		wantErr   error // matched with errors.Is
		wantSvc   *ServiceError
	}{
		{
			name:     "success returns the payload",
			handler:  reply(200, `{"statusCode":200,"body":"hi"}`),
			wantBody: `{"statusCode":200,"body":"hi"}`,
		},
		{
			name:      "X-Amz-Function-Error Unhandled is a function error",
			handler:   reply(200, `{"errorMessage":"boom"}`, "X-Amz-Function-Error", "Unhandled"),
			wantFnErr: "Unhandled",
			wantBody:  `{"errorMessage":"boom"}`,
		},
		{
			name:      "X-Amz-Function-Error Handled keeps its value",
			handler:   reply(200, `"nope"`, "X-Amz-Function-Error", "Handled"),
			wantFnErr: "Handled",
			wantBody:  `"nope"`,
		},
		{
			name:      "error document without header is a function error",
			handler:   reply(200, `{"errorMessage":"bad input","errorType":"errorString"}`),
			wantFnErr: "Unhandled",
			wantBody:  `{"errorMessage":"bad input","errorType":"errorString"}`,
		},
		{
			name:      "error document with stackTrace is a function error",
			handler:   reply(200, `{"errorMessage":"boom","errorType":"string","stackTrace":[{"path":"main.go","line":3,"label":"main"}]}`),
			wantFnErr: "Unhandled",
			wantBody:  `{"errorMessage":"boom","errorType":"string","stackTrace":[{"path":"main.go","line":3,"label":"main"}]}`,
		},
		{
			name:      "Java error document with cause is a function error",
			handler:   reply(200, ` {"errorMessage":"npe","errorType":"java.lang.NullPointerException","stackTrace":[],"cause":{"errorMessage":"x"}} `),
			wantFnErr: "Unhandled",
			wantBody:  ` {"errorMessage":"npe","errorType":"java.lang.NullPointerException","stackTrace":[],"cause":{"errorMessage":"x"}} `,
		},
		{
			name:      "Python error document with requestId is a function error",
			handler:   reply(200, `{"errorMessage":"division by zero","errorType":"ZeroDivisionError","requestId":"r1","stackTrace":["  File \"/var/task/app.py\""]}`),
			wantFnErr: "Unhandled",
			wantBody:  `{"errorMessage":"division by zero","errorType":"ZeroDivisionError","requestId":"r1","stackTrace":["  File \"/var/task/app.py\""]}`,
		},
		{
			name:      "Node.js error document with trace is a function error",
			handler:   reply(200, `{"errorType":"Error","errorMessage":"oops","trace":["Error: oops"]}`),
			wantFnErr: "Unhandled",
			wantBody:  `{"errorType":"Error","errorMessage":"oops","trace":["Error: oops"]}`,
		},
		{
			name:     "response with errorMessage errorType and other keys is not an error",
			handler:  reply(200, `{"statusCode":200,"errorMessage":"shown to user","errorType":"validation","body":"x"}`),
			wantBody: `{"statusCode":200,"errorMessage":"shown to user","errorType":"validation","body":"x"}`,
		},
		{
			name:     "errorMessage without errorType is not an error",
			handler:  reply(200, `{"errorMessage":"just a field","stackTrace":[]}`),
			wantBody: `{"errorMessage":"just a field","stackTrace":[]}`,
		},
		{
			name:     "non-string errorType is not an error",
			handler:  reply(200, `{"errorMessage":"m","errorType":42}`),
			wantBody: `{"errorMessage":"m","errorType":42}`,
		},
		{
			name:     "array mentioning the keys is not an error",
			handler:  reply(200, `[{"errorMessage":"m","errorType":"t"}]`),
			wantBody: `[{"errorMessage":"m","errorType":"t"}]`,
		},
		{
			name:     "invalid JSON mentioning the keys is not an error",
			handler:  reply(200, `{"errorMessage":"m","errorType":"t"`),
			wantBody: `{"errorMessage":"m","errorType":"t"`,
		},
		{
			name:     "plain text result is returned as is",
			handler:  reply(200, `Hello`),
			wantBody: `Hello`,
		},
		{
			name:     "empty result is an empty payload",
			handler:  reply(200, ``),
			wantBody: ``,
		},
		{
			name:    "RIE timeout text is a timeout",
			handler: reply(200, "Task timed out after 3.00 seconds"),
			wantErr: lambda.ErrTimeout,
		},
		{
			name:    "service error with x-amzn-ErrorType",
			handler: reply(404, `{"Type":"User","Message":"Function not found: arn:aws:lambda:us-west-2:012345678901:function:hello"}`, "x-amzn-ErrorType", "ResourceNotFoundException"),
			wantSvc: &ServiceError{Status: 404, Type: "ResourceNotFoundException", Message: "Function not found: arn:aws:lambda:us-west-2:012345678901:function:hello"},
		},
		{
			name:    "service error type drops the documentation suffix",
			handler: reply(429, `{"message":"Rate exceeded","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}`, "x-amzn-ErrorType", "TooManyRequestsException:http://internal.amazon.com/coral/com.amazonaws.lambda/"),
			wantSvc: &ServiceError{Status: 429, Type: "TooManyRequestsException", Message: "Rate exceeded"},
		},
		{
			name:    "managed-instances RIE Error-Type header is a service error",
			handler: reply(500, `internal failure`, "Error-Type", "Runtime.Unknown"),
			wantSvc: &ServiceError{Status: 500, Type: "Runtime.Unknown", Message: "internal failure"},
		},
		{
			name:    "error status with empty body is a service error",
			handler: reply(504, ``),
			wantSvc: &ServiceError{Status: 504},
		},
		{
			name:      "RIE init failure with error document is a function error",
			handler:   reply(502, `{"errorMessage":"fork/exec /var/task/bootstrap: no such file","errorType":"Runtime.InvalidEntrypoint"}`),
			wantFnErr: "Unhandled",
			wantBody:  `{"errorMessage":"fork/exec /var/task/bootstrap: no such file","errorType":"Runtime.InvalidEntrypoint"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, tt.handler)
			c := newClient(t, Config{InvokeURL: "http://" + f.addr, FunctionName: "hello", Timeout: 2 * time.Second})
			res, err := c.Invoke(context.Background(), []byte(event))

			req := f.last(t)
			if req.method != "POST" || req.requestURI != "/2015-03-31/functions/hello/invocations" {
				t.Errorf("request line = %s %s", req.method, req.requestURI)
			}
			if got := req.headers.Get("X-Amz-Invocation-Type"); got != "RequestResponse" {
				t.Errorf("X-Amz-Invocation-Type = %q", got)
			}
			if got := req.headers.Get("Authorization"); got != "" {
				t.Errorf("unsigned endpoint got Authorization %q", got)
			}
			if string(req.body) != event {
				t.Errorf("body = %q", req.body)
			}

			switch {
			case tt.wantSvc != nil:
				var se *ServiceError
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *ServiceError", err)
				}
				if *se != *tt.wantSvc {
					t.Errorf("ServiceError = %+v, want %+v", *se, *tt.wantSvc)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				if res.FunctionError != tt.wantFnErr {
					t.Errorf("FunctionError = %q, want %q", res.FunctionError, tt.wantFnErr)
				}
				if string(res.Payload) != tt.wantBody {
					t.Errorf("Payload = %q, want %q", res.Payload, tt.wantBody)
				}
			}
		})
	}
}

func TestInvokeTimesOut(t *testing.T) {
	// The function answers only when the test ends, so an Invoke that
	// returns at all was ended by its timeout.
	slow := func(gone <-chan struct{}) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			<-gone
			ctx.SetBodyString(`{}`)
		}
	}
	tests := []struct {
		name        string
		timeout     time.Duration
		ctxTimeout  time.Duration
		wantCtxErr  bool
		maxDuration time.Duration
	}{
		{name: "client timeout is lambda.ErrTimeout", timeout: 100 * time.Millisecond, maxDuration: 4 * time.Second},
		{name: "earlier context deadline also wraps context.DeadlineExceeded", timeout: 5 * time.Second, ctxTimeout: 100 * time.Millisecond, wantCtxErr: true, maxDuration: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := make(chan struct{})
			f := startFake(t, slow(gone))
			t.Cleanup(func() { close(gone) }) // before the fake's shutdown waits for the handler
			c := newClient(t, Config{InvokeURL: "http://" + f.addr, FunctionName: "slow", Timeout: tt.timeout})
			ctx := context.Background()
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			_, err := c.Invoke(ctx, []byte(`{}`))
			if !errors.Is(err, lambda.ErrTimeout) {
				t.Fatalf("err = %v, want lambda.ErrTimeout", err)
			}
			if got := errors.Is(err, context.DeadlineExceeded); got != tt.wantCtxErr {
				t.Errorf("errors.Is(err, DeadlineExceeded) = %v, want %v", got, tt.wantCtxErr)
			}
			if d := time.Since(start); d > tt.maxDuration {
				t.Errorf("Invoke took %s, want < %s", d, tt.maxDuration)
			}
		})
	}
}

func TestInvokeCanceledContextSendsNothing(t *testing.T) {
	f := startFake(t, reply(200, `{}`))
	c := newClient(t, Config{InvokeURL: "http://" + f.addr, FunctionName: "fn"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	select {
	case <-f.reqs:
		t.Fatal("a canceled invocation reached the endpoint")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestInvokeUnreachableEndpointIsNotATimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := newClient(t, Config{InvokeURL: "http://" + addr, FunctionName: "fn", Timeout: time.Second})
	_, err = c.Invoke(context.Background(), []byte(`{}`))
	if err == nil || errors.Is(err, lambda.ErrTimeout) {
		t.Fatalf("err = %v, want a connection error", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{name: "missing function name", cfg: Config{InvokeURL: "http://127.0.0.1:3001"}},
		{name: "unsupported scheme", cfg: Config{InvokeURL: "ftp://127.0.0.1", FunctionName: "f"}},
		{name: "no host", cfg: Config{InvokeURL: "http://", FunctionName: "f"}},
		{name: "unparsable URL", cfg: Config{InvokeURL: "http://[::1", FunctionName: "f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(context.Background(), tt.cfg); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestAWSEndpointRegion(t *testing.T) {
	tests := []struct {
		host       string
		wantRegion string
		wantAWS    bool
	}{
		{"lambda.us-east-1.amazonaws.com", "us-east-1", true},
		{"LAMBDA.eu-west-3.amazonaws.com.", "eu-west-3", true},
		{"lambda-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", true},
		{"lambda.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"lambda.us-east-1.api.aws", "us-east-1", true},
		{"127.0.0.1", "", false},
		{"localhost", "", false},
		{"lambda.amazonaws.com", "", false},
		{"lambda.us-east-1.amazonaws.com.evil.example", "", false},
		{"s3.us-east-1.amazonaws.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			region, ok := awsEndpointRegion(tt.host)
			if region != tt.wantRegion || ok != tt.wantAWS {
				t.Errorf("awsEndpointRegion(%q) = %q, %v; want %q, %v", tt.host, region, ok, tt.wantRegion, tt.wantAWS)
			}
		})
	}
}

var (
	authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/lambda/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)
	dateRE = regexp.MustCompile(`^(\d{8})T\d{6}Z$`)
)

func staticCreds(akid, secret, token string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token, Source: "test"}, nil
	})
}

// verifySignature re-signs what the endpoint received with the SDK signer,
// using only the headers the client declared as signed, and compares.
func verifySignature(t *testing.T, req captured, creds aws.Credentials, region string) {
	t.Helper()
	auth := req.headers.Get("Authorization")
	m := authRE.FindStringSubmatch(auth)
	if m == nil {
		t.Fatalf("Authorization %q does not have the SigV4 shape", auth)
	}
	if m[1] != creds.AccessKeyID || m[3] != region {
		t.Errorf("credential scope = %s/%s, want %s/%s", m[1], m[3], creds.AccessKeyID, region)
	}
	amzDate := req.headers.Get("X-Amz-Date")
	dm := dateRE.FindStringSubmatch(amzDate)
	if dm == nil || dm[1] != m[2] {
		t.Fatalf("X-Amz-Date = %q, credential date %s", amzDate, m[2])
	}
	signed := strings.Split(m[4], ";")
	for _, want := range []string{"host", "x-amz-date", "content-type", "x-amz-invocation-type"} {
		if !slices.Contains(signed, want) {
			t.Errorf("SignedHeaders %q lacks %s", m[4], want)
		}
	}
	if creds.SessionToken != "" && !slices.Contains(signed, "x-amz-security-token") {
		t.Errorf("SignedHeaders %q lacks x-amz-security-token", m[4])
	}

	u, err := url.ParseRequestURI(req.requestURI)
	if err != nil {
		t.Fatalf("parse request URI: %v", err)
	}
	u.Scheme, u.Host = "http", req.host
	hreq := &http.Request{Method: req.method, URL: u, Host: req.host, Header: http.Header{}, ContentLength: int64(len(req.body))}
	for _, h := range signed {
		if h == "host" || h == "content-length" || h == "x-amz-date" || h == "x-amz-security-token" {
			continue // the signer adds these itself
		}
		hreq.Header.Set(h, req.headers.Get(h))
	}
	at, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex(req.body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, hreq, sum, "lambda", region, at); err != nil {
		t.Fatalf("re-sign: %v", err)
	}
	if got := hreq.Header.Get("Authorization"); got != auth {
		t.Errorf("signature mismatch:\n got  %s\n want %s", auth, got)
	}
}

func TestInvokeSignsWithExplicitCredentials(t *testing.T) {
	tests := []struct {
		name     string
		function string
		wantPath string
		token    string
	}{
		{name: "plain name", function: "hello", wantPath: "/2015-03-31/functions/hello/invocations"},
		{name: "ARN with qualifier and session token", function: "arn:aws:lambda:eu-west-1:123456789012:function:hello:live", token: "SESSIONTOKEN",
			wantPath: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Ahello%3Alive/invocations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, reply(200, `{"ok":true}`))
			creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: tt.token}
			c := newClient(t, Config{
				InvokeURL:    "http://" + f.addr,
				FunctionName: tt.function,
				Region:       "eu-west-1",
				Credentials:  staticCreds(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
			})
			if !c.Signed() {
				t.Fatal("explicit credentials did not turn signing on")
			}
			if _, err := c.Invoke(context.Background(), []byte(`{"a":1}`)); err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			req := f.last(t)
			if req.requestURI != tt.wantPath {
				t.Errorf("request URI = %s, want %s", req.requestURI, tt.wantPath)
			}
			if got := req.headers.Get("X-Amz-Security-Token"); got != tt.token {
				t.Errorf("X-Amz-Security-Token = %q, want %q", got, tt.token)
			}
			verifySignature(t, req, creds, "eu-west-1")
		})
	}
}

// isolateAWSEnv points the SDK's default chain at environment credentials
// only, so the test does not read the machine's files or IMDS.
func isolateAWSEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secretfromenv")
	t.Setenv("AWS_SESSION_TOKEN", "")
}

func TestInvokeSignsAWSEndpointWithDefaultChain(t *testing.T) {
	isolateAWSEnv(t)
	f := startFake(t, reply(200, `{}`))
	c := newClient(t, Config{
		InvokeURL:    "http://lambda.eu-central-1.amazonaws.com",
		FunctionName: "hello",
		// Reach the fake endpoint whatever the host name says.
		Dial: func(string) (net.Conn, error) { return net.Dial("tcp", f.addr) },
	})
	if !c.Signed() {
		t.Fatal("AWS endpoint is not signed")
	}
	if _, err := c.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	req := f.last(t)
	if req.host != "lambda.eu-central-1.amazonaws.com" {
		t.Errorf("Host = %q", req.host)
	}
	verifySignature(t, req, aws.Credentials{AccessKeyID: "AKIDFROMENV", SecretAccessKey: "secretfromenv"}, "eu-central-1")
}

func TestInvokeLeavesLocalEndpointUnsigned(t *testing.T) {
	isolateAWSEnv(t)
	f := startFake(t, reply(200, `{}`))
	c := newClient(t, Config{InvokeURL: "http://" + f.addr, FunctionName: "function"})
	if c.Signed() {
		t.Fatal("local endpoint without explicit credentials is signed")
	}
	if _, err := c.Invoke(context.Background(), []byte(`{}`)); err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	req := f.last(t)
	for _, h := range []string{"Authorization", "X-Amz-Date"} {
		if v := req.headers.Get(h); v != "" {
			t.Errorf("%s = %q on an unsigned call", h, v)
		}
	}
}

func TestInvokeDoesNotRetainPayload(t *testing.T) {
	f := startFake(t, reply(200, `{"n":1}`))
	c := newClient(t, Config{InvokeURL: "http://" + f.addr, FunctionName: "fn"})
	payload := []byte(`{"x":1}`)
	res, err := c.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	// The result must own its bytes: pooled response buffers are reused.
	if _, err := c.Invoke(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Payload, []byte(`{"n":1}`)) {
		t.Errorf("first payload changed to %q", res.Payload)
	}
}

func BenchmarkClientInvoke(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: reply(200, `{"statusCode":200,"body":"hello"}`)}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	c, err := New(context.Background(), Config{InvokeURL: "http://" + ln.Addr().String(), FunctionName: "hello"})
	if err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"version":"2.0","rawPath":"/hello","requestContext":{"http":{"method":"GET"}}}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Results over AWS's 6 MB limit, which only an emulator delivers, are
// answered as API Gateway answers the Function.ResponseSizeTooLarge error
// AWS returns for them: REST 502, HTTP API 500.
func TestOversizedResultsAreAnsweredAsAWSDoes(t *testing.T) {
	cases := []struct {
		name     string
		size     int
		wantType string // errorType of the function error, "" when Invoke returns the result
	}{
		{"7 MiB: read, refused by the result parser", 7 << 20, ""},
		{"over the client's 8 MiB limit: a function error", DefaultMaxResponseBytes + 1, "Function.ResponseSizeTooLarge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const head, tail = `{"statusCode":200,"body":"`, `"}`
			body := head + strings.Repeat("a", c.size-len(head)-len(tail)) + tail
			f := startFake(t, reply(200, body))
			cl := newClient(t, Config{InvokeURL: "http://" + f.addr, FunctionName: "function"})
			res, err := cl.Invoke(context.Background(), []byte(`{}`))
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if c.wantType == "" {
				if res.FunctionError != "" || len(res.Payload) != c.size {
					t.Fatalf("FunctionError %q, %d payload bytes; want the %d-byte result", res.FunctionError, len(res.Payload), c.size)
				}
				var r lambda.Response
				err = lambda.ParseResponseV1(res.Payload, &r)
			} else {
				if res.FunctionError != "Unhandled" || !bytes.Contains(res.Payload, []byte(`"errorType":"`+c.wantType+`"`)) {
					t.Fatalf("FunctionError %q, payload %.200s; want an Unhandled %s", res.FunctionError, res.Payload, c.wantType)
				}
				err = res.Err()
			}
			if err == nil {
				t.Fatal("the oversized result was accepted")
			}
			// Answered like every function error or malformed result:
			// REST 502, HTTP API 500 (pinned in proxy's tests).
			if !errors.Is(err, lambda.ErrFunction) && !errors.Is(err, lambda.ErrMalformedResponse) {
				t.Errorf("err %v is neither a function error nor a malformed result", err)
			}
		})
	}
}
