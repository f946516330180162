package lambda

import (
	"context"
	"errors"
)

// ErrMalformedResponse reports a function result API Gateway would refuse
// (not JSON, wrong shape, unknown 1.0 key, bad statusCode, bad base64...).
var ErrMalformedResponse = errors.New("lambda: malformed function response")

// ErrFunction reports that the function itself failed (it threw, crashed or
// returned a handled error); errors.Is matches every *FunctionError.
var ErrFunction = errors.New("lambda: function error")

// FunctionError is the error of an invocation whose Result carries a
// FunctionError type.
type FunctionError struct {
	// Type is the X-Amz-Function-Error value ("Unhandled", "Handled").
	Type string
	// Payload is the function's error document
	// ({"errorMessage":...,"errorType":...}), kept for logs.
	Payload []byte
}

// maxErrorPayload bounds how much of the error document goes into Error(),
// so one log line stays readable.
const maxErrorPayload = 512

func (e *FunctionError) Error() string {
	p := e.Payload
	if len(p) > maxErrorPayload {
		p = p[:maxErrorPayload]
	}
	return "lambda: function error (" + e.Type + "): " + string(p)
}

// Unwrap lets errors.Is(err, ErrFunction) find every function error.
func (e *FunctionError) Unwrap() error { return ErrFunction }

// Err returns nil for a successful invocation and a *FunctionError when the
// function failed, so callers can treat both failure kinds as errors.
func (r Result) Err() error {
	if r.FunctionError == "" {
		return nil
	}
	return &FunctionError{Type: r.FunctionError, Payload: r.Payload}
}

// Gateway-generated error bodies, byte for byte as API Gateway sends them.
const (
	restBodyInternal = `{"message":"Internal server error"}`
	restBodyTimeout  = `{"message":"Endpoint request timed out"}`
	httpBodyInternal = `{"message":"Internal Server Error"}`
	httpBodyTimeout  = `{"message":"Service Unavailable"}`
)

// ErrorResponse is what the client receives when a Lambda integration fails
// with err, in the REST dialect (rest) or the HTTP API one. The body is JSON.
//
//	cause                                   REST  HTTP API
//	ErrTimeout, context.DeadlineExceeded    504   503
//	ErrFunction, ErrMalformedResponse       502   500
//	anything else (invoke failed)           500   500
func ErrorResponse(rest bool, err error) (status int, body string) {
	timeout := errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
	switch {
	case timeout && rest:
		return 504, restBodyTimeout
	case timeout:
		return 503, httpBodyTimeout
	case !rest:
		return 500, httpBodyInternal
	case errors.Is(err, ErrFunction), errors.Is(err, ErrMalformedResponse):
		return 502, restBodyInternal
	default:
		// The invoke itself failed (function missing, throttled, host
		// unreachable): API Gateway reports 500 for those.
		return 500, restBodyInternal
	}
}
