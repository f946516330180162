package server

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

// orderOrigin is a backend that wants orders in its own shape: it answers
// what it received, and 500 with its own error body for a customer named
// "fail".
func orderOrigin(t *testing.T) string {
	return startServer(t, func(ctx *fasthttp.RequestCtx) {
		var got struct {
			Customer string `json:"customer"`
			Lines    []struct {
				SKU string `json:"sku"`
				N   int    `json:"n"`
			} `json:"lines"`
		}
		ctx.SetContentType("application/json")
		if err := json.Unmarshal(ctx.Request.Body(), &got); err != nil {
			ctx.SetStatusCode(422)
			fmt.Fprintf(ctx, `{"error":%q,"body":%q}`, err.Error(), ctx.Request.Body())
			return
		}
		if got.Customer == "fail" {
			ctx.SetStatusCode(500)
			ctx.Response.Header.Set("X-Backend-Error", "db-down")
			ctx.WriteString(`{"message":"database unavailable","code":"E42"}`)
			return
		}
		out, _ := json.Marshal(map[string]any{
			"method": string(ctx.Method()), "uri": string(ctx.RequestURI()),
			"trace": string(ctx.Request.Header.Peek("X-Trace")), "received": got,
		})
		ctx.Write(out)
	})
}

const transformConfig = `
apis:
  shop:
    type: rest
    base_path: /shop
    stages: {v1: {variables: {origin: "http://{{UP}}", channel: web}}}
    integrations:
      orders:
        type: http
        url: "${stageVariables.origin}/v2/orders/{id}"
        method: PUT
        request_templates:
          application/json: |
            #set($o = $input.path('$'))
            #set($context.requestOverride.header.X-Trace = "t-$input.params('id')")
            #if($input.params('id') == "5")#set($context.requestOverride.path.id = "five")#end
            {
              "customer": "$util.escapeJavaScript($o.buyer.name)",
              "lines": [
            #foreach($item in $o.items)
                {"sku": "$item.id", "n": $item.quantity}#if($foreach.hasNext),#end
            #end
              ]
            }
        passthrough_behavior: never
        responses:
          - selection_pattern: "5\\d{2}"
            status: 400
            response_parameters:
              method.response.header.X-Error-Code: integration.response.header.X-Backend-Error
              method.response.header.X-Mapped: "'yes'"
            response_templates:
              application/json: |
                #set($err = $input.path('$'))
                {"error": "order rejected", "reason": "$err.message", "request": "$context.requestId"}
          - status: 201
            response_templates:
              application/json: '{"placed": true, "upstream": $input.json(''$.received''), "via": "$input.json(''$.method'').replace(''"'', '''')"}'
      status-mock:
        type: mock
        request_templates:
          application/json: |
            #if($input.params('mode') == "broken")
            {"statusCode": 503}
            #else
            {"statusCode": 200}
            #end
        responses:
          - selection_pattern: "5\\d\\d"
            status: 503
            response_templates:
              application/json: '{"status": "down", "stage": "$context.stage"}'
          - status: 200
            response_parameters:
              method.response.header.Cache-Control: "'max-age=60'"
            response_templates:
              application/json: |
                {"status": "up", "channel": "$stageVariables.channel", "who": "$input.params('who')"}
    routes:
      "POST /orders/{id}": {integration: orders}
      "GET /status": {integration: status-mock}
`

func TestRESTHTTPIntegrationMapsRequestAndErrorResponses(t *testing.T) {
	base := startGateway(t, transformConfig, orderOrigin(t))
	order := `{"buyer":{"name":"Ada \"the\" Countess"},"items":[{"id":"A-1","quantity":2},{"id":"B-7","quantity":1}]}`

	r := do(t, "POST", base+"/shop/v1/orders/77", strings.NewReader(order), "Content-Type", "application/json")
	if r.status != 201 {
		t.Fatalf("mapped order: %d %s", r.status, r.body)
	}
	var ok struct {
		Placed   bool `json:"placed"`
		Upstream struct {
			Customer string `json:"customer"`
			Lines    []struct {
				SKU string `json:"sku"`
				N   int    `json:"n"`
			} `json:"lines"`
		} `json:"upstream"`
		Via string `json:"via"`
	}
	if err := json.Unmarshal([]byte(r.body), &ok); err != nil {
		t.Fatalf("response body %q: %v", r.body, err)
	}
	u := ok.Upstream
	if !ok.Placed || ok.Via != "PUT" || u.Customer != `Ada "the" Countess` || len(u.Lines) != 2 ||
		u.Lines[0].SKU != "A-1" || u.Lines[0].N != 2 || u.Lines[1].SKU != "B-7" || u.Lines[1].N != 1 {
		t.Errorf("the upstream saw %+v via %s (body %s)", u, ok.Via, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}

	// The upstream's 500 goes through selection_pattern to a 400 with a
	// body of the API's own.
	fail := `{"buyer":{"name":"fail"},"items":[]}`
	r = do(t, "POST", base+"/shop/v1/orders/78", strings.NewReader(fail), "Content-Type", "application/json")
	var e struct{ Error, Reason, Request string }
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if r.status != 400 || e.Error != "order rejected" || e.Reason != "database unavailable" || e.Request != r.header.Get("X-Amzn-Requestid") || e.Request == "" {
		t.Errorf("upstream 500 mapped to %d %+v (request id %q)", r.status, e, r.header.Get("X-Amzn-Requestid"))
	}
	if r.header.Get("X-Error-Code") != "db-down" || r.header.Get("X-Mapped") != "yes" || r.header.Get("X-Backend-Error") != "" {
		t.Errorf("response parameters: %v", r.header)
	}

	// passthrough_behavior: never refuses a Content-Type without template.
	r = do(t, "POST", base+"/shop/v1/orders/79", strings.NewReader("a=b"), "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 415 || r.body != `{"message":"Unsupported Media Type"}` {
		t.Errorf("no template under never: %d %s", r.status, r.body)
	}
}

func TestRESTHTTPIntegrationAppliesRequestOverrides(t *testing.T) {
	var mu sync.Mutex
	var trace, uri string
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		trace, uri = string(ctx.Request.Header.Peek("X-Trace")), string(ctx.RequestURI())
		mu.Unlock()
		ctx.WriteString(`{}`)
	})
	base := startGateway(t, transformConfig, up)
	r := do(t, "POST", base+"/shop/v1/orders/5?x=1", strings.NewReader(`{"buyer":{"name":"b"},"items":[]}`))
	mu.Lock()
	defer mu.Unlock()
	if r.status != 201 || trace != "t-5" || uri != "/v2/orders/five?x=1" {
		t.Errorf("status %d; upstream saw X-Trace %q at %q", r.status, trace, uri)
	}
}

func TestRESTMockIntegrationWithTemplates(t *testing.T) {
	base := startGateway(t, transformConfig, "127.0.0.1:1")
	r := do(t, "GET", base+"/shop/v1/status?who=ops", nil)
	if r.status != 200 || strings.TrimSpace(r.body) != `{"status": "up", "channel": "web", "who": "ops"}` || r.header.Get("Cache-Control") != "max-age=60" {
		t.Errorf("mock 200: %d %q %v", r.status, r.body, r.header)
	}
	r = do(t, "GET", base+"/shop/v1/status?mode=broken", nil)
	if r.status != 503 || r.body != `{"status": "down", "stage": "v1"}` {
		t.Errorf("mock picking 503: %d %q", r.status, r.body)
	}
}

var (
	customOnce sync.Once
	customPath string
	customErr  error
)

// customFunction builds testdata/customfn once per test binary.
func customFunction(t *testing.T) string {
	t.Helper()
	customOnce.Do(func() {
		dir, err := os.MkdirTemp("", "frontdesk-customfn")
		if err != nil {
			customErr = err
			return
		}
		customPath = filepath.Join(dir, "bootstrap")
		out, err := exec.Command("go", "build", "-o", customPath, "./testdata/customfn").CombinedOutput()
		if err != nil {
			customErr = fmt.Errorf("build custom function: %v\n%s", err, out)
		}
	})
	if customErr != nil {
		t.Fatal(customErr)
	}
	return customPath
}

func TestRESTCustomLambdaIntegrationWrapsTheResult(t *testing.T) {
	cfg := fmt.Sprintf(`
functions:
  greet: {command: [%q], timeout: 5s}
apis:
  shop:
    type: rest
    base_path: /shop
    stages: {v1: {}}
    integrations:
      greet:
        type: lambda
        function: greet
        proxy: false
        request_templates:
          application/json: '{"name": "$input.params(''name'')", "stage": "$context.stage"}'
        responses:
          - selection_pattern: "bad name:.*"
            status: 422
            response_templates:
              application/json: '{"problem": "$util.escapeJavaScript($input.path(''$.errorMessage''))"}'
          - status: 200
            response_templates:
              application/json: '{"data": $input.json(''$''), "wrapped": true}'
    routes:
      "GET /greet/{name}": {integration: greet}
      "GET /greet": {integration: greet}
`, customFunction(t))
	base := startGateway(t, cfg, "")
	r := do(t, "GET", base+"/shop/v1/greet/ada", nil)
	if r.status != 200 || r.body != `{"data": {"greeting":"hello ada","stage":"v1"}, "wrapped": true}` {
		t.Errorf("wrapped result: %d %q", r.status, r.body)
	}
	r = do(t, "GET", base+"/shop/v1/greet", nil)
	if r.status != 422 || r.body != `{"problem": "bad name: empty"}` {
		t.Errorf("function error mapped by its message: %d %q", r.status, r.body)
	}
}

func TestDefault4XXGatewayResponseAddsCORSHeaders(t *testing.T) {
	cfg := `
apis:
  shop:
    type: rest
    base_path: /shop
    stages: {v1: {variables: {origin: "https://app.example.com"}}}
    gateway_responses:
      DEFAULT_4XX:
        response_parameters:
          gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
          gatewayresponse.header.Access-Control-Allow-Headers: "'Content-Type,Authorization'"
      THROTTLED:
        status: 503
        response_templates:
          application/json: '{"message": $context.error.messageString, "type": "$context.error.responseType"}'
    integrations:
      ping: {type: mock, status: 200, body: pong}
    routes:
      "GET /ping": {integration: ping}
      "GET /limited": {integration: ping, throttle: {rate: 0.001, burst: 1}}
`
	base := startGateway(t, cfg, "")
	r := do(t, "GET", base+"/shop/v1/nope", nil)
	if r.status != 403 || r.body != `{"message":"Missing Authentication Token"}` || r.header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("missing route: %d %q %v", r.status, r.body, r.header)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Access-Control-Allow-Headers") != "Content-Type,Authorization" {
		t.Errorf("DEFAULT_4XX headers missing on the 403: %v", r.header)
	}
	r = do(t, "GET", base+"/shop/v1/ping", nil)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a route's own answer got gateway response headers: %d %v", r.status, r.header)
	}

	// A type of its own wins over DEFAULT_4XX: its status and template,
	// and none of DEFAULT_4XX's headers.
	if r = do(t, "GET", base+"/shop/v1/limited", nil); r.status != 200 {
		t.Fatalf("first request within the burst: %d %s", r.status, r.body)
	}
	r = do(t, "GET", base+"/shop/v1/limited", nil)
	if r.status != 503 || r.body != `{"message": "Too Many Requests", "type": "THROTTLED"}` ||
		r.header.Get("X-Amzn-Errortype") != "TooManyRequestsException" || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("customised THROTTLED: %d %q %v", r.status, r.body, r.header)
	}
}

func TestRunawayTemplatesAnswerABounded500(t *testing.T) {
	cfg := `
apis:
  shop:
    type: rest
    base_path: /shop
    stages: {v1: {}}
    integrations:
      loop:
        type: mock
        request_templates: {application/json: '#foreach($i in [1..5000])x#end'}
      recurse:
        type: mock
        request_templates: {application/json: '#macro(r $n)#r($n)#end#r(1)'}
      nested:
        type: mock
        request_templates:
          application/json: '#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])#end#end#end'
      broken-response:
        type: mock
        responses: [{response_templates: {application/json: '$util.base64Decode(''***'')'}}]
    routes:
      "GET /loop": {integration: loop}
      "GET /recurse": {integration: recurse}
      "GET /nested": {integration: nested}
      "GET /broken": {integration: broken-response}
`
	base := startGateway(t, cfg, "")
	for _, p := range []string{"/loop", "/recurse", "/nested", "/broken"} {
		r := do(t, "GET", base+"/shop/v1"+p, nil)
		if r.status != 500 || r.body != `{"message":"Internal server error"}` || r.header.Get("X-Amzn-Errortype") != "InternalServerErrorException" {
			t.Errorf("%s: %d %q %v", p, r.status, r.body, r.header)
		}
	}
}

// Request validation answers through the API's gateway responses too: a
// BAD_REQUEST_PARAMETERS or BAD_REQUEST_BODY response customises them, its
// templates see $context.error.validationErrorString, and without a
// template the message still names the missing parameters.
func TestValidationFailuresAnswerThroughGatewayResponses(t *testing.T) {
	cfg := `
apis:
  shop:
    type: rest
    base_path: /shop
    stages: {v1: {}}
    request_validators:
      all: {validate_request_body: true, validate_request_parameters: true}
    request_validator: all
    models:
      Order: {schema: {type: object, required: [item]}}
    gateway_responses:
      BAD_REQUEST_BODY:
        status: 422
        response_templates:
          application/json: '{"error": "$context.error.validationErrorString", "type": "$context.error.responseType"}'
      BAD_REQUEST_PARAMETERS:
        response_parameters:
          gatewayresponse.header.X-Why: "'parameters'"
    integrations:
      ok: {type: mock, status: 200, body: ok}
    routes:
      "POST /orders":
        integration: ok
        request_models: {application/json: Order}
        request_parameters: {method.request.querystring.q1: true}
`
	base := startGateway(t, cfg, "")
	r := do(t, "POST", base+"/shop/v1/orders", strings.NewReader(`{"item":"tea"}`), "Content-Type", "application/json")
	if r.status != 400 || r.body != `{"message":"Missing required request parameters: [q1]"}` || r.header.Get("X-Why") != "parameters" {
		t.Errorf("missing parameter: %d %q %v", r.status, r.body, r.header)
	}
	r = do(t, "POST", base+"/shop/v1/orders?q1=x", strings.NewReader(`{}`), "Content-Type", "application/json")
	if r.status != 422 || !strings.Contains(r.body, `"type": "BAD_REQUEST_BODY"`) || !strings.Contains(r.body, "item") {
		t.Errorf("bad body: %d %q", r.status, r.body)
	}
	if r = do(t, "POST", base+"/shop/v1/orders?q1=x", strings.NewReader(`{"item":"tea"}`), "Content-Type", "application/json"); r.status != 200 {
		t.Errorf("valid request: %d %q", r.status, r.body)
	}
}
