package apierror

import (
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
	"github.com/valyala/fasthttp"
)

// MissingParameters opens the message of a BadRequestParameters answer:
// API Gateway names the missing parameters comma-separated in one bracket,
// "Missing required request parameters: [a, b]".
const MissingParameters = "Missing required request parameters: ["

// WriteMessage answers with the gateway response c of dialect d, its body's
// message replaced by msg ({"message":msg}, escaped). Used where API
// Gateway's message names what was wrong (the missing parameters); body is
// reusable storage for the body, returned grown.
func WriteMessage(resp *fasthttp.Response, d Dialect, c Code, msg, body []byte) []byte {
	e := &table[d][c]
	resp.SetStatusCode(e.status)
	resp.Header.SetContentTypeBytes(contentTypeJSON)
	if e.errorType != nil {
		resp.Header.SetBytesKV(hdrErrorType, e.errorType)
	}
	body = append(body[:0], `{"message":"`...)
	body = jsonstr.AppendEscaped(body, msg)
	body = append(body, `"}`...)
	resp.SetBody(body)
	return body
}
