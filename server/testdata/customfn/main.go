// Command customfn is the tests' function behind a REST custom (non-proxy)
// Lambda integration: an aws-lambda-go handler whose event is whatever the
// request template made of the request. It greets {"name": ...} and fails
// with "bad name: ..." for an empty name.
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
}

type greeting struct {
	Greeting string `json:"greeting"`
	Stage    string `json:"stage"`
}

func handle(_ context.Context, e event) (greeting, error) {
	if e.Name == "" {
		return greeting{}, errors.New("bad name: empty")
	}
	return greeting{Greeting: "hello " + e.Name, Stage: e.Stage}, nil
}

func main() { lambda.Start(handle) }
