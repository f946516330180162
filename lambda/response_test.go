package lambda

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// responseCase is one function result and what the client must receive;
// headers are "Name: value" lines in order. wantErr expects a malformed
// result (the caller turns it into 502/500).
type responseCase struct {
	name    string
	payload string
	status  int
	headers []string
	body    string
	wantErr bool
}

func headerLines(r *Response) []string {
	lines := make([]string, 0, len(r.Headers))
	for _, h := range r.Headers {
		lines = append(lines, string(h.Name)+": "+string(h.Value))
	}
	return lines
}

func runResponseCases(t *testing.T, parse func([]byte, *Response) error, cases []responseCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			err := parse([]byte(tt.payload), &r)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted, want an error; got %d %q %q", r.Status, headerLines(&r), r.Body)
				}
				if !errors.Is(err, ErrMalformedResponse) {
					t.Errorf("error %v does not wrap ErrMalformedResponse", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if r.Status != tt.status {
				t.Errorf("status = %d, want %d", r.Status, tt.status)
			}
			if got := headerLines(&r); !reflect.DeepEqual(got, tt.headers) {
				t.Errorf("headers = %q, want %q", got, tt.headers)
			}
			if string(r.Body) != tt.body {
				t.Errorf("body = %q, want %q", r.Body, tt.body)
			}
		})
	}
}

const jsonCT = "content-type: application/json"

func TestParseResponseV2Rules(t *testing.T) {
	runResponseCases(t, ParseResponseV2, []responseCase{
		// The examples table of the reference, row by row.
		{name: "example: bare string is the body text", payload: `"Hello"`,
			status: 200, headers: []string{jsonCT}, body: "Hello"},
		{name: "example: object without statusCode is the body", payload: `{"message":"hi"}`,
			status: 200, headers: []string{jsonCT}, body: `{"message":"hi"}`},
		{name: "example: status, headers, cookies and body",
			payload: `{"statusCode":201,"headers":{"x-a":"1"},"cookies":["a=1; HttpOnly","b=2"],"body":"ok"}`,
			status:  201, headers: []string{"x-a: 1", "set-cookie: a=1; HttpOnly", "set-cookie: b=2", jsonCT}, body: "ok"},
		{name: "example: base64 body is decoded", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`,
			status: 200, headers: []string{jsonCT}, body: "hi"},
		{name: "example: not JSON", payload: `Hello`, wantErr: true},

		// Without statusCode any JSON value is the body.
		{name: "number is the body", payload: `42`, status: 200, headers: []string{jsonCT}, body: "42"},
		{name: "array is the body", payload: ` [1, {"statusCode":500}] `, status: 200, headers: []string{jsonCT}, body: `[1, {"statusCode":500}]`},
		{name: "boolean is the body", payload: `true`, status: 200, headers: []string{jsonCT}, body: "true"},
		{name: "null is the body", payload: `null`, status: 200, headers: []string{jsonCT}, body: "null"},
		{name: "string escapes are decoded", payload: `"a\"b\\n\u00e9\ud83d\ude00"`, status: 200, headers: []string{jsonCT}, body: "a\"b\\né😀"},
		{name: "statusCode key is case-sensitive", payload: `{"StatusCode":404,"body":"x"}`,
			status: 200, headers: []string{jsonCT}, body: `{"StatusCode":404,"body":"x"}`},
		{name: "nested statusCode does not count", payload: `{"data":{"statusCode":404}}`,
			status: 200, headers: []string{jsonCT}, body: `{"data":{"statusCode":404}}`},
		{name: "escaped statusCode key counts", payload: `{"status\u0043ode":204}`, status: 204, headers: []string{jsonCT}},

		// With statusCode.
		{name: "numeric string statusCode", payload: `{"statusCode":"202"}`, status: 202, headers: []string{jsonCT}},
		{name: "null statusCode means 200", payload: `{"statusCode":null,"body":"x"}`, status: 200, headers: []string{jsonCT}, body: "x"},
		{name: "non-numeric statusCode", payload: `{"statusCode":"abc"}`, wantErr: true},
		{name: "fractional statusCode", payload: `{"statusCode":200.5}`, wantErr: true},
		{name: "statusCode below 100", payload: `{"statusCode":99}`, wantErr: true},
		{name: "statusCode above 599", payload: `{"statusCode":600}`, wantErr: true},
		{name: "statusCode as object", payload: `{"statusCode":{}}`, wantErr: true},
		{name: "content-type from the function wins", payload: `{"statusCode":200,"headers":{"Content-Type":"text/plain"},"body":"x"}`,
			status: 200, headers: []string{"Content-Type: text/plain"}, body: "x"},
		{name: "scalar header values are stringified, null skipped",
			payload: `{"statusCode":200,"headers":{"x-n":5,"x-b":true,"x-f":1.5e3,"x-null":null}}`,
			status:  200, headers: []string{"x-n: 5", "x-b: true", "x-f: 1.5e3", jsonCT}},
		{name: "comma-joined header stays one line", payload: `{"statusCode":200,"headers":{"x-m":"a,b"}}`,
			status: 200, headers: []string{"x-m: a,b", jsonCT}},
		{name: "multiValueHeaders are not part of 2.0", payload: `{"statusCode":200,"multiValueHeaders":{"x-m":["a","b"]}}`,
			status: 200, headers: []string{jsonCT}},
		{name: "unknown keys are ignored", payload: `{"statusCode":200,"foo":[1],"body":"b"}`,
			status: 200, headers: []string{jsonCT}, body: "b"},
		{name: "null headers, cookies and body", payload: `{"statusCode":204,"headers":null,"cookies":null,"body":null}`,
			status: 204, headers: []string{jsonCT}},
		{name: "numeric body is its text", payload: `{"statusCode":200,"body":123}`, status: 200, headers: []string{jsonCT}, body: "123"},
		{name: "unpadded base64", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"aGk"}`, status: 200, headers: []string{jsonCT}, body: "hi"},
		{name: "base64 with line breaks", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"aGVs\nbG8="}`,
			status: 200, headers: []string{jsonCT}, body: "hello"},
		{name: "isBase64Encoded false keeps text", payload: `{"statusCode":200,"isBase64Encoded":false,"body":"aGk="}`,
			status: 200, headers: []string{jsonCT}, body: "aGk="},
		{name: "header value with a line break", payload: `{"statusCode":200,"headers":{"x":"a\r\nSet-Cookie: evil"}}`, wantErr: true},
		{name: "header name that is not a token", payload: `{"statusCode":200,"headers":{"bad name":"1"}}`, wantErr: true},
		{name: "empty header name", payload: `{"statusCode":200,"headers":{"":"1"}}`, wantErr: true},
		{name: "header value object", payload: `{"statusCode":200,"headers":{"x":{"a":1}}}`, wantErr: true},
		{name: "headers not an object", payload: `{"statusCode":200,"headers":"x: 1"}`, wantErr: true},
		{name: "cookies not an array", payload: `{"statusCode":200,"cookies":"a=1"}`, wantErr: true},
		{name: "cookie not a string", payload: `{"statusCode":200,"cookies":[1]}`, wantErr: true},
		{name: "body object", payload: `{"statusCode":200,"body":{"a":1}}`, wantErr: true},
		{name: "invalid base64", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"***"}`, wantErr: true},
		{name: "isBase64Encoded not a boolean", payload: `{"statusCode":200,"isBase64Encoded":1,"body":"aGk="}`, wantErr: true},
		{name: "empty payload", payload: ``, wantErr: true},
		{name: "trailing garbage", payload: `{"statusCode":200} x`, wantErr: true},
		{name: "truncated JSON", payload: `{"statusCode":200,"body":"x`, wantErr: true},
	})
}

func TestParseResponseV1Rules(t *testing.T) {
	const ct = "Content-Type: application/json"
	runResponseCases(t, ParseResponseV1, []responseCase{
		{name: "plain result", payload: `{"statusCode":200,"headers":{"X-A":"1"},"body":"hi","isBase64Encoded":false}`,
			status: 200, headers: []string{"X-A: 1", ct}, body: "hi"},
		{name: "unknown key", payload: `{"statusCode":200,"wrongValue":1}`, wantErr: true},
		{name: "cookies is not a 1.0 key", payload: `{"statusCode":200,"cookies":["a=1"]}`, wantErr: true},
		{name: "keys are case-sensitive", payload: `{"StatusCode":200}`, wantErr: true},
		{name: "numeric string statusCode", payload: `{"statusCode":"201"}`, status: 201, headers: []string{ct}},
		{name: "non-numeric statusCode", payload: `{"statusCode":"test"}`, wantErr: true},
		{name: "missing statusCode, only headers", payload: `{"headers":{"X-A":"1"}}`, status: 200, headers: []string{"X-A: 1", ct}},
		{name: "empty object", payload: `{}`, status: 200, headers: []string{ct}},
		{name: "bare string", payload: `"justAString"`, wantErr: true},
		{name: "array", payload: `[{"statusCode":200}]`, wantErr: true},
		{name: "number", payload: `200`, wantErr: true},
		{name: "null result", payload: `null`, wantErr: true},
		{name: "empty result", payload: ``, wantErr: true},
		{name: "not JSON", payload: `ok`, wantErr: true},
		{name: "non-string header values are stringified",
			payload: `{"statusCode":200,"headers":{"X-Bool":true,"X-Num":1,"X-Null":null}}`,
			status:  200, headers: []string{"X-Bool: true", "X-Num: 1", ct}},
		{name: "null headers are fine", payload: `{"statusCode":200,"headers":null,"multiValueHeaders":null}`, status: 200, headers: []string{ct}},
		{name: "multiValueHeaders value must be an array", payload: `{"statusCode":200,"multiValueHeaders":{"X-A":"1"}}`, wantErr: true},
		{name: "multiValueHeaders element must be scalar", payload: `{"statusCode":200,"multiValueHeaders":{"X-A":[["1"]]}}`, wantErr: true},
		{name: "multiValueHeaders give one line per value",
			payload: `{"statusCode":200,"multiValueHeaders":{"Set-Cookie":["a=1","b=2"],"X-N":[1,null,false]}}`,
			status:  200, headers: []string{"Set-Cookie: a=1", "Set-Cookie: b=2", "X-N: 1", "X-N: false", ct}},
		{name: "merge: multi values first, multi key casing wins",
			payload: `{"statusCode":200,"headers":{"test-multi":"value-solo"},"multiValueHeaders":{"Test-Multi":["value-multi"]}}`,
			status:  200, headers: []string{"Test-Multi: value-multi", "Test-Multi: value-solo", ct}},
		{name: "merge: identical pair appears once",
			payload: `{"statusCode":200,"multiValueHeaders":{"X":["1","2"]},"headers":{"x":"1"}}`,
			status:  200, headers: []string{"X: 1", "X: 2", ct}},
		{name: "content type from multiValueHeaders", payload: `{"statusCode":200,"multiValueHeaders":{"content-type":["text/html"]}}`,
			status: 200, headers: []string{"content-type: text/html"}},
		{name: "repeated key in headers: last wins", payload: `{"statusCode":200,"headers":{"X":"1","X":"2"}}`,
			status: 200, headers: []string{"X: 2", ct}},
		{name: "base64 body is decoded", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"dGVzdC1kYXRh"}`,
			status: 200, headers: []string{ct}, body: "test-data"},
		{name: "isBase64Encoded as string", payload: `{"statusCode":200,"isBase64Encoded":"true","body":"aGk="}`,
			status: 200, headers: []string{ct}, body: "hi"},
		{name: "isBase64Encoded not a boolean", payload: `{"statusCode":200,"isBase64Encoded":"yes"}`, wantErr: true},
		{name: "body null", payload: `{"statusCode":204,"body":null}`, status: 204, headers: []string{ct}},
		{name: "body array", payload: `{"statusCode":200,"body":["x"]}`, wantErr: true},
		{name: "header value with a line break", payload: `{"statusCode":200,"multiValueHeaders":{"X":["a\nb"]}}`, wantErr: true},
	})
}

func TestParseResponseReusesItsMemory(t *testing.T) {
	var r Response
	big := `{"statusCode":201,"headers":{"x-long":"` + strings.Repeat("v", 300) + `"},"cookies":["a=1"],"body":"` + strings.Repeat("b", 300) + `"}`
	if err := ParseResponseV2([]byte(big), &r); err != nil {
		t.Fatal(err)
	}
	small := []byte(`{"statusCode":200,"headers":{"x":"1"},"body":"ok"}`)
	if err := ParseResponseV2(small, &r); err != nil {
		t.Fatal(err)
	}
	if got, want := headerLines(&r), []string{"x: 1", jsonCT}; !reflect.DeepEqual(got, want) || string(r.Body) != "ok" {
		t.Fatalf("after reuse: headers %q body %q", got, r.Body)
	}
	// The result must not alias the payload, which the invoker may recycle.
	copy(small, strings.Repeat("#", len(small)))
	if got := headerLines(&r); got[0] != "x: 1" || string(r.Body) != "ok" {
		t.Errorf("result changed with the payload: %q %q", got, r.Body)
	}
	if err := ParseResponseV1([]byte(`"bad"`), &r); err == nil {
		t.Fatal("want error")
	}
	if err := ParseResponseV1([]byte(`{"body":"x"}`), &r); err != nil || string(r.Body) != "x" || r.Status != 200 {
		t.Errorf("after an error: status %d body %q err %v", r.Status, r.Body, err)
	}

	if raceEnabled {
		return
	}
	v2 := []byte(`{"statusCode":200,"headers":{"content-type":"application/json","x-request-id":"abc"},"cookies":["s=1"],"body":"{\"ok\":true}"}`)
	if n := testing.AllocsPerRun(100, func() { _ = ParseResponseV2(v2, &r) }); n != 0 {
		t.Errorf("2.0: %v allocations per parse with a reused Response, want 0", n)
	}
	v1 := []byte(`{"statusCode":"200","headers":{"X-A":"1"},"multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"aGk=","isBase64Encoded":true}`)
	if n := testing.AllocsPerRun(100, func() { _ = ParseResponseV1(v1, &r) }); n != 0 {
		t.Errorf("1.0: %v allocations per parse with a reused Response, want 0", n)
	}
}

// FuzzParseResponse checks that no payload panics the parsers and that an
// accepted one always yields writable header lines.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`"Hello"`, `{"message":"hi"}`, `{"statusCode":"201","headers":{"a":1},"cookies":["c=1"],"body":"aGk=","isBase64Encoded":true}`,
		`{"statusCode":200,"multiValueHeaders":{"A":["1",2,null]},"headers":{"a":"3"}}`, `{"status\u0043ode":204}`, `null`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var r Response
		for _, parse := range []func([]byte, *Response) error{ParseResponseV1, ParseResponseV2} {
			if err := parse(p, &r); err != nil {
				continue
			}
			if r.Status < 100 || r.Status > 599 {
				t.Errorf("status %d accepted", r.Status)
			}
			for _, h := range r.Headers {
				if len(h.Name) == 0 || bytes.ContainsAny(h.Value, "\r\n\x00") {
					t.Errorf("unsafe header %q: %q", h.Name, h.Value)
				}
			}
		}
	})
}

// A REST result with isBase64Encoded true is decoded only when the
// request's first Accept type or the result's Content-Type is one of the
// API's binary media types; otherwise API Gateway returns the base64 text
// itself (so a missing setting shows before deployment).
func TestRESTBase64ResultIsDecodedOnlyForBinaryMediaTypes(t *testing.T) {
	images, err := NewBinaryTypes([]string{"image/*"})
	if err != nil {
		t.Fatal(err)
	}
	const plain = `{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}`
	const png = `{"statusCode":200,"headers":{"content-type":"image/png"},"isBase64Encoded":true,"body":"aGk="}`
	tests := []struct {
		name    string
		payload string
		bin     RESTBinary
		body    string
	}{
		{"no binary media types", png, RESTBinary{Accept: []byte("image/png")}, "aGk="},
		{"result content type matches", png, RESTBinary{Types: images, Accept: []byte("*/*")}, "hi"},
		{"first Accept type matches", plain, RESTBinary{Types: images, Accept: []byte("image/webp, text/html")}, "hi"},
		{"only a later Accept type matches", plain, RESTBinary{Types: images, Accept: []byte("text/html, image/webp")}, "aGk="},
		{"nothing matches", plain, RESTBinary{Types: images, Accept: []byte("application/json")}, "aGk="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			if err := ParseResponseREST([]byte(tt.payload), &r, tt.bin); err != nil {
				t.Fatal(err)
			}
			if string(r.Body) != tt.body {
				t.Errorf("body %q, want %q", r.Body, tt.body)
			}
		})
	}
}

// A REST function that returns {} gets 502 from API Gateway (a malformed
// result), while a result with only headers is a 200 with an empty body.
func TestRESTEmptyResultObjectIsMalformed(t *testing.T) {
	var r Response
	for _, payload := range []string{`{}`, ` { } `} {
		if err := ParseResponseREST([]byte(payload), &r, RESTBinary{}); !errors.Is(err, ErrMalformedResponse) {
			t.Errorf("%s: err %v, want ErrMalformedResponse", payload, err)
		}
	}
	if err := ParseResponseREST([]byte(`{"headers":{"x-a":"1"}}`), &r, RESTBinary{}); err != nil || r.Status != 200 || len(r.Body) != 0 {
		t.Errorf("headers only: err %v status %d body %q, want 200 and no body", err, r.Status, r.Body)
	}
}
