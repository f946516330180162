// Command apigwfn is the gateway tests' Lambda function: an aws-lambda-go
// handler for API Gateway proxy events of both payload formats. The last
// path segment picks what it does: "error" returns an error, "panic"
// panics, "sleep" outlasts the test's timeout; anything else echoes what
// the event carried.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type echo struct {
	Version    string            `json:"version"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	RouteKey   string            `json:"routeKey"`
	Params     map[string]string `json:"params"`
	Query      map[string]string `json:"query"`
	Header     string            `json:"header"`
	Cookies    []string          `json:"cookies"`
	Body       string            `json:"body"`
	Base64     bool              `json:"base64"`
	Stage      string            `json:"stage"`
	StageVar   string            `json:"stageVar"`
	Authorizer any               `json:"authorizer"`
	PID        int               `json:"pid"`
	SourceIP   string            `json:"sourceIp"`
	RequestID  string            `json:"requestId"`
}

func behave(path string) error {
	switch path[strings.LastIndexByte(path, '/')+1:] {
	case "error":
		return errors.New("handler said no")
	case "panic":
		panic("handler panicked")
	case "sleep":
		time.Sleep(3 * time.Second)
	case "slow":
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// function keeps what one process has seen across invocations.
type function struct {
	authorizations atomic.Int64 // authorizer events answered, so a test can count calls
}

func (f *function) handle(_ context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Version string            `json:"version"`
		Type    string            `json:"type"`
		Headers map[string]string `json:"headers"`
	}
	_ = json.Unmarshal(raw, &probe)
	if probe.Type == "REQUEST" { // a REQUEST authorizer event (simple response)
		tok := probe.Headers["x-token"]
		switch tok {
		case "crash":
			return nil, errors.New("authorizer failed")
		case "slow":
			time.Sleep(3 * time.Second)
		}
		n := f.authorizations.Add(1)
		return map[string]any{"isAuthorized": tok == "let-me-in", "context": map[string]any{"user": "u1", "pid": os.Getpid(), "call": n}}, nil
	}
	if probe.Version == "2.0" {
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		if err := behave(ev.RawPath); err != nil {
			return nil, err
		}
		if strings.HasSuffix(ev.RawPath, "/binary") {
			return events.APIGatewayV2HTTPResponse{StatusCode: 200, IsBase64Encoded: true,
				Headers: map[string]string{"content-type": "application/octet-stream"},
				Body:    base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255})}, nil
		}
		out := echo{Version: "2.0", Method: ev.RequestContext.HTTP.Method, Path: ev.RawPath, RouteKey: ev.RouteKey,
			Params: ev.PathParameters, Query: ev.QueryStringParameters, Header: ev.Headers["x-test"],
			Cookies: ev.Cookies, Body: ev.Body, Base64: ev.IsBase64Encoded, Stage: ev.RequestContext.Stage,
			StageVar: ev.StageVariables["color"], PID: os.Getpid(), SourceIP: ev.RequestContext.HTTP.SourceIP,
			RequestID: ev.RequestContext.RequestID, Authorizer: ev.RequestContext.Authorizer}
		b, _ := json.Marshal(out)
		return events.APIGatewayV2HTTPResponse{StatusCode: 201, Body: string(b),
			Headers: map[string]string{"content-type": "application/json", "x-fn": "v2"},
			Cookies: []string{"a=1; HttpOnly", "b=2"}}, nil
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	if err := behave(ev.Path); err != nil {
		return nil, err
	}
	out := echo{Version: "1.0", Method: ev.HTTPMethod, Path: ev.Path, RouteKey: ev.Resource,
		Params: ev.PathParameters, Query: ev.QueryStringParameters, Header: ev.Headers["X-Test"] + ev.Headers["x-test"],
		Body: ev.Body, Base64: ev.IsBase64Encoded, Stage: ev.RequestContext.Stage,
		StageVar: ev.StageVariables["color"], PID: os.Getpid(), SourceIP: ev.RequestContext.Identity.SourceIP,
		RequestID: ev.RequestContext.RequestID}
	b, _ := json.Marshal(out)
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(b),
		MultiValueHeaders: map[string][]string{"X-Multi": {"m1", "m2"}}}, nil
}

func main() { lambda.Start((&function{}).handle) }
