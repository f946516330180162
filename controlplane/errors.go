package controlplane

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"
)

// awsError is an answer in AWS's error shape: the type in
// x-amzn-ErrorType (where the SDKs and the CLI read the error code) and
// {"message": ...} in the body.
type awsError struct {
	status int
	typ    string
	msg    string
}

func (e *awsError) Error() string { return e.typ + ": " + e.msg }

func notFound(format string, args ...any) error {
	return &awsError{404, "NotFoundException", fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &awsError{400, "BadRequestException", fmt.Sprintf(format, args...)}
}

func conflict(format string, args ...any) error {
	return &awsError{409, "ConflictException", fmt.Sprintf(format, args...)}
}

var errTooMany = &awsError{429, "TooManyRequestsException", "Too Many Requests"}

// writeError answers err; anything not already an AWS error is a fault of
// ours (500, as AWS answers).
func writeError(ctx *fasthttp.RequestCtx, err error) {
	var ae *awsError
	if !errors.As(err, &ae) {
		ae = &awsError{500, "InternalServerErrorException", err.Error()}
	}
	ctx.Response.Header.Set("x-amzn-ErrorType", ae.typ)
	writeJSON(ctx, ae.status, map[string]string{"message": ae.msg})
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	setRequestID(ctx)
	ctx.SetStatusCode(status)
	if v == nil {
		return
	}
	ctx.SetContentType("application/json")
	b, err := json.Marshal(v)
	if err != nil {
		ctx.SetStatusCode(500)
		ctx.Response.Header.Set("x-amzn-ErrorType", "InternalServerErrorException")
		b, _ = json.Marshal(map[string]string{"message": err.Error()})
	}
	ctx.SetBody(b)
}

func setRequestID(ctx *fasthttp.RequestCtx) {
	if len(ctx.Response.Header.Peek("x-amzn-RequestId")) > 0 {
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	ctx.Response.Header.Set("x-amzn-RequestId", fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// idAlphabet is the character set of AWS's resource ids.
const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID is a random id of n characters in AWS's shape (10 for APIs and
// API keys, 7 for routes, integrations, authorizers and deployments, 6
// for usage plans).
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
