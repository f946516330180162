// Command hello is a demonstration Lambda function for frontdesk: an HTTP
// API (payload format 2.0) handler built on github.com/aws/aws-lambda-go.
//
// It greets the caller with $GREETING (default "hello") and the name found
// in the path parameter "name", else the query parameter "name", else
// "world", and echoes a summary of the request (method, path, query and
// header names) so the event frontdesk built can be inspected from a
// browser or curl.
//
// Build it where frontdesk.yaml expects it:
//
//	CGO_ENABLED=0 go build -tags lambda.norpc -o examples/functions/hello/bootstrap ./examples/functions/hello
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// reply is the JSON body returned to the client.
type reply struct {
	Message string            `json:"message"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers []string          `json:"headers"`
}

func handle(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "hello"
	}
	name := req.PathParameters["name"]
	if name == "" {
		name = req.QueryStringParameters["name"]
	}
	if name == "" {
		name = "world"
	}

	// Header values may carry credentials; the echo lists names only.
	headers := make([]string, 0, len(req.Headers))
	for k := range req.Headers {
		headers = append(headers, k)
	}
	sort.Strings(headers)
	query := req.QueryStringParameters
	if query == nil {
		query = map[string]string{}
	}

	body, err := json.Marshal(reply{
		Message: fmt.Sprintf("%s, %s!", greeting, name),
		Method:  req.RequestContext.HTTP.Method,
		Path:    req.RawPath,
		Query:   query,
		Headers: headers,
	})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("encode reply: %w", err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: 200,
		Headers:    map[string]string{"content-type": "application/json"},
		Body:       string(body),
	}, nil
}

func main() {
	lambda.Start(handle)
}
