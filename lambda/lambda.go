// Package lambda speaks the Lambda side of API Gateway's proxy integration:
// it builds the request events (payload formats 1.0 and 2.0), parses the
// function's response under API Gateway's rules, and defines the Invoker
// seam that remote Invoke API clients and the local function host implement.
//
// Hot path: building an event into a pooled buffer and parsing a response;
// both work on byte slices and avoid reflection over maps. With a reused
// destination buffer and Response neither allocates for ordinary requests.
//
// Entry points: AppendEventV2, AppendEventV1 and AppendWebSocketEvent build
// events; ParseResponseV2 and ParseResponseV1 read results, and their
// errors say which failure it was (the integration answers it in the API's
// dialect through apierror). docs/lambda-events.md
// lists, field by field, what the events carry and which response rules
// apply.
package lambda

import (
	"context"
	"errors"
)

// Result is what one invocation returned.
type Result struct {
	// Payload is the function's result (or its error document when
	// FunctionError is set).
	Payload []byte
	// FunctionError is "" on success, else the X-Amz-Function-Error value
	// ("Unhandled", "Handled") or "Unhandled" when detected from the body.
	FunctionError string
}

// ErrTimeout reports that the function did not answer within its timeout.
var ErrTimeout = errors.New("lambda: function timed out")

// Invoker calls one function synchronously (RequestResponse).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (Result, error)
}
