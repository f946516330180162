package accesslog

import "time"

// Record is what the gateway knows about one served request. The byte
// slices may alias request memory (fasthttp's buffers, the route table):
// Log copies what it needs before returning and keeps no reference, so the
// caller may reuse a Record, and the memory it points to, right after Log.
//
// An empty byte field is logged as "-", as API Gateway does for a variable
// without a value.
type Record struct {
	RequestID         []byte // $context.requestId
	ExtendedRequestID []byte // $context.extendedRequestId; omitted when empty
	SourceIP          []byte // $context.identity.sourceIp
	// RequestTime is when the request arrived; it is logged in UTC with
	// second precision. The zero time is logged as "-".
	RequestTime time.Time
	HTTPMethod  []byte // $context.httpMethod
	RouteKey    []byte // $context.routeKey, e.g. "GET /pets/{id}" or "$default"
	Path        []byte // $context.path: the request path as received, stage included
	Status      int    // $context.status
	Protocol    []byte // $context.protocol, e.g. "HTTP/1.1"
	// ResponseLength is the response body size in bytes.
	ResponseLength int64
	// IntegrationLatency is the time the integration took to answer. A
	// negative value means no integration was called (the gateway answered
	// on its own: no route, throttled, unauthorized) and the field is
	// omitted. Logged in whole milliseconds.
	IntegrationLatency time.Duration
	// ResponseLatency is the time from the request's arrival to the end of
	// the response, in whole milliseconds.
	ResponseLatency time.Duration
	APIID           []byte // $context.apiId
	Stage           []byte // $context.stage
	UserAgent       []byte // $context.identity.userAgent
	// APIKey is the API key the request presented, raw or already masked.
	// Only MaskKey's form of it is ever written, so a raw key never reaches
	// the log. Omitted when empty.
	APIKey []byte
	// ErrorMessage is $context.error.message, set when the gateway answered
	// with one of its own errors. Omitted when empty.
	ErrorMessage []byte
	// TraceID is the request's trace id (32 hex digits) when the request
	// was traced; omitted when empty. json format only.
	TraceID []byte
	// IntegrationErrorMessage is $context.integrationErrorMessage: why the
	// integration call failed. Omitted when empty.
	IntegrationErrorMessage []byte
	// AuthorizerError is $context.authorizer.error: why the authorizer
	// refused or failed. Omitted when empty.
	AuthorizerError []byte
	// ValidationErrorString is $context.error.validationErrorString: why a
	// request validator refused the request. Omitted when empty.
	ValidationErrorString []byte
}

// Reset clears r for reuse, dropping its references to request memory.
func (r *Record) Reset() { *r = Record{} }

// keyVisible is how many leading characters of an API key the log shows.
const keyVisible = 4

// MaskKey appends key to dst with everything but its first four bytes
// replaced by '*', and returns the extended slice. A key of eight bytes or
// fewer keeps only its first half, so the log never shows most of a short
// key. API keys are ASCII (API Gateway's are 20-128 characters), so bytes
// and characters coincide; the mask keeps the key's length visible, which
// helps tell keys apart and reveals nothing usable.
//
// Masking is idempotent: masking a masked key gives the same bytes.
func MaskKey(dst, key []byte) []byte {
	keep := min(keyVisible, len(key)/2)
	dst = append(dst, key[:keep]...)
	for range len(key) - keep {
		dst = append(dst, '*')
	}
	return dst
}
