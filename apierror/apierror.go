// Package apierror writes the responses frontdesk itself produces, in the
// dialect of the API that was called: HTTP APIs answer {"message":...} with
// an apigw-requestid header, REST APIs add x-amzn-ErrorType (see
// docs/errors.md, after Amazon API Gateway's gateway responses).
//
// Hot path: Write copies precomputed byte slices; it never allocates.
package apierror

import (
	"encoding/json"

	"github.com/valyala/fasthttp"
)

// Dialect is the error style of an API type.
type Dialect uint8

// Dialects.
const (
	HTTP Dialect = iota
	REST
	// WebSocket is the dialect of WebSocket APIs: refused upgrades, and
	// the @connections management API, whose errors carry
	// x-amzn-ErrorType (the AWS SDKs read the error code from it). Codes
	// it does not name answer as in HTTP.
	WebSocket
	numDialects
)

// Code names a gateway-generated response.
type Code uint8

// The responses frontdesk produces itself.
const (
	NotFound Code = iota
	BadRequest
	RequestTooLarge
	HeaderTooLarge
	// IntegrationFailure: the HTTP integration's origin could not be
	// reached or answered unreadably (refused, reset, a broken answer).
	IntegrationFailure
	// BadEndpoint: the integration's endpoint is misconfigured (its host
	// does not resolve, TLS to it fails), API Gateway's configuration
	// error.
	BadEndpoint
	IntegrationTimeout
	InternalError
	Forbidden
	Unauthorized
	TooManyRequests
	LimitExceeded
	NoHealthyUpstream
	// An authorizer's answers: a deny (or a missing scope), and an
	// authorizer that failed, timed out or answered unreadably.
	AccessDenied
	AuthorizerFailure
	// A Lambda integration's function failed or returned a result API
	// Gateway would refuse.
	FunctionFailure
	// WebSocket APIs: a plain request to a stage URL, and the
	// @connections answers.
	UpgradeRequired
	ConnectionForbidden
	ConnectionGone
	MessageTooLarge
	SendQueueFull
	MethodNotAllowed
	// A REST route's request validator refused the body, or found a
	// required request parameter missing (apierror/validation.go).
	BadRequestBody
	BadRequestParameters
	// REST non-proxy integrations: a request whose Content-Type has no
	// mapping template under passthrough_behavior never (or
	// when_no_templates), and a mapping template that failed.
	UnsupportedMediaType
	ConfigurationError
	numCodes
)

type response struct {
	status    int
	body      []byte
	errorType []byte
	// message is the body's message, $context.error.message.
	message string
}

func r(status int, body, errorType string) response {
	var et []byte
	if errorType != "" {
		et = []byte(errorType)
	}
	return response{status: status, body: []byte(body), errorType: et, message: bodyMessage(body)}
}

// bodyMessage is the string value of body's "message" (or "Message")
// member, "" when it is null.
func bodyMessage(body string) string {
	var m map[string]*string
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		panic("apierror: gateway response body is not JSON: " + body)
	}
	for _, k := range []string{"message", "Message"} {
		if v := m[k]; v != nil {
			return *v
		}
	}
	return ""
}

// Message is the message of the gateway response c in dialect d, what API
// Gateway logs as $context.error.message.
func Message(d Dialect, c Code) string { return table[d][c].message }

// table is indexed by [Dialect][Code]; it is built once (at init, see
// below, for the WebSocket codes it leaves to HTTP) and only read.
var table = [numDialects][numCodes]response{
	HTTP: {
		NotFound:           r(404, `{"message":"Not Found"}`, ""),
		BadRequest:         r(400, `{"message":"Bad Request"}`, ""),
		RequestTooLarge:    r(413, `{"message":"Request Too Long"}`, ""),
		HeaderTooLarge:     r(431, `{"message":"Request Header Fields Too Large"}`, ""),
		IntegrationFailure: r(502, `{"message":"Bad Gateway"}`, ""),
		BadEndpoint:        r(500, `{"message":"Internal Server Error"}`, ""),
		IntegrationTimeout: r(503, `{"message":"Service Unavailable"}`, ""),
		InternalError:      r(500, `{"message":"Internal Server Error"}`, ""),
		Forbidden:          r(403, `{"message":"Forbidden"}`, ""),
		Unauthorized:       r(401, `{"message":"Unauthorized"}`, ""),
		TooManyRequests:    r(429, `{"message":"Too Many Requests"}`, ""),
		LimitExceeded:      r(429, `{"message":"Limit Exceeded"}`, ""),
		NoHealthyUpstream:  r(503, `{"message":"Service Unavailable"}`, ""),
		AccessDenied:       r(403, `{"message":"Forbidden"}`, ""),
		AuthorizerFailure:  r(500, `{"message":"Internal Server Error"}`, ""),
		FunctionFailure:    r(500, `{"message":"Internal Server Error"}`, ""),
		// Request validation is a REST feature; HTTP APIs answer plainly.
		BadRequestBody:       r(400, `{"message":"Bad Request"}`, ""),
		BadRequestParameters: r(400, `{"message":"Bad Request"}`, ""),
	},
	REST: {
		NotFound:        r(403, `{"message":"Missing Authentication Token"}`, "MissingAuthenticationTokenException"),
		BadRequest:      r(400, `{"message":"Bad Request"}`, "BadRequestException"),
		RequestTooLarge: r(413, `{"message":"Request Too Long"}`, "RequestTooLongException"),
		HeaderTooLarge:  r(431, `{"message":"Request Header Fields Too Large"}`, "RequestHeaderFieldsTooLargeException"),
		// INTEGRATION_FAILURE's default status is 504, as is
		// INTEGRATION_TIMEOUT's; a misconfigured endpoint is a 500.
		IntegrationFailure: r(504, `{"message":"Network error communicating with endpoint"}`, "InternalServerErrorException"),
		BadEndpoint:        r(500, `{"message":"Internal server error"}`, "InternalServerErrorException"),
		IntegrationTimeout: r(504, `{"message":"Endpoint request timed out"}`, "InternalServerErrorException"),
		InternalError:      r(500, `{"message":"Internal server error"}`, "InternalServerErrorException"),
		Forbidden:          r(403, `{"message":"Forbidden"}`, "ForbiddenException"),
		Unauthorized:       r(401, `{"message":"Unauthorized"}`, "UnauthorizedException"),
		TooManyRequests:    r(429, `{"message":"Too Many Requests"}`, "TooManyRequestsException"),
		LimitExceeded:      r(429, `{"message":"Limit Exceeded"}`, "LimitExceededException"),
		NoHealthyUpstream:  r(503, `{"message":"Service Unavailable"}`, "ServiceUnavailableException"),
		AccessDenied:       r(403, `{"Message":"User is not authorized to access this resource with an explicit deny"}`, "AccessDeniedException"),
		AuthorizerFailure:  r(500, `{"message":null}`, "AuthorizerConfigurationException"),
		FunctionFailure:    r(502, `{"message":"Internal server error"}`, "InternalServerErrorException"),
		// The parameters' message names them: WriteMissingParameters.
		BadRequestBody:       r(400, `{"message":"Invalid request body"}`, "BadRequestException"),
		BadRequestParameters: r(400, `{"message":"Missing required request parameters"}`, "BadRequestException"),
	},
	WebSocket: {
		Forbidden:           r(403, `{"message":"Forbidden"}`, ""),
		NoHealthyUpstream:   r(503, `{"message":"Service Unavailable"}`, ""),
		UpgradeRequired:     r(426, `{"message":"Upgrade Required"}`, ""),
		InternalError:       r(500, `{"message":"Internal server error"}`, ""),
		ConnectionForbidden: r(403, `{"message":"Forbidden"}`, "ForbiddenException"),
		ConnectionGone:      r(410, `{"message":"Gone"}`, "GoneException"),
		MessageTooLarge:     r(413, `{"message":"Request entity too large"}`, "PayloadTooLargeException"),
		SendQueueFull:       r(429, `{"message":"Limit exceeded: the connection's send queue is full"}`, "LimitExceededException"),
		MethodNotAllowed:    r(405, `{"message":"Method Not Allowed"}`, ""),
	},
}

func init() {
	// The answers of REST non-proxy integrations (docs/transform.md).
	table[HTTP][UnsupportedMediaType] = r(415, `{"message":"Unsupported Media Type"}`, "")
	table[HTTP][ConfigurationError] = r(500, `{"message":"Internal Server Error"}`, "")
	table[REST][UnsupportedMediaType] = r(415, `{"message":"Unsupported Media Type"}`, "UnsupportedMediaTypeException")
	table[REST][ConfigurationError] = r(500, `{"message":"Internal server error"}`, "InternalServerErrorException")
	for c := range table[WebSocket] {
		if table[WebSocket][c].status == 0 {
			table[WebSocket][c] = table[HTTP][c]
		}
	}
}

var (
	contentTypeJSON = []byte("application/json")
	hdrErrorType    = []byte("x-amzn-ErrorType")
)

// Write replaces the response with the gateway response c of dialect d.
// Headers already set that belong to the gateway (request id, CORS) are
// kept; the body, status and content type are replaced.
func Write(resp *fasthttp.Response, d Dialect, c Code) {
	e := &table[d][c]
	resp.SetStatusCode(e.status)
	resp.Header.SetContentTypeBytes(contentTypeJSON)
	if e.errorType != nil {
		resp.Header.SetBytesKV(hdrErrorType, e.errorType)
	}
	resp.SetBodyRaw(e.body)
}

// WriteStatus answers with status and its standard reason phrase as the
// message, for refusals a library decides (a WebSocket handshake the
// upgrader refuses). It is not on the request path: it allocates the body.
func WriteStatus(resp *fasthttp.Response, status int) {
	resp.SetStatusCode(status)
	resp.Header.SetContentTypeBytes(contentTypeJSON)
	resp.SetBodyString(`{"message":"` + fasthttp.StatusMessage(status) + `"}`)
}

// responseTypes are API Gateway's gateway response types of the codes a
// REST API answers; a code without one is customised through
// DEFAULT_4XX or DEFAULT_5XX.
var responseTypes = [numCodes]string{
	NotFound:             "MISSING_AUTHENTICATION_TOKEN",
	RequestTooLarge:      "REQUEST_TOO_LARGE",
	IntegrationFailure:   "INTEGRATION_FAILURE",
	BadRequestBody:       "BAD_REQUEST_BODY",
	BadRequestParameters: "BAD_REQUEST_PARAMETERS",
	IntegrationTimeout:   "INTEGRATION_TIMEOUT",
	Forbidden:            "INVALID_API_KEY",
	Unauthorized:         "UNAUTHORIZED",
	TooManyRequests:      "THROTTLED",
	LimitExceeded:        "QUOTA_EXCEEDED",
	NoHealthyUpstream:    "INTEGRATION_FAILURE",
	AccessDenied:         "ACCESS_DENIED",
	AuthorizerFailure:    "AUTHORIZER_CONFIGURATION_ERROR",
	FunctionFailure:      "INTEGRATION_FAILURE",
	UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
	ConfigurationError:   "API_CONFIGURATION_ERROR",
}

// ResponseType is the gateway response type of c on a REST API
// ($context.error.responseType): its own, else DEFAULT_4XX or
// DEFAULT_5XX by its status.
func ResponseType(c Code) string {
	if t := responseTypes[c]; t != "" {
		return t
	}
	if table[REST][c].status >= 500 {
		return "DEFAULT_5XX"
	}
	return "DEFAULT_4XX"
}

// Status is the status of the gateway response c in dialect d.
func Status(d Dialect, c Code) int { return table[d][c].status }

// ErrorType is the x-amzn-ErrorType of c in dialect d (nil: none).
func ErrorType(d Dialect, c Code) []byte { return table[d][c].errorType }
