package host

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/lambda"
)

// Lambda's synchronous response limit; larger /response bodies become a
// Function.ResponseSizeTooLarge error, as in AWS.
const maxResponsePayload = lambda.MaxResultBytes

// maxRuntimeBody lets the Runtime API read a too-large response so it can
// report it; beyond this fasthttp itself answers 413.
const maxRuntimeBody = maxResponsePayload + 1<<20

var (
	pathPrefix    = []byte("/2018-06-01/runtime/")
	pathNext      = []byte("invocation/next")
	pathInvoc     = []byte("invocation/")
	pathInitError = []byte("init/error")
	suffixResp    = []byte("/response")
	suffixError   = []byte("/error")

	hdrRequestID     = []byte("Lambda-Runtime-Aws-Request-Id")
	hdrDeadline      = []byte("Lambda-Runtime-Deadline-Ms")
	hdrFunctionArn   = []byte("Lambda-Runtime-Invoked-Function-Arn")
	hdrTraceID       = []byte("Lambda-Runtime-Trace-Id")
	hdrErrorType     = []byte("Lambda-Runtime-Function-Error-Type")
	hdrErrorBodyTrlr = []byte("Lambda-Runtime-Function-Error-Body")

	accepted        = []byte(`{"status":"OK"}`)
	contentTypeJSON = []byte("application/json")
)

// serveRuntimeAPI implements the Runtime API endpoints for this instance.
func (inst *instance) serveRuntimeAPI(ctx *fasthttp.RequestCtx) {
	rest, ok := bytes.CutPrefix(ctx.Path(), pathPrefix)
	if !ok {
		apiError(ctx, fasthttp.StatusNotFound, "InvalidRequest", "unknown Runtime API path")
		return
	}
	switch {
	case bytes.Equal(rest, pathNext):
		if !ctx.IsGet() {
			apiError(ctx, fasthttp.StatusMethodNotAllowed, "InvalidRequest", "GET expected")
			return
		}
		inst.handleNext(ctx)
	case bytes.Equal(rest, pathInitError):
		if !ctx.IsPost() {
			apiError(ctx, fasthttp.StatusMethodNotAllowed, "InvalidRequest", "POST expected")
			return
		}
		inst.handleInitError(ctx)
	case bytes.HasPrefix(rest, pathInvoc):
		rest = rest[len(pathInvoc):]
		if !ctx.IsPost() {
			apiError(ctx, fasthttp.StatusMethodNotAllowed, "InvalidRequest", "POST expected")
			return
		}
		if id, ok := bytes.CutSuffix(rest, suffixResp); ok {
			inst.handleResult(ctx, id, false)
			return
		}
		if id, ok := bytes.CutSuffix(rest, suffixError); ok {
			inst.handleResult(ctx, id, true)
			return
		}
		apiError(ctx, fasthttp.StatusNotFound, "InvalidRequest", "unknown Runtime API path")
	default:
		apiError(ctx, fasthttp.StatusNotFound, "InvalidRequest", "unknown Runtime API path")
	}
}

// handleNext blocks until the slot hands this instance an event.
func (inst *instance) handleNext(ctx *fasthttp.RequestCtx) {
	var inv *invocation
	select {
	case inv = <-inst.next:
	case inv = <-inst.pending:
	case <-inst.stop:
		// The instance is being torn down; the runtime should exit.
		apiError(ctx, fasthttp.StatusInternalServerError, "Runtime.Stopped", "instance stopped")
		return
	}
	deadline := time.Now().Add(inst.f.cfg.Timeout)
	inv.deadline.Store(deadline.UnixNano())
	inst.current.Store(inv)
	h := &ctx.Response.Header
	// The names are written as Lambda spells them, without normalising
	// them per invocation.
	h.SetCanonical(hdrRequestID, s2b(inv.id))
	var ms [20]byte
	h.SetCanonical(hdrDeadline, strconv.AppendInt(ms[:0], deadline.UnixMilli(), 10))
	h.SetCanonical(hdrFunctionArn, s2b(inst.f.arn))
	h.SetCanonical(hdrTraceID, s2b(inv.traceID))
	h.SetContentTypeBytes(contentTypeJSON)
	// The invocation owns a private copy of the payload for its lifetime.
	ctx.Response.SetBodyRaw(inv.payload)
}

// handleResult completes the current invocation with the runtime's
// response or error document.
func (inst *instance) handleResult(ctx *fasthttp.RequestCtx, id []byte, isError bool) {
	inv := inst.current.Load()
	if inv == nil || string(id) != inv.id || !inst.current.CompareAndSwap(inv, nil) {
		apiError(ctx, fasthttp.StatusBadRequest, "InvalidRequestID", "unknown or already completed request ID")
		return
	}
	body := ctx.PostBody()
	var res lambda.Result
	switch {
	case isError:
		res = lambda.Result{Payload: runtimeErrorDocument(ctx, body), FunctionError: "Unhandled"}
	case len(ctx.Request.Header.PeekBytes(hdrErrorType)) > 0:
		// aws-lambda-go sends these trailers when producing a streamed
		// response failed after the headers went out.
		res = lambda.Result{Payload: trailerErrorDocument(ctx), FunctionError: "Unhandled"}
	case len(body) > maxResponsePayload:
		res = lambda.Result{
			Payload: errorDocument("Response payload size ("+strconv.Itoa(len(body))+
				" bytes) exceeded maximum allowed payload size ("+strconv.Itoa(maxResponsePayload)+" bytes).",
				"Function.ResponseSizeTooLarge"),
			FunctionError: "Unhandled",
		}
	default:
		res = lambda.Result{Payload: append([]byte(nil), body...)}
	}
	// Buffered and written once per invocation (the CAS above), so this
	// never blocks.
	inst.result <- outcome{res: res}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBodyRaw(accepted)
}

// handleInitError records the runtime's init failure for the slot that is
// starting this instance.
func (inst *instance) handleInitError(ctx *fasthttp.RequestCtx) {
	doc := runtimeErrorDocument(ctx, ctx.PostBody())
	select {
	case inst.initErr <- doc:
	default: // already reported once
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.Response.SetBodyRaw(accepted)
}

// runtimeErrorDocument returns the posted error document, or builds one
// from the Lambda-Runtime-Function-Error-Type header when the runtime
// posted no JSON object.
func runtimeErrorDocument(ctx *fasthttp.RequestCtx, body []byte) []byte {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return append([]byte(nil), trimmed...)
	}
	errType := string(ctx.Request.Header.PeekBytes(hdrErrorType))
	if errType == "" {
		errType = "Runtime.Unknown"
	}
	return errorDocument(string(trimmed), errType)
}

func trailerErrorDocument(ctx *fasthttp.RequestCtx) []byte {
	if enc := ctx.Request.Header.PeekBytes(hdrErrorBodyTrlr); len(enc) > 0 {
		if doc, err := base64.StdEncoding.DecodeString(string(enc)); err == nil && len(doc) > 0 {
			return doc
		}
	}
	return errorDocument("response stream failed", string(ctx.Request.Header.PeekBytes(hdrErrorType)))
}

// s2b views s as bytes for fasthttp's setters, which copy them.
func s2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func apiError(ctx *fasthttp.RequestCtx, status int, errType, msg string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(errorDocument(msg, errType))
}
