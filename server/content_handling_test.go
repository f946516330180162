package server

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// pngBytes is a binary payload: not UTF-8, with a NUL and 0xff.
var pngBytes = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0x00, 0xff, 0xfe, 0x80, 'x'}

// binaryOrigin echoes what it received: /echo with the request's body and
// Content-Type; /blob answers pngBytes as base64 text; /png answers them
// raw as image/png.
func binaryOrigin(t *testing.T) string {
	return startServer(t, func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/echo":
			ctx.SetContentType("text/plain")
			ctx.Response.Header.Set("X-Got-Base64", base64.StdEncoding.EncodeToString(ctx.Request.Body()))
			ctx.Write(ctx.Request.Body())
		case "/blob":
			ctx.SetContentType("text/plain")
			ctx.WriteString(base64.StdEncoding.EncodeToString(pngBytes))
		case "/png":
			ctx.SetContentType("image/png")
			ctx.Write(pngBytes)
		default:
			ctx.SetStatusCode(404)
		}
	})
}

const contentHandlingConfig = `
apis:
  files:
    type: rest
    base_path: /files
    binary_media_types: [image/png]
    stages: {v1: {variables: {bucket: photos}}}
    integrations:
      upload:
        type: http
        url: "http://{{UP}}/echo"
        content_handling: CONVERT_TO_TEXT
        request_templates:
          image/png: '{"bucket": "$stageVariables.bucket", "data": "$input.body"}'
        responses:
          - response_parameters:
              method.response.header.X-Got-Base64: integration.response.header.X-Got-Base64
      upload-through:
        type: http
        url: "http://{{UP}}/echo"
        content_handling: convert_to_text
        responses:
          - response_parameters:
              method.response.header.X-Got-Base64: integration.response.header.X-Got-Base64
      upload-decoded:
        type: http
        url: "http://{{UP}}/echo"
        content_handling: convert_to_binary
        responses:
          - response_parameters:
              method.response.header.X-Got-Base64: integration.response.header.X-Got-Base64
      upload-mock:
        type: mock
        content_handling: convert_to_text
        request_templates:
          image/png: '{"statusCode": #if($input.body == "` + "{{PNG64}}" + `")201#{else}400#end}'
        responses:
          - selection_pattern: "201"
            status: 201
            response_templates: {application/json: '{"seen": "base64"}'}
          - status: 400
      download:
        type: http
        url: "http://{{UP}}/blob"
        responses:
          - content_handling: CONVERT_TO_BINARY
            response_parameters:
              method.response.header.Content-Type: "'image/png'"
      download-text:
        type: http
        url: "http://{{UP}}/png"
        responses:
          - content_handling: convert_to_text
            response_templates:
              application/json: '{"image": "$input.body"}'
      broken:
        type: http
        url: "http://{{UP}}/echo"
        responses:
          - content_handling: convert_to_binary
    routes:
      "POST /upload": {integration: upload}
      "POST /through": {integration: upload-through}
      "POST /decoded": {integration: upload-decoded}
      "POST /mock": {integration: upload-mock}
      "GET /download": {integration: download}
      "GET /download-text": {integration: download-text}
      "POST /broken": {integration: broken}
`

func TestContentHandlingConvertsBinaryAndBase64ThroughTheServer(t *testing.T) {
	png64 := base64.StdEncoding.EncodeToString(pngBytes)
	base := startGateway(t, strings.ReplaceAll(contentHandlingConfig, "{{PNG64}}", png64), binaryOrigin(t)) + "/files/v1"

	t.Run("a binary upload reaches the template as base64 text", func(t *testing.T) {
		r := do(t, "POST", base+"/upload", bytes.NewReader(pngBytes), "Content-Type", "image/png")
		want := `{"bucket": "photos", "data": "` + png64 + `"}`
		if r.status != 200 || r.body != want {
			t.Errorf("the backend got %d %q, want %q", r.status, r.body, want)
		}
	})
	t.Run("a binary upload without a template goes to the backend as base64 text", func(t *testing.T) {
		r := do(t, "POST", base+"/through", bytes.NewReader(pngBytes), "Content-Type", "image/png")
		if r.status != 200 || r.body != png64 {
			t.Errorf("the backend got %d %q, want %q", r.status, r.body, png64)
		}
	})
	t.Run("convert_to_text leaves a text upload as it is", func(t *testing.T) {
		r := do(t, "POST", base+"/through", strings.NewReader(`{"a":1}`), "Content-Type", "application/json")
		if r.status != 200 || r.body != `{"a":1}` {
			t.Errorf("the backend got %d %q", r.status, r.body)
		}
	})
	t.Run("base64 text is decoded to binary for the backend", func(t *testing.T) {
		r := do(t, "POST", base+"/decoded", strings.NewReader(png64), "Content-Type", "text/plain")
		if got := r.header.Get("X-Got-Base64"); r.status != 200 || got != png64 {
			t.Errorf("the backend got %d bytes (base64 %q), want %q", r.status, got, png64)
		}
	})
	t.Run("convert_to_binary leaves a binary upload as it is", func(t *testing.T) {
		r := do(t, "POST", base+"/decoded", bytes.NewReader(pngBytes), "Content-Type", "image/png")
		if got := r.header.Get("X-Got-Base64"); r.status != 200 || got != png64 {
			t.Errorf("the backend got %d (base64 %q), want %q", r.status, got, png64)
		}
	})
	t.Run("a mock template reads a binary upload as base64 text", func(t *testing.T) {
		r := do(t, "POST", base+"/mock", bytes.NewReader(pngBytes), "Content-Type", "image/png")
		if r.status != 201 || r.body != `{"seen": "base64"}` {
			t.Errorf("mock: %d %s", r.status, r.body)
		}
	})
	t.Run("a base64 backend answer reaches the client as binary", func(t *testing.T) {
		r := do(t, "GET", base+"/download", nil, "Accept", "image/png")
		if r.status != 200 || r.body != string(pngBytes) || r.header.Get("Content-Type") != "image/png" {
			t.Errorf("download: %d %s %q, want the bytes %q", r.status, r.header.Get("Content-Type"), r.body, pngBytes)
		}
	})
	t.Run("a binary backend answer reaches the template as base64 text", func(t *testing.T) {
		r := do(t, "GET", base+"/download-text", nil)
		if want := `{"image": "` + png64 + `"}`; r.status != 200 || r.body != want {
			t.Errorf("download-text: %d %q, want %q", r.status, r.body, want)
		}
	})
	t.Run("a backend answer that is not base64 is a 500", func(t *testing.T) {
		r := do(t, "POST", base+"/broken", strings.NewReader("not base64!"), "Content-Type", "text/plain")
		if r.status != 500 || r.body != `{"message":"Internal server error"}` {
			t.Errorf("broken: %d %s", r.status, r.body)
		}
	})
}
