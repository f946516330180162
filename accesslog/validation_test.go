package accesslog

import "testing"

// validationErrorString is logged only when a validator refused the
// request, escaped like every other field.
func TestValidationErrorStringIsLoggedOnlyWhenSet(t *testing.T) {
	r := sampleRecord()
	if _, ok := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))["validationErrorString"]; ok {
		t.Error("logged without a validation error")
	}
	detail := `[object has missing required properties (["name"])]`
	r.ValidationErrorString = []byte(detail)
	if v := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))["validationErrorString"]; v != detail {
		t.Errorf("validationErrorString = %#v, want %q", v, detail)
	}
}
