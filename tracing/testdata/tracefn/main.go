// Command tracefn is the tracing tests' Lambda function: an aws-lambda-go
// handler that answers with the trace header its runtime set
// (_X_AMZN_TRACE_ID) and the one its event carried.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	b, err := json.Marshal(map[string]string{
		"env":    os.Getenv("_X_AMZN_TRACE_ID"),
		"header": ev.Headers["x-amzn-trace-id"],
	})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(b), Headers: map[string]string{"Content-Type": "application/json"}}, nil
}

func main() { lambda.Start(handle) }
