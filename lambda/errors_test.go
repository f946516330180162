package lambda

import (
	"errors"
	"testing"
)

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
