package wsbridge

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/auth/sigv4"
	"github.com/valyala/fasthttp"
)

const sdkAuthorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request, " +
	"SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"

func TestParseAuthorization(t *testing.T) {
	sdk := sigv4.Authorization{
		AccessKeyID: "AKIDEXAMPLE", Date: "20150830", Region: "us-east-1", Service: "execute-api",
		SignedHeaders: "content-type;host;x-amz-date", Signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
	}
	for _, tc := range []struct {
		name, header string
		want         sigv4.Authorization
		wantErr      bool
	}{
		{name: "the SDK's header", header: sdkAuthorization, want: sdk},
		{name: "no space after the commas", header: strings.ReplaceAll(sdkAuthorization, ", ", ","), want: sdk},
		{name: "parts in another order", header: "AWS4-HMAC-SHA256 Signature=" + sdk.Signature +
			", SignedHeaders=" + sdk.SignedHeaders + ", Credential=AKIDEXAMPLE/20150830/us-east-1/execute-api/aws4_request", want: sdk},
		{name: "unknown parts are ignored", header: sdkAuthorization + ", Extra=1", want: sdk},
		{name: "another algorithm", header: strings.Replace(sdkAuthorization, "SHA256", "SHA512", 1), wantErr: true},
		{name: "no algorithm", header: strings.TrimPrefix(sdkAuthorization, "AWS4-HMAC-SHA256 "), wantErr: true},
		{name: "Basic credentials", header: "Basic QUtJRDpzZWNyZXQ=", wantErr: true},
		{name: "empty header", header: "", wantErr: true},
		{name: "scope of four parts", header: strings.Replace(sdkAuthorization, "/us-east-1", "", 1), wantErr: true},
		{name: "scope of six parts", header: strings.Replace(sdkAuthorization, "/us-east-1", "/us-east-1/x", 1), wantErr: true},
		{name: "scope not ending in aws4_request", header: strings.Replace(sdkAuthorization, "aws4_request", "aws4_reques", 1), wantErr: true},
		{name: "keys are case-sensitive", header: strings.Replace(sdkAuthorization, "Credential=", "credential=", 1), wantErr: true},
		{name: "no SignedHeaders", header: strings.Replace(sdkAuthorization, "SignedHeaders=", "Signed=", 1), wantErr: true},
		{name: "empty Signature", header: sdkAuthorization[:strings.Index(sdkAuthorization, "Signature=")+len("Signature=")], wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sigv4.ParseAuthorization(tc.header)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted as %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// readBack sends req over the wire format and reads it back the way the
// gateway's server does, with fasthttp's default 4 KiB header buffer.
func readBack(req *http.Request) (*fasthttp.Request, error) {
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		return nil, err
	}
	out := new(fasthttp.Request)
	if err := out.Read(bufio.NewReader(&wire)); err != nil {
		return nil, fmt.Errorf("read back %q: %w", wire.String(), err)
	}
	return out, nil
}

func toFasthttp(t *testing.T, req *http.Request) *fasthttp.Request {
	t.Helper()
	out, err := readBack(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyRefuses(t *testing.T) {
	const target = "http://gw.test/prod/@connections/AAAAAAAAAAAAAAAA"
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	v := sigv4.NewVerifier(map[string]string{testAK: testSK}, "", "execute-api")
	signed := func() *fasthttp.Request {
		return toFasthttp(t, signedRequest(t, "POST", target, []byte("hello"), testSK, now, "eu-west-1"))
	}
	if err := v.Verify(signed(), false, now); err != nil {
		t.Fatalf("the untouched request: %v", err)
	}
	for _, tc := range []struct {
		name   string
		tamper func(*fasthttp.Request)
	}{
		{"an unknown access key id", func(r *fasthttp.Request) {
			r.Header.Set("Authorization", strings.Replace(string(r.Header.Peek("Authorization")), testAK, "AKIDOTHER", 1))
		}},
		{"no X-Amz-Date", func(r *fasthttp.Request) { r.Header.Del("X-Amz-Date") }},
		{"an X-Amz-Date that is not a date", func(r *fasthttp.Request) { r.Header.Set("X-Amz-Date", "yesterday") }},
		{"a scope date other than X-Amz-Date's", func(r *fasthttp.Request) {
			r.Header.Set("Authorization", strings.Replace(string(r.Header.Peek("Authorization")), "/20250301/", "/20250302/", 1))
		}},
		{"an X-Amz-Content-Sha256 that is not the body's", func(r *fasthttp.Request) {
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
		}},
		{"a signed header removed", func(r *fasthttp.Request) { r.Header.Del("Content-Type") }},
		{"a signed header changed", func(r *fasthttp.Request) { r.Header.Set("Content-Type", "text/plain") }},
		{"a signed header left out of SignedHeaders", func(r *fasthttp.Request) {
			r.Header.Set("Authorization", strings.Replace(string(r.Header.Peek("Authorization")), "content-type;", "", 1))
		}},
		{"another method", func(r *fasthttp.Request) { r.Header.SetMethod("PUT") }},
		{"a query added", func(r *fasthttp.Request) { r.URI().SetQueryString("x=1") }},
		{"another host", func(r *fasthttp.Request) { r.Header.SetHost("other.test") }},
		{"one signature digit changed", func(r *fasthttp.Request) {
			h := []byte(string(r.Header.Peek("Authorization")))
			if h[len(h)-1] == '0' {
				h[len(h)-1] = '1'
			} else {
				h[len(h)-1] = '0'
			}
			r.Header.SetBytesV("Authorization", h)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signed()
			tc.tamper(r)
			if err := v.Verify(r, false, now); err == nil {
				t.Fatal("verified")
			}
		})
	}
	t.Run("over TLS when signed for http", func(t *testing.T) {
		// The scheme is not part of a SigV4 Signature: both verify.
		if err := v.Verify(signed(), true, now); err != nil {
			t.Fatalf("refused: %v", err)
		}
	})
}

// FuzzParseAuthorization checks that a parsed header has the parts every
// later check relies on (a five-part scope, SignedHeaders and Signature)
// and that writing the parts back in the SDK's layout parses to the same
// parts.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		sdkAuthorization, strings.ReplaceAll(sdkAuthorization, ", ", ","), "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256 Credential=////aws4_request,SignedHeaders=a,Signature=b",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request/x, SignedHeaders=h, Signature=s", "Basic x", "AWS4-HMAC-SHA256 Signature==, SignedHeaders= ;, Credential=a/b/c/d/aws4_request",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := sigv4.ParseAuthorization(h)
		if err != nil {
			return
		}
		if !strings.HasPrefix(h, sigv4.Algorithm+" ") {
			t.Fatalf("%q: accepted without the algorithm", h)
		}
		if a.SignedHeaders == "" || a.Signature == "" {
			t.Fatalf("%q: accepted as %+v", h, a)
		}
		for _, part := range []string{a.AccessKeyID, a.Date, a.Region, a.Service} {
			if strings.Contains(part, "/") {
				t.Fatalf("%q: scope part %q holds a slash", h, part)
			}
		}
		again := sigv4.Algorithm + " Credential=" + a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service +
			"/aws4_request, SignedHeaders=" + a.SignedHeaders + ", Signature=" + a.Signature
		b, err := sigv4.ParseAuthorization(again)
		if err != nil || b != a {
			t.Fatalf("%q parsed as %+v; written back as %q it parses as %+v (%v)", h, a, again, b, err)
		}
	})
}

// FuzzVerifySignedRequests signs @connections requests with the AWS SDK's
// signer, the way the apigatewaymanagementapi client does, sends them over
// the wire format and checks that verify accepts each one and refuses it
// once its body, or its signature, is changed.
func FuzzVerifySignedRequests(f *testing.F) {
	f.Add("POST", "AAAAAAAAAAAAAAAA", "", []byte("hello"), "eu-west-1")
	f.Add("GET", "Ab_-09zZ", "", []byte(nil), "us-east-1")
	f.Add("DELETE", "a%3Db", "x=1&y=%20", []byte(nil), "ap-northeast-1")
	f.Add("POST", "id", "b=2&a=1&a=0", []byte{0, 0xff, '\n'}, "us-west-2")
	f.Add("POST", "%E2%82%AC", "k=%E2%82%AC&empty=", []byte("{}"), "cn-north-1")
	f.Fuzz(func(t *testing.T, method, id, query string, body []byte, region string) {
		switch method {
		case "GET", "POST", "DELETE":
		default:
			return
		}
		target := "http://gw.test/prod/@connections/" + id
		if query != "" {
			target += "?" + query
		}
		u, err := url.Parse(target)
		if err != nil || u.Host != "gw.test" || u.Fragment != "" || u.Opaque != "" || u.EscapedPath() != u.RawPath && u.RawPath != "" {
			return
		}
		// What an SDK sends: a path it escaped itself, a region name.
		if u.EscapedPath() != "/prod/@connections/"+id || !isRegion(region) {
			return
		}
		at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		v := sigv4.NewVerifier(map[string]string{testAK: testSK}, "", "execute-api")
		req, err := readBack(signedRequest(t, method, target, body, testSK, at, region))
		if err != nil {
			return // over the 4 KiB header buffer of the reader used here
		}
		if err := v.Verify(req, false, at); err != nil {
			t.Fatalf("%s %s signed for %q: refused: %v", method, target, region, err)
		}
		tampered := toFasthttp(t, signedRequest(t, method, target, body, testSK, at, region))
		tampered.SetBody(append(bytes.Clone(body), 'x'))
		if err := v.Verify(tampered, false, at); err == nil {
			t.Fatalf("%s %s: verified with a changed body", method, target)
		}
		wrong := toFasthttp(t, signedRequest(t, method, target, body, "not-the-secret", at, region))
		if err := v.Verify(wrong, false, at); err == nil {
			t.Fatalf("%s %s: verified with another secret", method, target)
		}
	})
}

func isRegion(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
