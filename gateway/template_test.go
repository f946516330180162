package gateway

import (
	"testing"
)

const templatedConfig = `
apis:
  shop:
    type: rest
    integrations:
      orders:
        type: http
        url: "http://upstream.test:80/orders/{id}"
        request_templates:
          application/json: |
            #set($o = $input.path('$'))
            {"customer": "$util.escapeJavaScript($o.name)", "id": "$input.params('id')", "ip": "$context.identity.sourceIp"}
        responses:
          - status: 200
            response_templates:
              application/json: '{"order": $input.json(''$'')}'
      health:
        type: mock
        request_templates: {application/json: '{"statusCode": 200}'}
        responses:
          - status: 200
            response_templates: {application/json: '{"status": "up", "stage": "$context.stage"}'}
    routes:
      "POST /orders/{id}": {integration: orders}
      "GET /health": {integration: health}
`

// BenchmarkTemplatedHTTPRoute is a REST non-proxy POST: request template,
// upstream call (in memory), response template.
func BenchmarkTemplatedHTTPRoute(b *testing.B) {
	g := newTestGateway(b, templatedConfig, petUpstream)
	ctx := newCtx("POST", "/orders/42")
	ctx.Request.Header.SetContentType("application/json")
	body := []byte(`{"name":"Ada"}`)
	ctx.Request.SetBody(body)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.SetBody(body)
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode(), string(ctx.Response.Body()))
		}
		drain(ctx)
	}
}

// BenchmarkTemplatedMockRoute is a REST mock with a request and a
// response template.
func BenchmarkTemplatedMockRoute(b *testing.B) {
	g := newTestGateway(b, templatedConfig, petUpstream)
	serveLoop(b, g, newCtx("GET", "/health"))
}

func TestTemplatedMockAnswersThroughTheGateway(t *testing.T) {
	g := newTestGateway(t, templatedConfig, petUpstream)
	ctx := newCtx("GET", "/health")
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Body()) != `{"status": "up", "stage": "$default"}` {
		t.Errorf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

const responsesConfig = `
apis:
  shop:
    type: rest
    stages: {v1: {variables: {team: core}}}
    gateway_responses:
      DEFAULT_5XX:
        status: 503
        response_parameters:
          gatewayresponse.header.X-Request: method.request.header.X-Client
          gatewayresponse.header.X-Team: stageVariables.team
          gatewayresponse.header.X-Stage: context.stage
          gatewayresponse.header.X-Query: method.request.querystring.q
      UNSUPPORTED_MEDIA_TYPE:
        response_templates:
          application/json: '{"message": $context.error.messageString, "got": "$input.params().header.get(''Content-Type'')"}'
      DEFAULT_4XX:
        response_templates:
          application/json: '$util.base64Decode(''***'')'
    integrations:
      xml-only:
        type: mock
        passthrough_behavior: never
        request_templates: {application/xml: '{"statusCode": 200}'}
      when-none:
        type: mock
        passthrough_behavior: when_no_templates
        request_templates: {application/xml: '{"statusCode": 200}'}
      broken:
        type: mock
        request_templates: {application/json: '$util.base64Decode(''***'')'}
    routes:
      "POST /xml": {integration: xml-only}
      "POST /none": {integration: when-none}
      "GET /broken": {integration: broken}
`

func TestGatewayResponsesCustomiseByTypeAndFallBack(t *testing.T) {
	g := newTestGateway(t, responsesConfig, petUpstream)
	// A failing request template: no API_CONFIGURATION_ERROR response,
	// so DEFAULT_5XX with its status and headers from the request, the
	// stage and the context; the body stays the default.
	ctx := newCtx("GET", "/v1/broken?q=abc")
	ctx.Request.Header.Set("X-Client", "c-1")
	g.Handle(ctx)
	h := &ctx.Response.Header
	if ctx.Response.StatusCode() != 503 || string(h.Peek("X-Request")) != "c-1" || string(h.Peek("X-Team")) != "core" ||
		string(h.Peek("X-Stage")) != "v1" || string(h.Peek("X-Query")) != "abc" ||
		string(ctx.Response.Body()) != `{"message":"Internal server error"}` {
		t.Errorf("DEFAULT_5XX: %d %s\n%s", ctx.Response.StatusCode(), ctx.Response.Body(), h.String())
	}

	for _, path := range []string{"/v1/xml", "/v1/none"} {
		ctx = newCtx("POST", path)
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(`{}`)
		g.Handle(ctx)
		if ctx.Response.StatusCode() != 415 || string(ctx.Response.Body()) != `{"message": "Unsupported Media Type", "got": "application/json"}` ||
			string(ctx.Response.Header.Peek("X-Amzn-Errortype")) != "UnsupportedMediaTypeException" {
			t.Errorf("%s: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}

	// A gateway response template that fails keeps the default body.
	ctx = newCtx("GET", "/v1/nope")
	g.Handle(ctx)
	if ctx.Response.StatusCode() != 403 || string(ctx.Response.Body()) != `{"message":"Missing Authentication Token"}` {
		t.Errorf("broken templates: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
