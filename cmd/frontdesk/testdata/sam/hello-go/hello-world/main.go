// Command hello-world is the handler `sam init` writes for Go
// (provided.al2023), without its call to checkip.amazonaws.com: it says
// what event it was given so that the test can check the payload format.
package main

import (
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(request events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	body, err := json.Marshal(map[string]any{
		"message": "hello world",
		"param1":  os.Getenv("PARAM1"),
		"event": map[string]string{
			"httpMethod":  request.HTTPMethod,
			"path":        request.Path,
			"resource":    request.Resource,
			"stage":       request.RequestContext.Stage,
			"contextPath": request.RequestContext.Path,
		},
	})
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: string(body)}, nil
}

func main() {
	lambda.Start(handler)
}
