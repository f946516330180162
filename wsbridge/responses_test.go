package wsbridge

import (
	"net"
	"regexp"
	"testing"

	"github.com/valyala/fasthttp"
)

// Lines whose values differ per response.
var (
	dateLine  = regexp.MustCompile(`Date: [^\r]*\r\n`)
	requestID = regexp.MustCompile(`X-Amzn-Requestid: [^\r]*\r\n`)
)

// TestGatewayMadeResponsesAreAPIGatewaysBytes pins, byte for byte, the
// HTTP answers the bridge makes itself: @connections errors (with the
// x-amzn-ErrorType the AWS SDKs read) and refused upgrades.
func TestGatewayMadeResponsesAreAPIGatewaysBytes(t *testing.T) {
	b, err := New(Options{APIID: "testapi", Stages: []string{"prod"}, Logger: testLogger(t), MaxMessageBytes: 8})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := New(Options{APIID: "testapi", Stages: []string{"prod"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	_ = closed.Close()
	t.Cleanup(func() { _ = b.Close() })

	const json = "Content-Type: application/json\r\n"
	tests := []struct {
		name  string
		serve func(*fasthttp.RequestCtx)
		setup func(*fasthttp.Request)
		peer  string
		want  string
	}{
		{"@connections from a foreign address", func(ctx *fasthttp.RequestCtx) { b.ServeManagement(ctx, "prod", "abc") }, nil, "203.0.113.9",
			"HTTP/1.1 403 Forbidden\r\n" + json + "Content-Length: 23\r\nX-Amzn-Errortype: ForbiddenException\r\n\r\n{\"message\":\"Forbidden\"}"},
		{"@connections to a gone connection", func(ctx *fasthttp.RequestCtx) { b.ServeManagement(ctx, "prod", "abc") }, nil, "127.0.0.1",
			"HTTP/1.1 410 Gone\r\n" + json + "Content-Length: 18\r\nX-Amzn-Requestid: ID\r\nX-Amzn-Errortype: GoneException\r\n\r\n{\"message\":\"Gone\"}"},
		{"@connections POST over the message size", func(ctx *fasthttp.RequestCtx) { b.ServeManagement(ctx, "prod", "abc") },
			func(r *fasthttp.Request) { r.Header.SetMethod("POST"); r.SetBodyString("0123456789") }, "127.0.0.1",
			"HTTP/1.1 413 Request Entity Too Large\r\n" + json + "Content-Length: 38\r\nX-Amzn-Requestid: ID\r\nX-Amzn-Errortype: PayloadTooLargeException\r\n\r\n{\"message\":\"Request entity too large\"}"},
		{"upgrade to an unknown stage", func(ctx *fasthttp.RequestCtx) { b.ServeUpgrade(ctx, "nope", nil) }, nil, "127.0.0.1",
			"HTTP/1.1 403 Forbidden\r\n" + json + "Content-Length: 23\r\n\r\n{\"message\":\"Forbidden\"}"},
		{"upgrade to a closed bridge", func(ctx *fasthttp.RequestCtx) { closed.ServeUpgrade(ctx, "prod", nil) }, nil, "127.0.0.1",
			"HTTP/1.1 503 Service Unavailable\r\n" + json + "Content-Length: 33\r\n\r\n{\"message\":\"Service Unavailable\"}"},
		{"a plain GET of the stage URL", func(ctx *fasthttp.RequestCtx) { b.ServeUpgrade(ctx, "prod", nil) }, nil, "127.0.0.1",
			"HTTP/1.1 426 Upgrade Required\r\n" + json + "Content-Length: 30\r\nUpgrade: websocket\r\n\r\n{\"message\":\"Upgrade Required\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req fasthttp.Request
			req.SetRequestURI("/prod/@connections/abc")
			if tt.setup != nil {
				tt.setup(&req)
			}
			var ctx fasthttp.RequestCtx
			ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(tt.peer), Port: 40000}, nil)
			tt.serve(&ctx)
			got := dateLine.ReplaceAllString(ctx.Response.String(), "")
			got = requestID.ReplaceAllString(got, "X-Amzn-Requestid: ID\r\n")
			if got != tt.want {
				t.Errorf("response\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
