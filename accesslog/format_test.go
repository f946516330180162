package accesslog

import (
	"bytes"
	"cmp"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/frontdeskgw/frontdesk/internal/clftime"
)

// sampleRecord is a typical HTTP API request with every field set.
func sampleRecord() *Record {
	return &Record{
		RequestID:          []byte("LV7fzho-PHcEJPw="),
		ExtendedRequestID:  []byte("c6af9ac6-7b61-11e6-9a41-93e8deadbeef"),
		SourceIP:           []byte("192.0.2.7"),
		RequestTime:        time.Date(2020, time.April, 21, 15, 8, 21, 67e6, time.UTC),
		HTTPMethod:         []byte("GET"),
		RouteKey:           []byte("GET /pets/{id}"),
		Path:               []byte("/prod/pets/42"),
		Status:             200,
		Protocol:           []byte("HTTP/1.1"),
		ResponseLength:     1234,
		IntegrationLatency: 41*time.Millisecond + 900*time.Microsecond,
		ResponseLatency:    45 * time.Millisecond,
		APIID:              []byte("petstore"),
		Stage:              []byte("prod"),
		UserAgent:          []byte("curl/8.5.0"),
		APIKey:             []byte("abcdEFGHijklMNOPqrst"),
		ErrorMessage:       []byte("Too Many Requests"),
	}
}

func TestJSONLineCarriesIntegrationAndAuthorizerErrors(t *testing.T) {
	r := sampleRecord()
	r.ErrorMessage = []byte("Bad Gateway")
	r.IntegrationErrorMessage = []byte("dial tcp 127.0.0.1:9: connection refused")
	r.AuthorizerError = []byte("token is expired")
	got := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))
	for k, v := range map[string]string{
		"errorMessage":            "Bad Gateway",
		"integrationErrorMessage": "dial tcp 127.0.0.1:9: connection refused",
		"authorizerError":         "token is expired",
	} {
		if got[k] != v {
			t.Errorf("%s = %#v, want %q", k, got[k], v)
		}
	}
}

func decodeJSONLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	if len(line) == 0 || line[len(line)-1] != '\n' {
		t.Fatalf("line does not end in a newline: %q", line)
	}
	if bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("line spans several lines: %q", line)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("line is not JSON: %v\n%s", err, line)
	}
	return m
}

func TestJSONLineCarriesContextFieldNamesAndValues(t *testing.T) {
	line := appendLine(nil, FormatJSON, sampleRecord(), nil)
	got := decodeJSONLine(t, line)
	want := map[string]any{
		"requestId":          "LV7fzho-PHcEJPw=",
		"extendedRequestId":  "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
		"ip":                 "192.0.2.7",
		"requestTime":        "21/Apr/2020:15:08:21 +0000",
		"httpMethod":         "GET",
		"routeKey":           "GET /pets/{id}",
		"path":               "/prod/pets/42",
		"status":             json.Number("200"),
		"protocol":           "HTTP/1.1",
		"responseLength":     json.Number("1234"),
		"integrationLatency": json.Number("41"),
		"responseLatency":    json.Number("45"),
		"apiId":              "petstore",
		"stage":              "prod",
		"userAgent":          "curl/8.5.0",
		"apiKey":             "abcd****************",
		"errorMessage":       "Too Many Requests",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected field %s = %#v", k, got[k])
		}
	}
}

func TestJSONLineOmitsUnsetOptionalFieldsAndDashesEmptyOnes(t *testing.T) {
	r := &Record{Status: 404, IntegrationLatency: -1}
	got := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))
	for _, k := range []string{"extendedRequestId", "integrationLatency", "apiKey", "errorMessage", "integrationErrorMessage", "authorizerError"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s present (%#v), want omitted", k, v)
		}
	}
	for _, k := range []string{"requestId", "ip", "requestTime", "httpMethod", "routeKey", "path", "protocol", "apiId", "stage", "userAgent"} {
		if got[k] != "-" {
			t.Errorf("%s = %#v, want \"-\"", k, got[k])
		}
	}
	if got["status"] != json.Number("404") || got["responseLength"] != json.Number("0") || got["responseLatency"] != json.Number("0") {
		t.Errorf("numbers = %v %v %v", got["status"], got["responseLength"], got["responseLatency"])
	}
}

func TestJSONLineLogsZeroIntegrationLatency(t *testing.T) {
	r := sampleRecord()
	r.IntegrationLatency = 0 // a mock integration answers at once
	if got := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil)); got["integrationLatency"] != json.Number("0") {
		t.Errorf("integrationLatency = %#v, want 0", got["integrationLatency"])
	}
}

func TestJSONEscapesBytesFromTheRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the decoded value
	}{
		{"plain", "/pets/42", "/pets/42"},
		{"quote", `/a"b`, `/a"b`},
		{"backslash", `/a\b`, `/a\b`},
		{"newline cannot split the line", "/a\nb", "/a\nb"},
		{"carriage return and tab", "a\r\tb", "a\r\tb"},
		{"other control characters", "a\x00\x01\x1fb", "a\x00\x01\x1fb"},
		{"DEL is valid JSON", "a\x7fb", "a\x7fb"},
		{"valid UTF-8 passes", "/café/日本", "/café/日本"},
		{"invalid UTF-8 becomes U+FFFD", "/a\xffb\xc3", "/a\uFFFDb\uFFFD"},
		{"truncated sequence mid-string", "a\xe6\x97b", "a\uFFFD\uFFFDb"},
		{"line separators", "a\u2028b\u2029c", "a\u2028b\u2029c"},
		{"fake JSON injection", `","status":999,"x":"`, `","status":999,"x":"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			r.Path = []byte(tt.in)
			r.UserAgent = []byte(tt.in)
			line := appendLine(nil, FormatJSON, r, nil)
			if !utf8.Valid(line) {
				t.Fatalf("line is not valid UTF-8: %q", line)
			}
			if bytes.ContainsAny(line[:len(line)-1], "\n\r\u2028\u2029") {
				t.Fatalf("line holds a raw line break: %q", line)
			}
			got := decodeJSONLine(t, line)
			if got["path"] != tt.want || got["userAgent"] != tt.want {
				t.Errorf("path = %q, userAgent = %q, want %q", got["path"], got["userAgent"], tt.want)
			}
			if got["status"] != json.Number("200") {
				t.Errorf("status = %v: the value escaped its string", got["status"])
			}
		})
	}
}

func TestCLFLineHasAWSPresetShape(t *testing.T) {
	got := string(appendLine(nil, FormatCLF, sampleRecord(), nil))
	want := `192.0.2.7 - - [21/Apr/2020:15:08:21 +0000] "GET GET /pets/{id} HTTP/1.1" 200 1234 LV7fzho-PHcEJPw=` + "\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// clfShape is the preset's structure: ip, two dashes, bracketed time, the
// quoted request part, status, length, request id.
var clfShape = regexp.MustCompile(`^\S+ - - \[(?:\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000|-)\] "[^"]*" -?\d+ -?\d+ \S+\n$`)

func TestCLFEscapesBytesThatWouldBreakTheLine(t *testing.T) {
	tests := []struct {
		name     string
		routeKey string
		ip       string
		wantReq  string // the quoted request part
		wantIP   string
	}{
		{"plain", "GET /pets", "192.0.2.7", `"GET GET /pets HTTP/1.1"`, "192.0.2.7"},
		{"quote", `GET /a"b`, "192.0.2.7", `"GET GET /a\x22b HTTP/1.1"`, "192.0.2.7"},
		{"backslash", `GET /a\b`, "192.0.2.7", `"GET GET /a\x5cb HTTP/1.1"`, "192.0.2.7"},
		{"newline", "GET /a\nb", "192.0.2.7", `"GET GET /a\x0ab HTTP/1.1"`, "192.0.2.7"},
		{"DEL", "GET /a\x7f", "192.0.2.7", `"GET GET /a\x7f HTTP/1.1"`, "192.0.2.7"},
		{"invalid UTF-8", "GET /a\xff", "192.0.2.7", `"GET GET /a\xff HTTP/1.1"`, "192.0.2.7"},
		{"valid UTF-8 passes", "GET /café", "192.0.2.7", `"GET GET /café HTTP/1.1"`, "192.0.2.7"},
		{"space outside quotes", "GET /", "1.2.3.4 evil", `"GET GET / HTTP/1.1"`, `1.2.3.4\x20evil`},
		{"empty is a dash", "", "", `"GET - HTTP/1.1"`, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			r.RouteKey = []byte(tt.routeKey)
			r.SourceIP = []byte(tt.ip)
			line := string(appendLine(nil, FormatCLF, r, nil))
			if !clfShape.MatchString(line) {
				t.Fatalf("line does not have the CLF shape: %q", line)
			}
			if !strings.HasPrefix(line, tt.wantIP+" - - [") {
				t.Errorf("line %q does not start with ip %q", line, tt.wantIP)
			}
			if !strings.Contains(line, "] "+tt.wantReq+" 200 ") {
				t.Errorf("line %q lacks request part %s", line, tt.wantReq)
			}
		})
	}
}

// TestRequestTimeIsCLFOrADash: the zero time is "-", as API Gateway
// logs a variable without a value; any other is internal/clftime's text,
// from the cache or not.
func TestRequestTimeIsCLFOrADash(t *testing.T) {
	if got := string(appendRequestTime(nil, time.Time{}, nil)); got != "-" {
		t.Errorf("zero time: got %q, want -", got)
	}
	at := time.Date(2015, time.December, 31, 23, 30, 0, 0, time.FixedZone("X", -90*60))
	var tc clftime.Cache
	for _, cache := range []*clftime.Cache{nil, &tc, &tc} {
		if got := string(appendRequestTime(nil, at, cache)); got != "01/Jan/2016:01:00:00 +0000" {
			t.Errorf("cache %v: got %q", cache != nil, got)
		}
	}
}

func TestLongFieldsAreCutAtACharacterBoundary(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{"at the limit is kept", strings.Repeat("a", MaxLongField), strings.Repeat("a", MaxLongField)},
		{"over the limit is cut", strings.Repeat("a", MaxLongField+10), strings.Repeat("a", MaxLongField) + "..."},
		// "é" is two bytes: the one straddling the limit is dropped whole.
		{"multi-byte character at the limit", "a" + strings.Repeat("é", MaxLongField/2), "a" + strings.Repeat("é", MaxLongField/2-1) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			r.Path = []byte(tt.path)
			if got := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))["path"]; got != tt.want {
				t.Errorf("path has %d bytes, want %d", len(got.(string)), len(tt.want))
			}
		})
	}
}

func TestWorstCaseLineFitsMaxLineBytes(t *testing.T) {
	short := bytes.Repeat([]byte{0x01}, MaxShortField*2)
	long := bytes.Repeat([]byte{0xff}, MaxLongField*2)
	r := &Record{
		RequestID: short, ExtendedRequestID: short, SourceIP: short,
		RequestTime: time.Date(9999, time.December, 31, 23, 59, 59, 0, time.UTC),
		HTTPMethod:  short, RouteKey: long, Path: long, Status: -1 << 63,
		Protocol: short, ResponseLength: -1 << 63, IntegrationLatency: 1<<63 - 1,
		ResponseLatency: 1<<63 - 1, APIID: short, Stage: short, UserAgent: long,
		APIKey: short, ErrorMessage: long, IntegrationErrorMessage: long, AuthorizerError: long,
		ValidationErrorString: long,
		TraceID:               short,
	}
	for _, f := range []Format{FormatJSON, FormatCLF} {
		if n := len(appendLine(nil, f, r, nil)); n > MaxLineBytes {
			t.Errorf("%v: worst line is %d bytes, over MaxLineBytes %d", f, n, MaxLineBytes)
		}
	}
}

// traceId is written only for a traced request, and only in JSON.
func TestTraceIDOnlyWhenTraced(t *testing.T) {
	r := sampleRecord()
	if _, ok := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))["traceId"]; ok {
		t.Error("traceId written for a request without a trace")
	}
	r.TraceID = []byte("4bf92f3577b34da6a3ce929d0e0e4736")
	if got := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))["traceId"]; got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("traceId %v", got)
	}
	if line := string(appendLine(nil, FormatCLF, r, nil)); strings.Contains(line, "4bf92f35") {
		t.Errorf("CLF line carries the trace id: %s", line)
	}
}

func TestMaskKeyKeepsAtMostFourCharacters(t *testing.T) {
	tests := []struct{ key, want string }{
		{"", ""},
		{"a", "*"},
		{"abcd", "ab**"},
		{"abcdefgh", "abcd****"},
		{"abcdefghijklmnopqrst", "abcd****************"},
		{"abcd****************", "abcd****************"}, // already masked
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got := MaskKey([]byte("x="), []byte(tt.key))
			if string(got) != "x="+tt.want {
				t.Errorf("MaskKey(%q) = %q, want %q", tt.key, got[2:], tt.want)
			}
			if again := MaskKey(nil, got[2:]); string(again) != tt.want {
				t.Errorf("masking twice gives %q, want %q", again, tt.want)
			}
			r := sampleRecord()
			r.APIKey = []byte(tt.key)
			if v, ok := decodeJSONLine(t, appendLine(nil, FormatJSON, r, nil))["apiKey"]; (tt.key != "" && v != tt.want) || (tt.key == "" && ok) {
				t.Errorf("logged apiKey = %#v, want %q", v, tt.want)
			}
		})
	}
}

func TestParseFormatAcceptsContractNames(t *testing.T) {
	tests := []struct {
		in      string
		want    Format
		wantErr bool
	}{
		{"", FormatJSON, false},
		{"json", FormatJSON, false},
		{"clf", FormatCLF, false},
		{"CLF", 0, true},
		{"xml", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseFormat(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != cmp.Or(tt.in, "json") {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}
