package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

var (
	fnOnce sync.Once
	fnPath string
	fnErr  error
)

// testFunction builds testdata/apigwfn once per test binary.
func testFunction(t *testing.T) string {
	t.Helper()
	fnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "frontdesk-fn")
		if err != nil {
			fnErr = err
			return
		}
		fnPath = filepath.Join(dir, "bootstrap")
		out, err := exec.Command("go", "build", "-o", fnPath, "./testdata/apigwfn").CombinedOutput()
		if err != nil {
			fnErr = fmt.Errorf("build test function: %v\n%s", err, out)
		}
	})
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	return fnPath
}

func lambdaConfig(bin string) string {
	return fmt.Sprintf(`
functions:
  fn: {command: [%q], concurrency: 2, timeout: 1s}
apis:
  web:
    type: http
    base_path: /web
    stages: {prod: {variables: {color: blue}}}
    integrations:
      v2: {type: lambda, function: fn}
      v1: {type: lambda, function: fn, payload_format: "1.0"}
    routes:
      "ANY /v2/{proxy+}": {integration: v2}
      "ANY /v1/{proxy+}": {integration: v1}
  shop:
    type: rest
    base_path: /shop
    stages: {dev: {variables: {color: red}}}
    integrations:
      fn: {type: lambda, function: fn}
    routes:
      "ANY /items/{id}": {integration: fn}
`, bin)
}

type echoed struct {
	Version  string            `json:"version"`
	Method   string            `json:"method"`
	Path     string            `json:"path"`
	RouteKey string            `json:"routeKey"`
	Params   map[string]string `json:"params"`
	Query    map[string]string `json:"query"`
	Header   string            `json:"header"`
	Cookies  []string          `json:"cookies"`
	Body     string            `json:"body"`
	Base64   bool              `json:"base64"`
	Stage    string            `json:"stage"`
	StageVar string            `json:"stageVar"`
	PID      int               `json:"pid"`
	SourceIP string            `json:"sourceIp"`
	ReqID    string            `json:"requestId"`
}

func decodeEcho(t *testing.T, r result) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return e
}

func TestLambdaFunctionsServeBothPayloadFormats(t *testing.T) {
	base := startGateway(t, lambdaConfig(testFunction(t)), "")

	r := do(t, "GET", base+"/web/prod/v2/a/b?x=1&x=2", nil, "X-Test", "t", "Cookie", "c1=1; c2=2")
	e := decodeEcho(t, r)
	if r.status != 201 || r.header.Get("X-Fn") != "v2" || len(r.header.Values("Set-Cookie")) != 2 {
		t.Errorf("2.0 response: %d %v", r.status, r.header)
	}
	if e.Version != "2.0" || e.Method != "GET" || e.Path != "/web/prod/v2/a/b" || e.RouteKey != "ANY /v2/{proxy+}" ||
		e.Params["proxy"] != "a/b" || e.Query["x"] != "1,2" || e.Header != "t" || strings.Join(e.Cookies, ";") != "c1=1;c2=2" ||
		e.Stage != "prod" || e.StageVar != "blue" || e.SourceIP != "127.0.0.1" || e.ReqID != r.header.Get("apigw-requestid") {
		t.Errorf("2.0 event as the function saw it: %+v", e)
	}

	r = do(t, "POST", base+"/web/prod/v2/text", strings.NewReader("hello"), "Content-Type", "text/plain")
	if e := decodeEcho(t, r); e.Body != "hello" || e.Base64 {
		t.Errorf("text body: %+v", e)
	}
	bin := []byte{0xff, 0x00, 0x10}
	r = do(t, "POST", base+"/web/prod/v2/bin", bytes.NewReader(bin), "Content-Type", "application/octet-stream")
	if e := decodeEcho(t, r); e.Body != base64.StdEncoding.EncodeToString(bin) || !e.Base64 {
		t.Errorf("binary body: %+v", e)
	}
	r = do(t, "GET", base+"/web/prod/v2/x/binary", nil)
	if r.status != 200 || r.body != string([]byte{0, 1, 2, 255}) {
		t.Errorf("binary response: %d %q", r.status, r.body)
	}

	r = do(t, "GET", base+"/web/prod/v1/a?q=1", nil, "X-Test", "t1")
	e = decodeEcho(t, r)
	if r.status != 200 || strings.Join(r.header.Values("X-Multi"), ",") != "m1,m2" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("1.0 response: %d %v", r.status, r.header)
	}
	if e.Version != "1.0" || e.Params["proxy"] != "a" || e.Query["q"] != "1" || e.Header != "t1" || e.Stage != "prod" {
		t.Errorf("1.0 event: %+v", e)
	}

	r = do(t, "GET", base+"/shop/dev/items/7", nil)
	e = decodeEcho(t, r)
	if r.status != 200 || e.Version != "1.0" || e.Path != "/items/7" || e.RouteKey != "/items/{id}" || e.Params["id"] != "7" ||
		e.Stage != "dev" || e.StageVar != "red" || e.ReqID != r.header.Get("x-amzn-RequestId") {
		t.Errorf("REST event: %d %+v", r.status, e)
	}
}

func TestLambdaFailuresFollowTheDialects(t *testing.T) {
	base := startGateway(t, lambdaConfig(testFunction(t)), "")
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/web/prod/v2/x/error", 500, `{"message":"Internal Server Error"}`},
		{"/web/prod/v2/x/panic", 500, `{"message":"Internal Server Error"}`},
		{"/web/prod/v2/x/sleep", 503, `{"message":"Service Unavailable"}`},
		{"/shop/dev/items/error", 502, `{"message":"Internal server error"}`},
		{"/shop/dev/items/sleep", 504, `{"message":"Endpoint request timed out"}`},
		{"/web/prod/v2/x/after-failures", 201, ""},
	}
	for _, c := range cases {
		r := do(t, "GET", base+c.path, nil)
		if r.status != c.status || (c.body != "" && r.body != c.body) {
			t.Errorf("%s: %d %s, want %d %s", c.path, r.status, r.body, c.status, c.body)
		}
	}
}

func TestLambdaConcurrencyIsBounded(t *testing.T) {
	base := startGateway(t, lambdaConfig(testFunction(t)), "")
	var mu sync.Mutex
	pids := map[int]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(base + "/web/prod/v2/x/slow")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var e echoed
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 201 {
				t.Errorf("status %d: %v", resp.StatusCode, err)
				return
			}
			mu.Lock()
			pids[e.PID] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(pids) == 0 || len(pids) > 2 {
		t.Errorf("8 concurrent requests ran in %d instances; concurrency is 2", len(pids))
	}
}

// A remote function behind an Invoke API endpoint (here a fake one, as
// aws-lambda-rie or sam local start-lambda would be).
func TestRemoteFunctionThroughTheInvokeAPI(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	invokeAPI := startServer(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		paths = append(paths, string(ctx.Path()))
		mu.Unlock()
		var ev struct {
			RawPath string `json:"rawPath"`
		}
		json.Unmarshal(ctx.PostBody(), &ev)
		switch {
		case strings.HasSuffix(ev.RawPath, "/fail"): // RIE style: no header, error document as the body
			ctx.SetBodyString(`{"errorMessage":"boom","errorType":"Error","stackTrace":[]}`)
		case strings.HasSuffix(ev.RawPath, "/flagged"):
			ctx.Response.Header.Set("X-Amz-Function-Error", "Unhandled")
			ctx.SetBodyString(`{"errorMessage":"boom"}`)
		default:
			ctx.SetBodyString(`{"statusCode":200,"body":"remote:` + ev.RawPath + `"}`)
		}
	})
	base := startGateway(t, fmt.Sprintf(`
functions:
  remote: {invoke_url: "http://%s", function_name: function}
apis:
  a:
    integrations: {fn: {type: lambda, function: remote}}
    routes: {"ANY /{proxy+}": {integration: fn}}
`, invokeAPI), "")
	for _, c := range []struct {
		path   string
		status int
		body   string
	}{
		{"/hello", 200, "remote:/hello"},
		{"/x/fail", 500, `{"message":"Internal Server Error"}`},
		{"/x/flagged", 500, `{"message":"Internal Server Error"}`},
	} {
		if r := do(t, "GET", base+c.path, nil); r.status != c.status || r.body != c.body {
			t.Errorf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/2015-03-31/functions/function/invocations" {
		t.Errorf("invoke paths %v", paths)
	}
}

// Through the server and a real function: cookies reach a 2.0 event as the
// client sent them (quotes and backslashes kept), and an HTTP API sends a
// form post base64-encoded, as API Gateway does.
func TestLambdaEventsCarryCookiesAsSentAndFormBodiesAsBase64(t *testing.T) {
	base := startGateway(t, lambdaConfig(testFunction(t)), "")
	r := do(t, "POST", base+"/web/prod/v2/form", strings.NewReader("a=1&b=2"),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", `q="quoted"; s=back\slash`)
	e := decodeEcho(t, r)
	if want := []string{`q="quoted"`, `s=back\slash`}; !slices.Equal(e.Cookies, want) {
		t.Errorf("cookies %q, want %q", e.Cookies, want)
	}
	if !e.Base64 || e.Body != base64.StdEncoding.EncodeToString([]byte("a=1&b=2")) {
		t.Errorf("form body %q (base64 %v), want it base64-encoded", e.Body, e.Base64)
	}
}
