package invoke

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// errorDocumentExtraKeys are the keys a runtime's error document may carry
// besides errorMessage and errorType: stackTrace (Go, Python, Java), cause
// (Java), requestId (Python's runtime interface client) and trace
// (Node.js). An object with any other key is a normal response that
// happens to use those names.
var errorDocumentExtraKeys = map[string]struct{}{
	"stackTrace": {},
	"cause":      {},
	"requestId":  {},
	"trace":      {},
}

var (
	keyErrorMessage = []byte(`"errorMessage"`)
	keyErrorType    = []byte(`"errorType"`)
)

// isErrorDocument reports whether body is a runtime error document: a JSON
// object whose errorMessage and errorType are strings and whose other keys
// all belong to errorDocumentExtraKeys. This is how `sam local` tells a
// function error from a result when the endpoint (aws-lambda-rie) sends no
// X-Amz-Function-Error header.
func isErrorDocument(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) < 2 || body[0] != '{' {
		return false
	}
	// Cheap filter first: almost every successful response stops here, so
	// the JSON decoder only runs on likely error documents.
	if !bytes.Contains(body, keyErrorType) || !bytes.Contains(body, keyErrorMessage) {
		return false
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return false
	}
	if !isJSONString(doc["errorMessage"]) || !isJSONString(doc["errorType"]) {
		return false
	}
	for k := range doc {
		if k == "errorMessage" || k == "errorType" {
			continue
		}
		if _, ok := errorDocumentExtraKeys[k]; !ok {
			return false
		}
	}
	return true
}

func isJSONString(v json.RawMessage) bool {
	return len(v) >= 2 && v[0] == '"'
}

var (
	rieTimeoutPrefix = []byte("Task timed out after ")
	rieTimeoutSuffix = []byte(" seconds")
)

// isRIETimeout recognises aws-lambda-rie's plain-text timeout answer,
// "Task timed out after 3.00 seconds", sent with HTTP 200.
func isRIETimeout(body []byte) bool {
	body = bytes.TrimSpace(body)
	return len(body) < 128 && bytes.HasPrefix(body, rieTimeoutPrefix) && bytes.HasSuffix(body, rieTimeoutSuffix)
}

// maxServiceMessage bounds how much of an unstructured error body ends up
// in ServiceError.Message (and so in logs).
const maxServiceMessage = 512

func newServiceError(status int, errType, body []byte) *ServiceError {
	e := &ServiceError{Status: status}
	// AWS may append the error's documentation URL: "Code:http://...".
	if t, _, _ := bytes.Cut(errType, []byte(":")); len(t) > 0 {
		e.Type = string(t)
	}
	var doc struct {
		Message  string `json:"message"` // matches "Message" (AWS, SAM) too
		CodeType string `json:"__type"`
	}
	if json.Unmarshal(body, &doc) == nil {
		e.Message = doc.Message
		if e.Type == "" && doc.CodeType != "" {
			t, _, _ := strings.Cut(doc.CodeType, ":")
			e.Type = t
		}
		if e.Message != "" {
			return e
		}
	}
	msg := bytes.TrimSpace(body)
	if len(msg) > maxServiceMessage {
		msg = msg[:maxServiceMessage]
		for len(msg) > 0 && !utf8.Valid(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	e.Message = string(msg)
	return e
}
