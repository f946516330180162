package lambda

import (
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
