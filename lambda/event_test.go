package lambda

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The request behind aws-lambda-go's apigw-v2-request-no-authorizer.json:
// curl against a $default stage.
const noAuthorizerRequest = `GET / HTTP/1.1
accept: */*
content-length: 0
host: aaaaaaaaaa.execute-api.us-west-2.amazonaws.com
user-agent: curl/7.58.0
x-amzn-trace-id: Root=1-5e9f0c65-1de4d666d4dd26aced652b6c
x-forwarded-for: 1.2.3.4
x-forwarded-port: 443
x-forwarded-proto: https

`

func TestEventV2MatchesNoAuthorizerFixture(t *testing.T) {
	var want events.APIGatewayV2HTTPRequest
	decode(t, fixture(t, "apigw-v2-request-no-authorizer.json"), &want)
	// frontdesk has no mutual TLS data to report.
	want.RequestContext.Authentication = events.APIGatewayV2HTTPRequestContextAuthentication{}

	in := &EventInput{
		Req:       readRequest(t, noAuthorizerRequest, false),
		RouteKey:  "$default",
		Stage:     "$default",
		APIID:     "aaaaaaaaaa",
		AccountID: "123456789012",
		RequestID: []byte("LV7fzho-PHcEJPw="),
		SourceIP:  []byte("1.2.3.4"),
		Time:      msTime(1587481701067),
	}
	var got events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, in), &got)
	diffFields(t, "event", reflect.ValueOf(got), reflect.ValueOf(want))
}

// restFixtureHeaders are apigw-request.json's headers in the order a client
// would send them.
var restFixtureHeaders = [][2]string{
	{"Accept", "*/*"},
	{"Accept-Encoding", "gzip, deflate"},
	{"cache-control", "no-cache"},
	{"CloudFront-Forwarded-Proto", "https"},
	{"CloudFront-Is-Desktop-Viewer", "true"},
	{"CloudFront-Is-Mobile-Viewer", "false"},
	{"CloudFront-Is-SmartTV-Viewer", "false"},
	{"CloudFront-Is-Tablet-Viewer", "false"},
	{"CloudFront-Viewer-Country", "US"},
	{"Content-Type", "application/json"},
	{"headerName", "headerValue"},
	{"Host", "gy415nuibc.execute-api.us-east-1.amazonaws.com"},
	{"Postman-Token", "9f583ef0-ed83-4a38-aef3-eb9ce3f7a57f"},
	{"User-Agent", "PostmanRuntime/2.4.5"},
	{"Via", "1.1 d98420743a69852491bbdea73f7680bd.cloudfront.net (CloudFront)"},
	{"X-Amz-Cf-Id", "pn-PWIJc6thYnZm5P0NMgOUglL1DYtl0gdeJky8tqsg8iS_sgsKD1A=="},
	{"X-Forwarded-For", "54.240.196.186, 54.182.214.83"},
	{"X-Forwarded-Port", "443"},
	{"X-Forwarded-Proto", "https"},
}

func TestEventV1MatchesRESTFixture(t *testing.T) {
	var want events.APIGatewayProxyRequest
	decode(t, fixture(t, "apigw-request.json"), &want)

	in := &EventInput{
		Req:               newRequest("POST", "/hello/world?name=me", restFixtureHeaders, "{\r\n\t\"a\": 1\r\n}"),
		Resource:          "/{proxy+}",
		Stage:             "testStage",
		Path:              []byte("/hello/world"),
		PathParams:        []Param{{"proxy", []byte("hello/world")}},
		StageVariables:    []Param{{"stageVariableName", []byte("stageVariableValue")}},
		APIID:             "gy415nuibc",
		AccountID:         "12345678912",
		ResourceID:        "roq9wj",
		RequestID:         []byte("deef4878-7910-11e6-8f14-25afc3e9ae33"),
		ExtendedRequestID: []byte("TWegAcC4EowCHnA="),
		SourceIP:          []byte("192.168.196.186"),
		Time:              msTime(1589522469693),
		Authorizer:        []byte(`{"principalId":"admin","clientId":1,"clientName":"Exata"}`),
		APIKey:            []byte("theApiKey"),
		APIKeyID:          []byte("theApiKeyId"),
	}
	var got events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, in, false), &got)

	// Identity: frontdesk has no IAM, Cognito or mTLS caller to report, so
	// those fields are null; the rest must match.
	want.RequestContext.Identity = events.APIGatewayRequestIdentity{
		APIKey:    "theApiKey",
		APIKeyID:  "theApiKeyId",
		SourceIP:  "192.168.196.186",
		UserAgent: "PostmanRuntime/2.4.5",
	}
	// The fixture's domainName (us-east-2, prefix y0ne18dixk) contradicts its
	// own Host header; frontdesk derives both from Host.
	want.RequestContext.DomainName = "gy415nuibc.execute-api.us-east-1.amazonaws.com"
	want.RequestContext.DomainPrefix = "gy415nuibc"
	diffFields(t, "event", reflect.ValueOf(got), reflect.ValueOf(want))
}

func TestEventV2OmitsAbsentMembers(t *testing.T) {
	in := &EventInput{
		Req:      readRequest(t, "GET /items HTTP/1.1\nHost: api.test\n\n", false),
		RouteKey: "GET /items",
		Stage:    "$default",
		Time:     msTime(0),
	}
	m := decodeMap(t, AppendEventV2(nil, in))
	for _, key := range []string{"cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"} {
		if v, ok := m[key]; ok {
			t.Errorf("%s present (%v), want absent", key, v)
		}
	}
	if _, ok := member(m, "requestContext", "authorizer"); ok {
		t.Errorf("requestContext.authorizer present, want absent")
	}
	want := map[string]any{
		"version":         "2.0",
		"rawQueryString":  "",
		"isBase64Encoded": false,
		"headers":         map[string]any{"host": "api.test"},
	}
	for key, w := range want {
		if g, ok := m[key]; !ok || !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %#v (present %v), want %#v", key, g, ok, w)
		}
	}
}

func TestEventV1UsesNullForAbsentMembers(t *testing.T) {
	for _, httpAPI := range []bool{false, true} {
		t.Run(fmt.Sprintf("httpAPI=%v", httpAPI), func(t *testing.T) {
			in := &EventInput{
				Req:   readRequest(t, "GET /prod/items HTTP/1.1\nHost: api.test\n\n", false),
				Stage: "prod",
				Path:  []byte("/items"),
				Time:  msTime(0),
			}
			m := decodeMap(t, AppendEventV1(nil, in, httpAPI))
			for _, key := range []string{"queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body"} {
				if v, ok := m[key]; !ok || v != nil {
					t.Errorf("%s = %v (present %v), want null", key, v, ok)
				}
			}
			// Without an API key, apiKey and apiKeyId are absent, as in
			// API Gateway's events.
			for _, key := range []string{"apiKey", "apiKeyId"} {
				if v, ok := member(m, "requestContext", "identity", key); ok {
					t.Errorf("identity.%s = %v, want absent", key, v)
				}
			}
			for _, key := range []string{"accessKey", "accountId", "caller",
				"cognitoAuthenticationProvider", "cognitoAuthenticationType", "cognitoIdentityId",
				"cognitoIdentityPoolId", "principalOrgId", "user", "userArn"} {
				if v, ok := member(m, "requestContext", "identity", key); !ok || v != nil {
					t.Errorf("identity.%s = %v (present %v), want null", key, v, ok)
				}
			}
			if _, ok := member(m, "requestContext", "authorizer"); ok {
				t.Errorf("requestContext.authorizer present, want absent")
			}
			if _, ok := member(m, "requestContext", "deploymentId"); ok {
				t.Errorf("requestContext.deploymentId present without a deployment")
			}
			if v, ok := m["isBase64Encoded"]; !ok || v != false {
				t.Errorf("isBase64Encoded = %v (present %v), want false", v, ok)
			}
			version, ok := m["version"]
			switch {
			case httpAPI && version != "1.0":
				t.Errorf("HTTP API 1.0 version = %v, want \"1.0\"", version)
			case !httpAPI && ok:
				t.Errorf("REST event has version %v, want absent", version)
			}
		})
	}
}

func TestEventV2LowercasesAndJoinsHeadersAndMovesCookies(t *testing.T) {
	req := readRequest(t, `GET /x HTTP/1.1
Host: api.test
X-Multi: a
Cookie: session=abc; theme=dark
x-multi: b
X-MULTI: c
Cookie: lang=en
Accept: text/html

`, true)
	var got events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, &EventInput{Req: req, Time: msTime(0)}), &got)
	wantHeaders := map[string]string{
		"host":    "api.test",
		"x-multi": "a,b,c",
		"accept":  "text/html",
	}
	if !reflect.DeepEqual(got.Headers, wantHeaders) {
		t.Errorf("headers = %v, want %v", got.Headers, wantHeaders)
	}
	wantCookies := []string{"session=abc", "theme=dark", "lang=en"}
	if !reflect.DeepEqual(got.Cookies, wantCookies) {
		t.Errorf("cookies = %q, want %q", got.Cookies, wantCookies)
	}
}

func TestEventV1HeadersKeepLastValueAndListAll(t *testing.T) {
	raw := `GET /x HTTP/1.1
Host: api.test
X-Multi: a
x-multi: b
tEsT-HEADeR: kept
Cookie: a=1

`
	tests := []struct {
		name      string
		httpAPI   bool
		single    map[string]string
		multi     map[string][]string
		singleKey string
	}{
		{
			name:    "REST keeps client casing",
			httpAPI: false,
			single:  map[string]string{"Host": "api.test", "X-Multi": "b", "tEsT-HEADeR": "kept", "Cookie": "a=1"},
			multi:   map[string][]string{"Host": {"api.test"}, "X-Multi": {"a", "b"}, "tEsT-HEADeR": {"kept"}, "Cookie": {"a=1"}},
		},
		{
			name:    "HTTP API lower-cases names",
			httpAPI: true,
			single:  map[string]string{"host": "api.test", "x-multi": "b", "test-header": "kept", "cookie": "a=1"},
			multi:   map[string][]string{"host": {"api.test"}, "x-multi": {"a", "b"}, "test-header": {"kept"}, "cookie": {"a=1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &EventInput{Req: readRequest(t, raw, true), Time: msTime(0)}
			var got events.APIGatewayProxyRequest
			decode(t, AppendEventV1(nil, in, tt.httpAPI), &got)
			if !reflect.DeepEqual(got.Headers, tt.single) {
				t.Errorf("headers = %v, want %v", got.Headers, tt.single)
			}
			if !reflect.DeepEqual(got.MultiValueHeaders, tt.multi) {
				t.Errorf("multiValueHeaders = %v, want %v", got.MultiValueHeaders, tt.multi)
			}
		})
	}
}

func TestEventQueryDecoding(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		v2      map[string]string // nil = absent
		v1      map[string]string // nil = null
		v1Multi map[string][]string
		rest    bool // run the 1.0 check as REST (';' splits)
	}{
		{
			name:    "duplicates joined in 2.0, last wins in 1.0",
			query:   "category=electronics&category=books&x=1",
			v2:      map[string]string{"category": "electronics,books", "x": "1"},
			v1:      map[string]string{"category": "books", "x": "1"},
			v1Multi: map[string][]string{"category": {"electronics", "books"}, "x": {"1"}},
		},
		{
			name:    "plus is space and %2B is plus",
			query:   "q=a+b%2Bc&e=%E2%82%AC",
			v2:      map[string]string{"q": "a b+c", "e": "€"},
			v1:      map[string]string{"q": "a b+c", "e": "€"},
			v1Multi: map[string][]string{"q": {"a b+c"}, "e": {"€"}},
		},
		{
			name:    "names compare decoded",
			query:   "a+b=1&a%20b=2",
			v2:      map[string]string{"a b": "1,2"},
			v1:      map[string]string{"a b": "2"},
			v1Multi: map[string][]string{"a b": {"1", "2"}},
		},
		{
			name:    "flag without value and empty segments",
			query:   "flag&&empty=&=nameless",
			v2:      map[string]string{"flag": "", "empty": ""},
			v1:      map[string]string{"flag": "", "empty": ""},
			v1Multi: map[string][]string{"flag": {""}, "empty": {""}},
		},
		{
			name:    "malformed escapes stay literal, bad bytes become U+FFFD",
			query:   "p=100%&q=%zz&r=%ff",
			v2:      map[string]string{"p": "100%", "q": "%zz", "r": "\ufffd"},
			v1:      map[string]string{"p": "100%", "q": "%zz", "r": "\ufffd"},
			v1Multi: map[string][]string{"p": {"100%"}, "q": {"%zz"}, "r": {"\ufffd"}},
		},
		{
			name:    "decoded quotes and control characters are escaped",
			query:   `j=%22%5C%0A`,
			v2:      map[string]string{"j": "\"\\\n"},
			v1:      map[string]string{"j": "\"\\\n"},
			v1Multi: map[string][]string{"j": {"\"\\\n"}},
		},
		{
			name:    "REST splits on semicolon",
			query:   "a=1;b=2",
			v2:      map[string]string{"a": "1;b=2"},
			v1:      map[string]string{"a": "1", "b": "2"},
			v1Multi: map[string][]string{"a": {"1"}, "b": {"2"}},
			rest:    true,
		},
		{
			name:  "no query",
			query: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri := "/q"
			if tt.query != "" {
				uri += "?" + tt.query
			}
			in := &EventInput{Req: newRequest("GET", uri, [][2]string{{"Host", "api.test"}}, ""), Time: msTime(0)}

			v2 := AppendEventV2(nil, in)
			var got2 events.APIGatewayV2HTTPRequest
			decode(t, v2, &got2)
			if !reflect.DeepEqual(got2.QueryStringParameters, tt.v2) {
				t.Errorf("2.0 queryStringParameters = %q, want %q", got2.QueryStringParameters, tt.v2)
			}
			if got2.RawQueryString != tt.query {
				t.Errorf("rawQueryString = %q, want %q", got2.RawQueryString, tt.query)
			}
			if _, present := decodeMap(t, v2)["queryStringParameters"]; present != (tt.v2 != nil) {
				t.Errorf("2.0 queryStringParameters present = %v", present)
			}

			var got1 events.APIGatewayProxyRequest
			decode(t, AppendEventV1(nil, in, !tt.rest), &got1)
			if !reflect.DeepEqual(got1.QueryStringParameters, tt.v1) {
				t.Errorf("1.0 queryStringParameters = %q, want %q", got1.QueryStringParameters, tt.v1)
			}
			if !reflect.DeepEqual(got1.MultiValueQueryStringParameters, tt.v1Multi) {
				t.Errorf("1.0 multiValueQueryStringParameters = %q, want %q", got1.MultiValueQueryStringParameters, tt.v1Multi)
			}
		})
	}
}

// HTTP APIs (both payload formats) send a body as text only for text/*,
// application/json, application/xml and application/javascript: a form
// post, a +json type and a body without a Content-Type arrive base64, as
// API Gateway delivers them. REST APIs without binary media types send
// every UTF-8 body as text.
func TestEventBodyIsBase64AsAPIGatewaySendsIt(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		http, rest  bool // base64 in HTTP API events, in REST events
	}{
		{"json", "application/json", `{"a":1}`, false, false},
		{"json with charset", "application/json; charset=utf-8", `{"a":"é"}`, false, false},
		{"text", "text/plain", "hello\nworld", false, false},
		{"text uppercase media type", "TEXT/HTML", "<p>x</p>", false, false},
		{"xml", "application/xml", "<a/>", false, false},
		{"javascript", "application/javascript", "let a = 1", false, false},
		{"form", "application/x-www-form-urlencoded", "a=1&b=2", true, false},
		{"json suffix", "application/vnd.api+json", `{"data":[]}`, true, false},
		{"xml suffix", "application/atom+xml", "<feed/>", true, false},
		{"no content type, UTF-8", "", "plain words", true, false},
		{"png", "image/png", "\x89PNG\r\n\x1a\n\x00", true, true},
		{"octet-stream even if ASCII", "application/octet-stream", "abc", true, false},
		{"multipart", "multipart/form-data; boundary=x", "--x--", true, false},
		{"text that is not UTF-8", "text/plain", "caf\xe9", true, true},
		{"no content type, not UTF-8", "", "\xff\xfe", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers [][2]string
			if tt.contentType != "" {
				headers = append(headers, [2]string{"Content-Type", tt.contentType})
			}
			in := &EventInput{Req: newRequest("POST", "/b", headers, tt.body), Time: msTime(0)}

			var got2 events.APIGatewayV2HTTPRequest
			decode(t, AppendEventV2(nil, in), &got2)
			checkBody(t, "2.0", got2.Body, got2.IsBase64Encoded, tt.body, tt.http)

			var got1 events.APIGatewayProxyRequest
			decode(t, AppendEventV1(nil, in, true), &got1)
			checkBody(t, "HTTP API 1.0", got1.Body, got1.IsBase64Encoded, tt.body, tt.http)

			decode(t, AppendEventV1(nil, in, false), &got1)
			checkBody(t, "REST", got1.Body, got1.IsBase64Encoded, tt.body, tt.rest)
		})
	}
}

// Cookies reach events exactly as the client sent them: quotes kept, and a
// cookie holding a backslash or a quote inside not dropped (fasthttp's
// parsed pairs lose both).
func TestEventCookiesAreKeptAsSent(t *testing.T) {
	raw := "GET / HTTP/1.1\nHost: api.test\nCookie: a=\"quoted\"; b=back\\slash; c=in\"side\ncookie: d=1\n\n"
	req := readRequest(t, raw, false)
	// Something on the request path may read the cookies first.
	_ = req.Header.Cookie("a")
	in := &EventInput{Req: req, Time: msTime(0)}

	var got2 events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, in), &got2)
	want := []string{`a="quoted"`, `b=back\slash`, `c=in"side`, "d=1"}
	if !reflect.DeepEqual(got2.Cookies, want) {
		t.Errorf("2.0 cookies = %q, want %q", got2.Cookies, want)
	}
	if _, ok := got2.Headers["cookie"]; ok {
		t.Errorf("2.0 headers keep a cookie header: %q", got2.Headers)
	}

	var got1 events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, in, false), &got1)
	// Lines whose names differ in case group under the first spelling.
	wantLines := []string{`a="quoted"; b=back\slash; c=in"side`, "d=1"}
	if got := got1.MultiValueHeaders["Cookie"]; !reflect.DeepEqual(got, wantLines) {
		t.Errorf("1.0 multiValueHeaders[Cookie] = %q, want %q", got, wantLines)
	}
}

func checkBody(t *testing.T, format, body string, isBase64 bool, want string, wantBinary bool) {
	t.Helper()
	if isBase64 != wantBinary {
		t.Errorf("%s isBase64Encoded = %v, want %v", format, isBase64, wantBinary)
	}
	if isBase64 {
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			t.Fatalf("%s body is not base64: %v", format, err)
		}
		body = string(raw)
	}
	if body != want {
		t.Errorf("%s body = %q, want %q", format, body, want)
	}
}

func TestEventPathsKeepStageWhereAWSDoes(t *testing.T) {
	req := readRequest(t, "GET /dev/pets/a%2Fb//x?y=1 HTTP/1.1\nHost: api.test\n\n", false)
	in := &EventInput{
		Req:         req,
		RouteKey:    "GET /pets/{proxy+}",
		Resource:    "/pets/{proxy+}",
		Stage:       "dev",
		StagePrefix: true,
		Path:        []byte("/pets/a%2Fb//x"),
		Time:        msTime(0),
	}

	var v2 events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, in), &v2)
	if v2.RawPath != "/dev/pets/a%2Fb//x" || v2.RequestContext.HTTP.Path != v2.RawPath {
		t.Errorf("2.0 rawPath = %q, http.path = %q; want the path as received", v2.RawPath, v2.RequestContext.HTTP.Path)
	}

	var rest events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, in, false), &rest)
	if rest.Path != "/pets/a%2Fb//x" {
		t.Errorf("REST path = %q, want it without the stage", rest.Path)
	}
	if rest.RequestContext.Path != "/dev/pets/a%2Fb//x" {
		t.Errorf("REST requestContext.path = %q, want it with the stage", rest.RequestContext.Path)
	}
	if rest.Resource != "/pets/{proxy+}" || rest.RequestContext.ResourcePath != "/pets/{proxy+}" {
		t.Errorf("REST resource = %q, resourcePath = %q", rest.Resource, rest.RequestContext.ResourcePath)
	}

	in.Resource = ""
	var h1 events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, in, true), &h1)
	if h1.Path != "/dev/pets/a%2Fb//x" {
		t.Errorf("HTTP API 1.0 path on a named stage = %q, want the stage prefix", h1.Path)
	}
	if h1.Resource != "/pets/{proxy+}" || h1.RequestContext.ResourceID != "GET /pets/{proxy+}" {
		t.Errorf("HTTP API 1.0 resource = %q, resourceId = %q; want them from the route key", h1.Resource, h1.RequestContext.ResourceID)
	}

	in.RawPath = []byte("/override")
	decode(t, AppendEventV2(nil, in), &v2)
	if v2.RawPath != "/override" {
		t.Errorf("rawPath with RawPath set = %q", v2.RawPath)
	}
}

func TestEventRequestContextFields(t *testing.T) {
	when := time.Date(2020, time.April, 21, 15, 8, 21, 67e6, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name, host, domain, prefix string
	}{
		{"AWS style host", "abc123.execute-api.us-east-1.amazonaws.com", "abc123.execute-api.us-east-1.amazonaws.com", "abc123"},
		{"host with port keeps it in domainName", "localhost:8080", "localhost:8080", "localhost"},
		{"IPv6 literal", "[::1]:8080", "[::1]:8080", "[::1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &EventInput{
				Req:          newRequest("PUT", "/p", [][2]string{{"Host", tt.host}, {"User-Agent", "ua/1"}}, ""),
				RouteKey:     "PUT /p",
				Stage:        "$default",
				APIID:        "abc123",
				AccountID:    "123456789012",
				RequestID:    []byte("req-1"),
				SourceIP:     []byte("10.0.0.1"),
				Time:         when,
				Authorizer:   []byte(`{"lambda":{"user":"alice"}}`),
				DeploymentID: "dep1",
				APIKey:       []byte("k"),
				APIKeyID:     []byte("kid"),
			}
			var v2 events.APIGatewayV2HTTPRequest
			decode(t, AppendEventV2(nil, in), &v2)
			rc := v2.RequestContext
			want := events.APIGatewayV2HTTPRequestContext{
				RouteKey: "PUT /p", AccountID: "123456789012", Stage: "$default", RequestID: "req-1",
				Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: map[string]any{"user": "alice"}},
				APIID:      "abc123", DomainName: tt.domain, DomainPrefix: tt.prefix,
				Time: "21/Apr/2020:13:08:21 +0000", TimeEpoch: 1587474501067,
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
					Method: "PUT", Path: "/p", Protocol: "HTTP/1.1", SourceIP: "10.0.0.1", UserAgent: "ua/1",
				},
			}
			diffFields(t, "2.0 requestContext", reflect.ValueOf(rc), reflect.ValueOf(want))

			m := decodeMap(t, AppendEventV1(nil, in, false))
			wantV1 := map[string]any{
				"deploymentId":      "dep1",
				"extendedRequestId": "req-1",
				"requestTime":       "21/Apr/2020:13:08:21 +0000",
				"requestTimeEpoch":  float64(1587474501067),
				"domainName":        tt.domain,
				"domainPrefix":      tt.prefix,
				"protocol":          "HTTP/1.1",
				"httpMethod":        "PUT",
			}
			for key, w := range wantV1 {
				if g, _ := member(m, "requestContext", key); g != w {
					t.Errorf("1.0 requestContext.%s = %v, want %v", key, g, w)
				}
			}
			for key, w := range map[string]any{"apiKey": "k", "apiKeyId": "kid", "sourceIp": "10.0.0.1", "userAgent": "ua/1"} {
				if g, _ := member(m, "requestContext", "identity", key); g != w {
					t.Errorf("1.0 identity.%s = %v, want %v", key, g, w)
				}
			}
		})
	}
}

func TestEventEscapesHostileBytes(t *testing.T) {
	nasty := "quote\" back\\ nl\n tab\t nul\x00 bell\x07 bad\xff\xfe ls\u2028 emoji😀"
	// fasthttp turns line breaks in header values into spaces, so the
	// header carries everything else.
	nastyHeader := strings.ReplaceAll(nasty, "\n", "")
	req := newRequest("POST", "/x", [][2]string{{"Host", "api.test"}, {"X-Nasty", nastyHeader}}, nasty)
	req.Header.SetContentType("text/plain")
	in := &EventInput{
		Req:            req,
		RouteKey:       nasty,
		PathParams:     []Param{{"id", []byte(nasty)}},
		StageVariables: []Param{{"v", []byte(nasty)}},
		SourceIP:       []byte(nasty),
		Time:           msTime(0),
	}
	// Like encoding/json, every invalid byte becomes one U+FFFD.
	want := strings.ReplaceAll(nasty, "\xff\xfe", "\ufffd\ufffd")
	wantHeader := strings.ReplaceAll(want, "\n", "")
	// The text/plain body is not UTF-8, so it travels base64 and intact.
	var v2 events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, in), &v2)
	for name, got := range map[string]string{
		"routeKey": v2.RouteKey, "path param": v2.PathParameters["id"],
		"stage variable": v2.StageVariables["v"], "sourceIp": v2.RequestContext.HTTP.SourceIP,
	} {
		if got != want {
			t.Errorf("2.0 %s = %q, want %q", name, got, want)
		}
	}
	if v2.Headers["x-nasty"] != wantHeader {
		t.Errorf("2.0 header = %q, want %q", v2.Headers["x-nasty"], wantHeader)
	}
	checkBody(t, "2.0", v2.Body, v2.IsBase64Encoded, nasty, true)

	var v1 events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, in, false), &v1)
	if v1.Headers["X-Nasty"] != wantHeader || v1.MultiValueHeaders["X-Nasty"][0] != wantHeader {
		t.Errorf("1.0 header = %q, want %q", v1.Headers["X-Nasty"], wantHeader)
	}
}

func TestEventHandlesRequestsBeyondTheStackBuffers(t *testing.T) {
	var headers [][2]string
	var query []string
	for i := range 3 * headerStack {
		headers = append(headers, [2]string{fmt.Sprintf("X-H%d", i%(headerStack+5)), fmt.Sprint(i)})
	}
	for i := range 3 * queryStack {
		query = append(query, fmt.Sprintf("k%d=%d", i%(queryStack+3), i))
	}
	in := &EventInput{Req: newRequest("GET", "/?"+strings.Join(query, "&"), headers, ""), Time: msTime(0)}

	var v2 events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, in), &v2)
	if len(v2.Headers) != headerStack+5 || len(v2.QueryStringParameters) != queryStack+3 {
		t.Fatalf("got %d headers, %d query names", len(v2.Headers), len(v2.QueryStringParameters))
	}
	if got, want := v2.Headers["x-h0"], fmt.Sprintf("0,%d,%d", headerStack+5, 2*(headerStack+5)); got != want {
		t.Errorf("x-h0 = %q, want %q", got, want)
	}
	if got, want := v2.QueryStringParameters["k1"], fmt.Sprintf("1,%d,%d", queryStack+4, 2*(queryStack+3)+1); got != want {
		t.Errorf("k1 = %q, want %q", got, want)
	}
}

// typicalRequest is the request the allocation target is stated for: six
// headers, two query parameters, one path parameter and a small JSON body.
func typicalRequest(t testing.TB) *EventInput {
	req := readRequest(t, `POST /prod/pets/42?limit=10&sort=name HTTP/1.1
Host: api.example.com
User-Agent: curl/8.5.0
Accept: */*
Content-Type: application/json
Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo
Content-Length: 27

{"name":"rex","kind":"dog"}`, false)
	return &EventInput{
		Req:            req,
		RouteKey:       "POST /pets/{id}",
		Resource:       "/pets/{id}",
		Stage:          "prod",
		StagePrefix:    true,
		Path:           []byte("/pets/42"),
		PathParams:     []Param{{"id", []byte("42")}},
		StageVariables: []Param{{"backend", []byte("http://127.0.0.1:9000")}},
		APIID:          "petstore",
		AccountID:      "000000000000",
		RequestID:      []byte("Xk2aHiVvoAMEbHg="),
		SourceIP:       []byte("127.0.0.1"),
		Time:           msTime(1700000000000),
		ForwardedFor:   []byte("127.0.0.1"),
		ForwardedPort:  []byte("443"),
		ForwardedProto: []byte("https"),
		TraceID:        []byte("Root=1-5e9f0f3d-0123456789abcdef01234567"),
	}
}

func TestEventBuildersDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	in := typicalRequest(t)
	dst := make([]byte, 0, 4096)
	for name, build := range map[string]func(){
		"2.0":         func() { dst = AppendEventV2(dst[:0], in) },
		"1.0 REST":    func() { dst = AppendEventV1(dst[:0], in, false) },
		"1.0 HTTPAPI": func() { dst = AppendEventV1(dst[:0], in, true) },
	} {
		if n := testing.AllocsPerRun(100, build); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", name, n)
		}
	}
	if !json.Valid(dst) {
		t.Fatalf("invalid event: %s", dst)
	}
}

func TestGroupNamesLinksRepeatsAndAvoidsQuadraticWork(t *testing.T) {
	for _, n := range []int{0, 1, linearGroupLimit, linearGroupLimit + 1, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// Names repeat every 7 entries: entry i has name i%7.
			compares := 0
			g := groupNames(nil, n,
				func(i, j int) bool { compares++; return i%7 == j%7 },
				func(i int) string { return fmt.Sprint(i % 7) })
			for i := range n {
				if want := int32(i % 7); g.head[i] != want {
					t.Fatalf("head[%d] = %d, want %d", i, g.head[i], want)
				}
				want := int32(i + 7)
				if int(want) >= n {
					want = -1
				}
				if g.next[i] != want {
					t.Fatalf("next[%d] = %d, want %d", i, g.next[i], want)
				}
			}
			if n > linearGroupLimit && compares != 0 {
				t.Errorf("%d pairwise comparisons for %d entries, want the map", compares, n)
			}
			if limit := n * 7; n <= linearGroupLimit && compares > limit {
				t.Errorf("%d comparisons for %d entries in 7 groups, want at most %d", compares, n, limit)
			}
		})
	}
}

func TestEventCarriesTheHeadersAPIGatewayAdds(t *testing.T) {
	const trace = "Root=1-5e9f0f3d-0123456789abcdef01234567"
	tests := []struct {
		name    string
		headers [][2]string
		// wantFor is the X-Forwarded-For value; wantTrace the trace id.
		wantFor, wantTrace string
	}{
		{"client without forwarding headers", nil, "10.0.0.9", trace},
		{"client list gets the peer appended",
			[][2]string{{"X-Forwarded-For", "1.1.1.1, 2.2.2.2"}, {"X-Forwarded-For", "3.3.3.3"}},
			"1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9", trace},
		{"client port and proto are replaced",
			[][2]string{{"X-Forwarded-Port", "1"}, {"X-Forwarded-Proto", "gopher"}},
			"10.0.0.9", trace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest("GET", "/p", append([][2]string{{"Host", "h"}}, tt.headers...), "")
			in := &EventInput{
				Req: req, RouteKey: "GET /p", Stage: "$default", APIID: "a", RequestID: []byte("r"),
				SourceIP:       []byte("10.0.0.9"),
				ForwardedFor:   []byte(tt.wantFor), // joined by exchange.AppendForwardedFor
				ForwardedPort:  []byte("8443"),
				ForwardedProto: []byte("https"),
				TraceID:        []byte(trace),
			}
			want := map[string]string{
				"x-forwarded-for": tt.wantFor, "x-forwarded-port": "8443",
				"x-forwarded-proto": "https", "x-amzn-trace-id": tt.wantTrace,
			}
			var v2 events.APIGatewayV2HTTPRequest
			decode(t, AppendEventV2(nil, in), &v2)
			for k, w := range want {
				if g := v2.Headers[k]; g != w {
					t.Errorf("2.0 headers[%q] = %q, want %q", k, g, w)
				}
			}
			for _, httpAPI := range []bool{false, true} {
				var v1 events.APIGatewayProxyRequest
				decode(t, AppendEventV1(nil, in, httpAPI), &v1)
				for k, w := range want {
					name := k
					if !httpAPI {
						name = http.CanonicalHeaderKey(k)
					}
					if g := v1.Headers[name]; g != w {
						t.Errorf("1.0 (httpAPI %v) headers[%q] = %q, want %q", httpAPI, name, g, w)
					}
					if g := v1.MultiValueHeaders[name]; !reflect.DeepEqual(g, []string{w}) {
						t.Errorf("1.0 (httpAPI %v) multiValueHeaders[%q] = %q, want [%q]", httpAPI, name, g, w)
					}
				}
			}
		})
	}
}

// REST events keep the client's spelling of every header name, as API
// Gateway does, though the server parses requests with fasthttp's name
// normalising on (its lookups stay case-insensitive); HTTP API events
// lower-case them.
func TestRESTEventKeepsHeaderNamesAsSent(t *testing.T) {
	raw := "POST /p HTTP/1.1\nx-api-key: k\nhost: api.test\ntEsT-HEADeR: a\ncontent-TYPE: text/plain\nuser-agent: ua\nX-multi: 1\nx-MULTI: 2\ncontent-length: 1\n\nx"
	req := readRequest(t, raw, false)
	var got events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, &EventInput{Req: req, Time: msTime(0)}, false), &got)
	want := map[string][]string{
		"x-api-key": {"k"}, "host": {"api.test"}, "tEsT-HEADeR": {"a"}, "content-TYPE": {"text/plain"},
		"user-agent": {"ua"}, "X-multi": {"1", "2"},
	}
	if !reflect.DeepEqual(got.MultiValueHeaders, want) {
		t.Errorf("multiValueHeaders = %q, want %q", got.MultiValueHeaders, want)
	}

	var lower events.APIGatewayProxyRequest
	decode(t, AppendEventV1(nil, &EventInput{Req: req, Time: msTime(0)}, true), &lower)
	if _, ok := lower.Headers["tEsT-HEADeR"]; ok || lower.Headers["test-header"] != "a" {
		t.Errorf("HTTP API 1.0 headers = %q, want lower-case names", lower.Headers)
	}
}

// A REST event's body is base64 when its Content-Type is one of the API's
// binary media types (wildcards included), and text otherwise.
func TestRESTEventBodyIsBase64ForBinaryMediaTypes(t *testing.T) {
	types, err := NewBinaryTypes([]string{"image/*", "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := NewBinaryTypes([]string{"*/*"})
	tests := []struct {
		name, contentType string
		types             *BinaryTypes
		binary            bool
	}{
		{"image/* matches image/png", "image/png", types, true},
		{"exact type, any case, parameters ignored", "Application/Octet-Stream; x=1", types, true},
		{"json is not listed", "application/json", types, false},
		{"*/* matches json", "application/json", all, true},
		{"no types", "image/png", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &EventInput{Req: newRequest("POST", "/b", [][2]string{{"Content-Type", tt.contentType}}, "abc"),
				Time: msTime(0), BinaryTypes: tt.types}
			var got events.APIGatewayProxyRequest
			decode(t, AppendEventV1(nil, in, false), &got)
			checkBody(t, "REST", got.Body, got.IsBase64Encoded, "abc", tt.binary)
		})
	}
}

// 1.0 events leave out Connection and Content-Length, which API Gateway
// does not pass to integrations; 2.0 events keep content-length.
func TestEventV1LeavesOutConnectionAndContentLength(t *testing.T) {
	raw := "POST /p HTTP/1.1\nHost: api.test\nConnection: keep-alive\nContent-Type: text/plain\nContent-Length: 1\nX-Kept: y\n\nx"
	in := &EventInput{Req: readRequest(t, raw, false), Time: msTime(0)}
	for _, httpAPI := range []bool{false, true} {
		var got events.APIGatewayProxyRequest
		decode(t, AppendEventV1(nil, in, httpAPI), &got)
		for name := range got.MultiValueHeaders {
			if strings.EqualFold(name, "Connection") || strings.EqualFold(name, "Content-Length") {
				t.Errorf("httpAPI=%v: 1.0 event carries %s", httpAPI, name)
			}
		}
		if len(got.Headers) != 3 {
			t.Errorf("httpAPI=%v: headers %q, want Host, Content-Type and X-Kept", httpAPI, got.Headers)
		}
	}
	var v2 events.APIGatewayV2HTTPRequest
	decode(t, AppendEventV2(nil, in), &v2)
	if v2.Headers["content-length"] != "1" {
		t.Errorf("2.0 headers %q, want content-length kept", v2.Headers)
	}
}

// With an API key, identity carries apiKey and apiKeyId.
func TestEventV1IdentityCarriesTheAPIKeyWhenOneWasUsed(t *testing.T) {
	in := &EventInput{Req: readRequest(t, "GET / HTTP/1.1\nHost: a\n\n", false), Time: msTime(0),
		APIKey: []byte("k-value"), APIKeyID: []byte("alice")}
	m := decodeMap(t, AppendEventV1(nil, in, false))
	if v, _ := member(m, "requestContext", "identity", "apiKey"); v != "k-value" {
		t.Errorf("apiKey %v", v)
	}
	if v, _ := member(m, "requestContext", "identity", "apiKeyId"); v != "alice" {
		t.Errorf("apiKeyId %v", v)
	}
}
