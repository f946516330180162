package lambda

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestErrorResponseFollowsEachDialect(t *testing.T) {
	parseErr := ParseResponseV2([]byte("not json"), new(Response))
	funcErr := Result{Payload: []byte(`{"errorMessage":"boom"}`), FunctionError: "Unhandled"}.Err()
	tests := []struct {
		name       string
		err        error
		restStatus int
		restBody   string
		httpStatus int
		httpBody   string
	}{
		{"timeout", ErrTimeout, 504, `{"message":"Endpoint request timed out"}`, 503, `{"message":"Service Unavailable"}`},
		{"wrapped timeout", fmt.Errorf("invoke hello: %w", ErrTimeout), 504, `{"message":"Endpoint request timed out"}`, 503, `{"message":"Service Unavailable"}`},
		{"context deadline", context.DeadlineExceeded, 504, `{"message":"Endpoint request timed out"}`, 503, `{"message":"Service Unavailable"}`},
		{"function error", funcErr, 502, `{"message":"Internal server error"}`, 500, `{"message":"Internal Server Error"}`},
		{"malformed response", parseErr, 502, `{"message":"Internal server error"}`, 500, `{"message":"Internal Server Error"}`},
		{"invoke failed", errors.New("connection refused"), 500, `{"message":"Internal server error"}`, 500, `{"message":"Internal Server Error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := ErrorResponse(true, tt.err); status != tt.restStatus || body != tt.restBody {
				t.Errorf("REST: %d %s, want %d %s", status, body, tt.restStatus, tt.restBody)
			}
			if status, body := ErrorResponse(false, tt.err); status != tt.httpStatus || body != tt.httpBody {
				t.Errorf("HTTP API: %d %s, want %d %s", status, body, tt.httpStatus, tt.httpBody)
			}
		})
	}
}

func TestResultErrReportsFunctionErrors(t *testing.T) {
	if err := (Result{Payload: []byte(`{"statusCode":200}`)}).Err(); err != nil {
		t.Errorf("successful result: %v", err)
	}
	err := Result{Payload: []byte(`{"errorType":"Error"}`), FunctionError: "Handled"}.Err()
	var fe *FunctionError
	if !errors.Is(err, ErrFunction) || !errors.As(err, &fe) || fe.Type != "Handled" {
		t.Fatalf("got %#v", err)
	}
	if want := `lambda: function error (Handled): {"errorType":"Error"}`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	long := Result{Payload: make([]byte, 10*maxErrorPayload), FunctionError: "Unhandled"}.Err()
	if n := len(long.Error()); n > maxErrorPayload+64 {
		t.Errorf("Error() is %d bytes, want it bounded", n)
	}
}
