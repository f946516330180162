package lambda

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

func TestParseResponseEdgeCases(t *testing.T) {
	t.Run("2.0", func(t *testing.T) {
		runResponseCases(t, ParseResponseV2, []responseCase{
			{name: "statusCode with an exponent", payload: `{"statusCode":2e2}`, wantErr: true},
			{name: "negative statusCode", payload: `{"statusCode":-200}`, wantErr: true},
			{name: "statusCode with a leading zero", payload: `{"statusCode":"0200"}`, wantErr: true},
			{name: "statusCode as a boolean", payload: `{"statusCode":true}`, wantErr: true},
			{name: "empty statusCode string", payload: `{"statusCode":""}`, wantErr: true},
			{name: "bounds are inclusive", payload: `{"statusCode":599}`, status: 599, headers: []string{jsonCT}},
			{name: "boolean body is its text", payload: `{"statusCode":200,"body":false}`, status: 200, headers: []string{jsonCT}, body: "false"},
			{name: "escaped NUL in a header value", payload: `{"statusCode":200,"headers":{"x":"a\u0000b"}}`, wantErr: true},
			{name: "escaped line break in a cookie", payload: `{"statusCode":200,"cookies":["a=1\nSet-Cookie: b=2"]}`, wantErr: true},
			{name: "escaped non-ASCII header name", payload: `{"statusCode":200,"headers":{"x-\u00e9":"1"}}`, wantErr: true},
			{name: "escaped header name that is a token", payload: `{"statusCode":200,"headers":{"x-\u0041":"1"}}`,
				status: 200, headers: []string{"x-A: 1", jsonCT}},
			{name: "non-ASCII header value is kept", payload: `{"statusCode":200,"headers":{"x":"caf\u00e9"}}`,
				status: 200, headers: []string{"x: café", jsonCT}},
			{name: "null cookies are skipped", payload: `{"statusCode":200,"cookies":[null,"a=1",null]}`,
				status: 200, headers: []string{"set-cookie: a=1", jsonCT}},
			{name: "a set-cookie header and cookies both stay", payload: `{"statusCode":200,"headers":{"set-cookie":"a=1"},"cookies":["b=2"]}`,
				status: 200, headers: []string{"set-cookie: a=1", "set-cookie: b=2", jsonCT}},
			{name: "content-type in another case counts", payload: `{"statusCode":200,"headers":{"CONTENT-TYPE":"text/plain"}}`,
				status: 200, headers: []string{"CONTENT-TYPE: text/plain"}},
			{name: "base64 with a space", payload: `{"statusCode":200,"isBase64Encoded":true,"body":"aG k="}`, wantErr: true},
			{name: "empty base64 body", payload: `{"statusCode":200,"isBase64Encoded":true,"body":""}`, status: 200, headers: []string{jsonCT}},
			{name: "escaped string body without statusCode", payload: `"line\r\nbreak"`, status: 200, headers: []string{jsonCT}, body: "line\r\nbreak"},
		})
	})
	t.Run("1.0", func(t *testing.T) {
		const ct = "Content-Type: application/json"
		runResponseCases(t, ParseResponseV1, []responseCase{
			{name: "repeated multiValueHeaders key: last wins", payload: `{"multiValueHeaders":{"X":["1"],"X":["2","3"]}}`,
				status: 200, headers: []string{"X: 2", "X: 3", ct}},
			{name: "null multiValueHeaders entry is skipped", payload: `{"multiValueHeaders":{"X":null,"Y":["1"]}}`,
				status: 200, headers: []string{"Y: 1", ct}},
			{name: "empty multiValueHeaders array gives no line", payload: `{"multiValueHeaders":{"X":[]}}`,
				status: 200, headers: []string{ct}},
			{name: "merge keeps a headers value that differs in case", payload: `{"multiValueHeaders":{"X":["a"]},"headers":{"x":"A"}}`,
				status: 200, headers: []string{"X: a", "X: A", ct}},
			{name: "header name that is not a token in multiValueHeaders", payload: `{"multiValueHeaders":{"X:Y":["1"]}}`, wantErr: true},
			{name: "escaped statusCode key", payload: `{"status\u0043ode":201}`, status: 201, headers: []string{ct}},
			{name: "statusCode above 599 as a string", payload: `{"statusCode":"600"}`, wantErr: true},
			{name: "isBase64Encoded false as a string", payload: `{"isBase64Encoded":"false","body":"aGk="}`,
				status: 200, headers: []string{ct}, body: "aGk="},
		})
	})
}

// jsonText is s as a function's JSON encoder sends it and API Gateway
// reads it back (invalid UTF-8 becomes U+FFFD).
func jsonText(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func isHeaderToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func safeValue(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }

func encodeJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkParsed compares a parse against the expected outcome: an error
// wrapping ErrMalformedResponse, or the status, header lines and body.
func checkParsed(t *testing.T, payload []byte, r *Response, err error, valid bool, status int, headers []string, body []byte) {
	t.Helper()
	if !valid {
		if err == nil {
			t.Fatalf("%s: accepted as %d %q, want an error", payload, r.Status, headerLines(r))
		}
		if !errors.Is(err, ErrMalformedResponse) {
			t.Fatalf("%s: error %v does not wrap ErrMalformedResponse", payload, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	if r.Status != status || !slices.Equal(headerLines(r), headers) || !bytes.Equal(r.Body, body) {
		t.Fatalf("%s:\n got %d %q %q\nwant %d %q %q", payload, r.Status, headerLines(r), r.Body, status, headers, body)
	}
}

// FuzzParseResponseV2RoundTrip encodes a 2.0 result the way a function's
// JSON library would and checks that the parser gives back what was put in,
// or refuses exactly what the documented rules refuse (status outside
// 100–599, a header name that is not a token, CR, LF or NUL in a value).
func FuzzParseResponseV2RoundTrip(f *testing.F) {
	f.Add(200, false, "x-a", "1", "s=1; HttpOnly", []byte("hello"), false)
	f.Add(201, true, "Content-Type", "text/plain", "", []byte{0, 1, 2, 0xff}, true)
	f.Add(99, false, "x", "v", "c", []byte(""), false)
	f.Add(600, true, "x", "v", "c", []byte("x"), false)
	f.Add(200, false, "bad name", "v", "c", []byte("x"), false)
	f.Add(200, false, "x", "a\r\nb", "c", []byte("x"), false)
	f.Add(302, false, "location", "/next", "a=1\nb", []byte("\xff"), false)
	f.Fuzz(func(t *testing.T, status int, statusText bool, name, value, cookie string, body []byte, b64 bool) {
		var statusField any = status
		if statusText {
			statusField = strconv.Itoa(status)
		}
		result := map[string]any{
			"statusCode": statusField,
			"headers":    map[string]string{name: value},
			"body":       string(body),
		}
		wantBody := []byte(jsonText(t, string(body)))
		if b64 {
			result["isBase64Encoded"] = true
			result["body"] = base64.StdEncoding.EncodeToString(body)
			wantBody = body
		}
		if cookie != "" {
			result["cookies"] = []string{cookie}
		}
		payload := encodeJSON(t, result)

		value, cookie = jsonText(t, value), jsonText(t, cookie)
		valid := status >= 100 && status <= 599 && isHeaderToken(name) && safeValue(value) && safeValue(cookie)
		headers := []string{name + ": " + value}
		if cookie != "" {
			headers = append(headers, "set-cookie: "+cookie)
		}
		if !ascii.EqualFold(name, "content-type") {
			headers = append(headers, jsonCT)
		}
		var r Response
		err := ParseResponseV2(payload, &r)
		checkParsed(t, payload, &r, err, valid, status, headers, wantBody)
	})
}

// FuzzParseResponseV1RoundTrip is the 1.0 round trip, with a name in
// multiValueHeaders and one in headers so the merge rule is exercised:
// multi values first, a headers name equal to a multi name but for case
// takes the multi spelling, and a value already there is not repeated.
func FuzzParseResponseV1RoundTrip(f *testing.F) {
	f.Add(200, false, "Test-Multi", "value-multi", "x", "test-multi", "value-solo", []byte("hi"), false)
	f.Add(200, true, "X", "1", "2", "x", "1", []byte{0xff, 0}, true)
	f.Add(404, false, "Set-Cookie", "a=1", "b=2", "Content-Type", "text/html", []byte(""), false)
	f.Add(200, false, "content-type", "text/html", "x", "X-A", "v", []byte("b"), false)
	f.Add(200, false, "X", "a\nb", "c", "Y", "v", []byte("b"), false)
	f.Add(50, false, "X", "a", "c", "Y", "v", []byte("b"), false)
	f.Fuzz(func(t *testing.T, status int, statusText bool, mname, mv1, mv2, name, value string, body []byte, b64 bool) {
		var statusField any = status
		if statusText {
			statusField = strconv.Itoa(status)
		}
		result := map[string]any{
			"statusCode":        statusField,
			"multiValueHeaders": map[string][]string{mname: {mv1, mv2}},
			"headers":           map[string]string{name: value},
			"body":              string(body),
			"isBase64Encoded":   b64,
		}
		wantBody := []byte(jsonText(t, string(body)))
		if b64 {
			result["body"] = base64.StdEncoding.EncodeToString(body)
			wantBody = body
		}
		payload := encodeJSON(t, result)

		mv1, mv2, value = jsonText(t, mv1), jsonText(t, mv2), jsonText(t, value)
		valid := status >= 100 && status <= 599 && isHeaderToken(mname) && isHeaderToken(name) &&
			safeValue(mv1) && safeValue(mv2) && safeValue(value)
		headers := []string{mname + ": " + mv1, mname + ": " + mv2}
		switch {
		case !ascii.EqualFold(name, mname):
			headers = append(headers, name+": "+value)
		case value != mv1 && value != mv2:
			headers = append(headers, mname+": "+value)
		}
		if !ascii.EqualFold(name, "content-type") && !ascii.EqualFold(mname, "content-type") {
			headers = append(headers, "Content-Type: application/json")
		}
		var r Response
		err := ParseResponseV1(payload, &r)
		checkParsed(t, payload, &r, err, valid, status, headers, wantBody)
	})
}

type parsed struct {
	err     bool
	status  int
	headers []string
	body    string
}

func snapshot(r *Response, err error) parsed {
	if err != nil {
		return parsed{err: true}
	}
	return parsed{status: r.Status, headers: headerLines(r), body: string(r.Body)}
}

// FuzzParseResponseReuse checks the Response reuse contract: parsing into a
// Response that held an earlier result gives what a fresh one gives, and
// the result owns its memory (changing the payload afterwards changes
// nothing).
func FuzzParseResponseReuse(f *testing.F) {
	big := `{"statusCode":201,"headers":{"x-long":"` + strings.Repeat("v", 200) + `"},"cookies":["a=1"],"body":"` + strings.Repeat("b", 200) + `"}`
	for _, s := range [][2]string{
		{big, `{"statusCode":200,"headers":{"x":"1"},"body":"ok"}`},
		{`{"multiValueHeaders":{"A":["1","2"]},"headers":{"a":"3"},"body":"aGk=","isBase64Encoded":true}`, `"Hello"`},
		{`{"statusCode":200}`, `{"statusCode":200,"headers":{"x":"\r"}}`},
		{`not json`, `{"statusCode":"204","body":null}`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, prior, payload []byte) {
		for _, parse := range []func([]byte, *Response) error{ParseResponseV1, ParseResponseV2} {
			var fresh, reused Response
			want := snapshot(&fresh, parse(payload, &fresh))
			_ = parse(prior, &reused)
			p := bytes.Clone(payload)
			got := snapshot(&reused, parse(p, &reused))
			if want.err != got.err || want.status != got.status || !slices.Equal(want.headers, got.headers) || want.body != got.body {
				t.Fatalf("%q after %q:\n got %+v\nwant %+v", payload, prior, got, want)
			}
			for i := range p {
				p[i] = '#'
			}
			if after := snapshot(&reused, nil); !got.err && (after.status != got.status || !slices.Equal(after.headers, got.headers) || after.body != got.body) {
				t.Fatalf("%q: the result changed with the payload: %+v, was %+v", payload, after, got)
			}
		}
	})
}
