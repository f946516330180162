package proxy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// failingInvoker answers every invocation with a fixed result or error.
type failingInvoker struct {
	res lambda.Result
	err error
}

func (f failingInvoker) Invoke(context.Context, []byte) (lambda.Result, error) { return f.res, f.err }

var dateLine = regexp.MustCompile(`Date: [^\r]*\r\n`)

// TestLambdaFailuresAreAnsweredInTheAPIsDialect pins, byte for byte, what a
// client receives when a Lambda integration fails.
func TestLambdaFailuresAreAnsweredInTheAPIsDialect(t *testing.T) {
	const (
		restInternal = "InternalServerErrorException"
	)
	tests := []struct {
		name       string
		inv        failingInvoker
		restStatus int
		restBody   string
		httpStatus int
		httpBody   string
	}{
		{"timeout", failingInvoker{err: lambda.ErrTimeout}, 504, `{"message":"Endpoint request timed out"}`, 503, `{"message":"Service Unavailable"}`},
		{"wrapped timeout", failingInvoker{err: fmt.Errorf("invoke hello: %w", lambda.ErrTimeout)}, 504, `{"message":"Endpoint request timed out"}`, 503, `{"message":"Service Unavailable"}`},
		{"context deadline", failingInvoker{err: context.DeadlineExceeded}, 504, `{"message":"Endpoint request timed out"}`, 503, `{"message":"Service Unavailable"}`},
		{"function error", failingInvoker{res: lambda.Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled"}}, 502, `{"message":"Internal server error"}`, 500, `{"message":"Internal Server Error"}`},
		{"malformed result", failingInvoker{res: lambda.Result{Payload: []byte("not json")}}, 502, `{"message":"Internal server error"}`, 500, `{"message":"Internal Server Error"}`},
		{"invoke failed", failingInvoker{err: errors.New("connection refused")}, 500, `{"message":"Internal server error"}`, 500, `{"message":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		for _, rest := range []bool{true, false} {
			name := tt.name + "/http"
			status, body, errType, dialect := tt.httpStatus, tt.httpBody, "", apierror.HTTP
			if rest {
				name = tt.name + "/rest"
				status, body, errType, dialect = tt.restStatus, tt.restBody, restInternal, apierror.REST
			}
			t.Run(name, func(t *testing.T) {
				format := "2.0"
				if rest {
					format = "1.0"
				}
				l := NewLambda(tt.inv, format, rest, 0)
				var ctx fasthttp.RequestCtx
				ctx.Request.SetRequestURI("/items")
				ctx.Response.Header.Set("X-Left-Over", "from an earlier step")
				ex := &exchange.Exchange{Ctx: &ctx, Dialect: dialect, Path: []byte("/items"), RouteInfo: &exchange.RouteInfo{RouteKey: "GET /items", REST: rest}}
				l.Serve(ex)
				want := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", status, fasthttp.StatusMessage(status), len(body))
				if errType != "" {
					want += "X-Amzn-Errortype: " + errType + "\r\n"
				}
				want += "\r\n" + body
				got := dateLine.ReplaceAllString(ctx.Response.String(), "")
				if got != want {
					t.Errorf("response\n%q\nwant\n%q", got, want)
				}
				if ex.IntegrationError == nil {
					t.Error("IntegrationError not recorded")
				}
			})
		}
	}
}

// A Lambda result's header names reach the client as the function spelled
// them, as API Gateway sends them, in both payload formats.
func TestLambdaResultHeaderNamesKeepTheFunctionsSpelling(t *testing.T) {
	for _, format := range []string{"1.0", "2.0"} {
		t.Run(format, func(t *testing.T) {
			inv := failingInvoker{res: lambda.Result{Payload: []byte(
				`{"statusCode":200,"headers":{"x-lower":"1","X-MiXeD":"2","content-type":"text/plain","x-amzn-requestid":"fn"},"body":"ok"}`)}}
			l := NewLambda(inv, format, format == "1.0", 0)
			var ctx fasthttp.RequestCtx
			ctx.Request.SetRequestURI("/items")
			ex := &exchange.Exchange{Ctx: &ctx, Path: []byte("/items"), RouteInfo: &exchange.RouteInfo{RouteKey: "GET /items"},
				RequestIDHeader: []byte("X-Amzn-Requestid")}
			l.Serve(ex)
			got := ctx.Response.String()
			// The request id header is the gateway's to write.
			if strings.Contains(strings.ToLower(got), "x-amzn-requestid") {
				t.Errorf("the function's request id header was kept:\n%s", got)
			}
			for _, line := range []string{"\r\nx-lower: 1\r\n", "\r\nX-MiXeD: 2\r\n", "\r\nContent-Type: text/plain\r\n"} {
				if !strings.Contains(got, line) {
					t.Errorf("response lacks %q:\n%s", line, got)
				}
			}
		})
	}
}

// captureInvoker records the event it was given and answers with result.
type captureInvoker struct {
	event  *[]byte
	result string
}

func (c captureInvoker) Invoke(_ context.Context, ev []byte) (lambda.Result, error) {
	*c.event = append((*c.event)[:0], ev...)
	return lambda.Result{Payload: []byte(c.result)}, nil
}

// A REST Lambda integration with binary media types sends a matching
// request body base64 and decodes a base64 result for a matching Accept;
// without them the base64 text is the body, as API Gateway answers.
func TestRESTLambdaFollowsBinaryMediaTypes(t *testing.T) {
	images, err := lambda.NewBinaryTypes([]string{"image/*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name       string
		types      *lambda.BinaryTypes
		wantEvent  string
		wantAnswer string
	}{
		{"with image/*", images, `"body":"cG5n","isBase64Encoded":true`, "hi"},
		{"without", nil, `"body":"png","isBase64Encoded":false`, "aGk="},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var event []byte
			inv := captureInvoker{event: &event, result: `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`}
			l := NewLambda(inv, "1.0", true, 0).WithBinaryTypes(tt.types)
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/upload")
			ctx.Request.Header.SetContentType("image/png")
			ctx.Request.Header.Set("Accept", "image/png")
			ctx.Request.SetBodyString("png")
			ex := &exchange.Exchange{Ctx: &ctx, Dialect: apierror.REST, Path: []byte("/upload"),
				RouteInfo: &exchange.RouteInfo{RouteKey: "POST /upload", REST: true}}
			l.Serve(ex)
			if !strings.Contains(string(event), tt.wantEvent) {
				t.Errorf("event lacks %s:\n%s", tt.wantEvent, event)
			}
			if got := string(ctx.Response.Body()); got != tt.wantAnswer {
				t.Errorf("answer %q, want %q", got, tt.wantAnswer)
			}
		})
	}
}

// stallInvoker waits for its context to end (the integration timeout)
// while stall is set, else answers at once; it records the deadline it
// was given.
type stallInvoker struct {
	stall    *bool
	deadline *time.Duration
}

func (s stallInvoker) Invoke(ctx context.Context, _ []byte) (lambda.Result, error) {
	d, _ := ctx.Deadline()
	*s.deadline = time.Until(d)
	if *s.stall {
		select {
		case <-ctx.Done():
			return lambda.Result{}, ctx.Err()
		case <-time.After(10 * time.Second):
			return lambda.Result{}, errors.New("the integration timeout never came")
		}
	}
	if err := ctx.Err(); err != nil {
		return lambda.Result{}, err
	}
	return lambda.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
}

// The integration timeout ends a stalled invocation (504 on a REST API),
// and the invocations after it get a fresh deadline, though their context
// is the one that expired, armed again.
func TestLambdaIntegrationTimeoutEndsTheWaitAndTheNextInvocationRunsAfresh(t *testing.T) {
	stall := true
	var deadline time.Duration
	l := NewLambda(stallInvoker{&stall, &deadline}, "1.0", true, 100*time.Millisecond)
	serve := func() *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/items")
		l.Serve(&exchange.Exchange{Ctx: &ctx, Dialect: apierror.REST, Path: []byte("/items"),
			RouteInfo: &exchange.RouteInfo{RouteKey: "GET /items", REST: true}})
		return &ctx
	}

	start := time.Now()
	if ctx := serve(); ctx.Response.StatusCode() != 504 {
		t.Fatalf("stalled invocation: %d %s, want 504", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the 100ms integration timeout took %s", d)
	}
	stall = false
	for i := range 3 {
		if ctx := serve(); ctx.Response.StatusCode() != 200 {
			t.Fatalf("invocation %d after the timeout: %d %s, want 200", i, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		if deadline <= 0 || deadline > 100*time.Millisecond {
			t.Errorf("invocation %d got a deadline %s away, want within the 100ms timeout", i, deadline)
		}
	}
}
