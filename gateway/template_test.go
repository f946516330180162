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
