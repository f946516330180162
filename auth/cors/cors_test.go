package cors

import (
	"errors"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func mustCompile(t testing.TB, o Options) *Policy {
	t.Helper()
	p, err := Compile(o)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func actualRequest(origin string) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod(fasthttp.MethodGet)
	req.SetRequestURI("/pets")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return req
}

func preflightRequest(origin, method, headers string) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod(fasthttp.MethodOptions)
	req.SetRequestURI("/pets")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method != "" {
		req.Header.Set("Access-Control-Request-Method", method)
	}
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	return req
}

func header(resp *fasthttp.Response, name string) string { return string(resp.Header.Peek(name)) }

func TestCompileRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"credentials with any origin", Options{AllowOrigins: []string{"*"}, AllowCredentials: true}, "allow_credentials cannot be combined"},
		{"origin without scheme", Options{AllowOrigins: []string{"app.example.com"}}, "not scheme://host"},
		{"origin with trailing slash", Options{AllowOrigins: []string{"https://app.example.com/"}}, "path"},
		{"wildcard inside a label", Options{AllowOrigins: []string{"https://app-*.example.com"}}, "whole leading labels"},
		{"wildcard in the middle", Options{AllowOrigins: []string{"https://a.*.example.com"}}, "whole leading labels"},
		{"two wildcards", Options{AllowOrigins: []string{"https://*.*.example.com"}}, "whole leading labels"},
		{"max age too large", Options{MaxAge: 86401}, "max_age"},
		{"max age too small", Options{MaxAge: -2}, "max_age"},
		{"method with space", Options{AllowMethods: []string{"GET POST"}}, "not a method"},
		{"header with comma", Options{AllowHeaders: []string{"a,b"}}, "not a header name"},
		{"empty expose header", Options{ExposeHeaders: []string{""}}, "not a header name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Compile error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Compile(Options{AllowOrigins: []string{"*"}, AllowCredentials: true}); !errors.Is(err, ErrCredentialsWithAnyOrigin) {
		t.Fatalf("credentials with * = %v, want ErrCredentialsWithAnyOrigin", err)
	}
}

func TestApplyAllowsOnlyMatchingOrigins(t *testing.T) {
	tests := []struct {
		name    string
		origins []string
		origin  string
		want    string // Access-Control-Allow-Origin, "" = not allowed
	}{
		{"exact match echoed", []string{"https://app.example.com"}, "https://app.example.com", "https://app.example.com"},
		{"exact match ignores case", []string{"https://App.Example.com"}, "https://app.EXAMPLE.com", "https://app.EXAMPLE.com"},
		{"exact other host denied", []string{"https://app.example.com"}, "https://evil.example.com", ""},
		{"exact other scheme denied", []string{"https://app.example.com"}, "http://app.example.com", ""},
		{"exact other port denied", []string{"https://app.example.com"}, "https://app.example.com:8443", ""},
		{"exact with port", []string{"http://localhost:3000"}, "http://localhost:3000", "http://localhost:3000"},
		{"any origin sends star", []string{"*"}, "https://whoever.test", "*"},
		{"null only when listed", []string{"https://app.example.com"}, "null", ""},
		{"null listed", []string{"null"}, "null", "null"},
		{"subdomain one label", []string{"https://*.example.com"}, "https://a.example.com", "https://a.example.com"},
		{"subdomain several labels", []string{"https://*.example.com"}, "https://a.b.example.com", "https://a.b.example.com"},
		{"subdomain pattern excludes apex", []string{"https://*.example.com"}, "https://example.com", ""},
		{"subdomain pattern checks scheme", []string{"https://*.example.com"}, "http://a.example.com", ""},
		{"subdomain pattern rejects lookalike", []string{"https://*.example.com"}, "https://evilexample.com", ""},
		{"subdomain pattern rejects path trick", []string{"https://*.example.com"}, "https://evil.com/.example.com", ""},
		{"subdomain pattern rejects userinfo trick", []string{"https://*.example.com"}, "https://evil.com@a.example.com", ""},
		{"subdomain pattern rejects empty label", []string{"https://*.example.com"}, "https://..example.com", ""},
		{"subdomain pattern with port", []string{"https://*.example.com:8443"}, "https://a.example.com:8443", "https://a.example.com:8443"},
		{"subdomain pattern port must match", []string{"https://*.example.com:8443"}, "https://a.example.com", ""},
		{"scheme wildcard https", []string{"https://*"}, "https://anything.test:9", "https://anything.test:9"},
		{"scheme wildcard refuses http", []string{"https://*"}, "http://anything.test", ""},
		{"scheme wildcard needs a host", []string{"https://*"}, "https://", ""},
		{"second entry matches", []string{"https://a.test", "https://b.test"}, "https://b.test", "https://b.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, Options{AllowOrigins: tt.origins})
			resp := &fasthttp.Response{}
			p.Apply(actualRequest(tt.origin), resp)
			if got := header(resp, "Access-Control-Allow-Origin"); got != tt.want {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestApplyHeaders(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		origin   string
		backend  map[string]string
		want     map[string]string // "" value = must be absent
		wantVary string
	}{
		{
			name:   "credentials and expose headers on allowed origin",
			opts:   Options{AllowOrigins: []string{"https://app.example.com"}, ExposeHeaders: []string{"x-request-id", "x-total"}, AllowCredentials: true},
			origin: "https://app.example.com",
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers":    "x-request-id,x-total",
			},
			wantVary: "Origin",
		},
		{
			name: "backend CORS headers are replaced by the configuration",
			opts: Options{AllowOrigins: []string{"https://app.example.com"}},
			backend: map[string]string{
				"Access-Control-Allow-Origin":      "*",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods":     "DELETE",
				"Access-Control-Max-Age":           "99",
			},
			origin: "https://app.example.com",
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Credentials": "",
				"Access-Control-Allow-Methods":     "",
				"Access-Control-Max-Age":           "",
			},
			wantVary: "Origin",
		},
		{
			name:     "backend CORS headers removed for a denied origin",
			opts:     Options{AllowOrigins: []string{"https://app.example.com"}},
			backend:  map[string]string{"Access-Control-Allow-Origin": "*"},
			origin:   "https://evil.test",
			want:     map[string]string{"Access-Control-Allow-Origin": ""},
			wantVary: "Origin",
		},
		{
			name:    "backend CORS headers removed without Origin",
			opts:    Options{AllowOrigins: []string{"*"}},
			backend: map[string]string{"Access-Control-Allow-Origin": "https://x.test"},
			want:    map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name:     "existing Vary is kept and Origin added",
			opts:     Options{AllowOrigins: []string{"https://app.example.com"}},
			backend:  map[string]string{"Vary": "Accept-Encoding"},
			origin:   "https://app.example.com",
			wantVary: "Accept-Encoding",
		},
		{
			name:     "any origin needs no Vary",
			opts:     Options{AllowOrigins: []string{"*"}},
			origin:   "https://app.example.com",
			want:     map[string]string{"Access-Control-Allow-Origin": "*"},
			wantVary: "",
		},
		{
			name:     "Vary Origin added even without Origin",
			opts:     Options{AllowOrigins: []string{"https://app.example.com"}},
			wantVary: "Origin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.opts)
			resp := &fasthttp.Response{}
			for k, v := range tt.backend {
				resp.Header.Set(k, v)
			}
			p.Apply(actualRequest(tt.origin), resp)
			for k, v := range tt.want {
				if got := header(resp, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if got := header(resp, "Vary"); got != tt.wantVary {
				t.Errorf("Vary = %q, want %q", got, tt.wantVary)
			}
		})
	}
}

func TestApplyAddsOriginToExistingVary(t *testing.T) {
	p := mustCompile(t, Options{AllowOrigins: []string{"https://app.example.com"}})
	resp := &fasthttp.Response{}
	resp.Header.Set("Vary", "Accept-Encoding")
	p.Apply(actualRequest("https://app.example.com"), resp)
	var vary []string
	for _, v := range resp.Header.PeekAll("Vary") {
		vary = append(vary, string(v))
	}
	if strings.Join(vary, ", ") != "Accept-Encoding, Origin" {
		t.Fatalf("Vary lines = %q, want Accept-Encoding and Origin", vary)
	}

	p.Apply(actualRequest("https://app.example.com"), resp)
	if n := len(resp.Header.PeekAll("Vary")); n != 2 {
		t.Fatalf("second Apply left %d Vary lines, want 2", n)
	}

	resp = &fasthttp.Response{}
	resp.Header.Set("Vary", "accept-encoding, origin")
	p.Apply(actualRequest("https://app.example.com"), resp)
	if n := len(resp.Header.PeekAll("Vary")); n != 1 {
		t.Fatalf("Vary already naming origin got %d lines, want 1", n)
	}
}

func TestPreflight(t *testing.T) {
	full := Options{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowMethods:     []string{"get", "PUT"},
		AllowHeaders:     []string{"content-type", "authorization"},
		ExposeHeaders:    []string{"x-request-id"},
		MaxAge:           600,
		AllowCredentials: true,
	}
	tests := []struct {
		name    string
		opts    Options
		req     *fasthttp.Request
		handled bool
		want    map[string]string // "" value = must be absent
	}{
		{
			name:    "allowed origin and method get every header",
			opts:    full,
			req:     preflightRequest("https://app.example.com", "PUT", "content-type"),
			handled: true,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "https://app.example.com",
				"Access-Control-Allow-Methods":     "GET,PUT",
				"Access-Control-Allow-Headers":     "content-type,authorization",
				"Access-Control-Max-Age":           "600",
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Expose-Headers":    "",
			},
		},
		{
			name:    "disallowed origin gets a bare 204",
			opts:    full,
			req:     preflightRequest("https://evil.test", "PUT", ""),
			handled: true,
			want: map[string]string{
				"Access-Control-Allow-Origin":  "",
				"Access-Control-Allow-Methods": "",
				"Access-Control-Max-Age":       "",
			},
		},
		{
			name:    "disallowed method gets a bare 204",
			opts:    full,
			req:     preflightRequest("https://app.example.com", "DELETE", ""),
			handled: true,
			want:    map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""},
		},
		{
			name:    "safelisted method needs no listing",
			opts:    full,
			req:     preflightRequest("https://app.example.com", "POST", "content-type"),
			handled: true,
			want:    map[string]string{"Access-Control-Allow-Origin": "https://app.example.com"},
		},
		{
			name:    "any method and header are echoed",
			opts:    Options{AllowOrigins: []string{"*"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}},
			req:     preflightRequest("https://x.test", "PATCH", "x-custom, content-type"),
			handled: true,
			want: map[string]string{
				"Access-Control-Allow-Origin":      "*",
				"Access-Control-Allow-Methods":     "PATCH",
				"Access-Control-Allow-Headers":     "x-custom, content-type",
				"Access-Control-Allow-Credentials": "",
				"Access-Control-Max-Age":           "",
			},
		},
		{
			name:    "max age -1 disables caching",
			opts:    Options{AllowOrigins: []string{"*"}, MaxAge: -1},
			req:     preflightRequest("https://x.test", "GET", ""),
			handled: true,
			want:    map[string]string{"Access-Control-Max-Age": "0"},
		},
		{
			name: "OPTIONS without request method is not a preflight",
			opts: full,
			req:  preflightRequest("https://app.example.com", "", ""),
		},
		{
			name: "OPTIONS without origin is not a preflight",
			opts: full,
			req:  preflightRequest("", "PUT", ""),
		},
		{
			name: "GET is not a preflight",
			opts: full,
			req:  actualRequest("https://app.example.com"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.opts)
			resp := &fasthttp.Response{}
			resp.SetBodyString("untouched")
			if got := p.Preflight(tt.req, resp); got != tt.handled {
				t.Fatalf("Preflight = %v, want %v", got, tt.handled)
			}
			if !tt.handled {
				if resp.StatusCode() != fasthttp.StatusOK || string(resp.Body()) != "untouched" {
					t.Fatalf("response changed for a non-preflight: %d %q", resp.StatusCode(), resp.Body())
				}
				return
			}
			if resp.StatusCode() != fasthttp.StatusNoContent || len(resp.Body()) != 0 {
				t.Fatalf("got %d %q, want 204 without body", resp.StatusCode(), resp.Body())
			}
			if vary := header(resp, "Vary"); !strings.Contains(vary, "Origin") {
				t.Errorf("Vary = %q, want it to name Origin", vary)
			}
			for k, v := range tt.want {
				if got := header(resp, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// hotPathOptions exercise the costly parts of Apply: an exact origin
// scanned before the matching wildcard, credentials, exposed headers.
var hotPathOptions = Options{
	AllowOrigins:     []string{"https://app.example.com", "https://*.example.org"},
	ExposeHeaders:    []string{"x-request-id"},
	AllowCredentials: true,
}

func TestApplyDoesNotAllocate(t *testing.T) {
	p := mustCompile(t, hotPathOptions)
	req := actualRequest("https://a.example.org")
	resp := &fasthttp.Response{}
	resp.Header.Set("Vary", "Accept-Encoding")
	allocs := testing.AllocsPerRun(100, func() {
		resp.Header.Set("Access-Control-Allow-Origin", "*")
		p.Apply(req, resp)
	})
	if allocs != 0 {
		t.Fatalf("Apply allocates %.1f times per call, want 0", allocs)
	}
	preq := preflightRequest("https://app.example.com", "GET", "content-type")
	allocs = testing.AllocsPerRun(100, func() { p.Preflight(preq, resp) })
	if allocs != 0 {
		t.Fatalf("Preflight allocates %.1f times per call, want 0", allocs)
	}
}

// BenchmarkApply measures Apply on a fresh backend response; "setup" is
// the cost of making that response alone, to subtract.
func BenchmarkApply(b *testing.B) {
	p := mustCompile(b, hotPathOptions)
	req := actualRequest("https://a.example.org")
	resp := &fasthttp.Response{}
	backend := func(withCORS bool) {
		resp.Header.Reset()
		resp.Header.SetContentType("application/json")
		resp.Header.Set("X-Request-Id", "abc")
		if withCORS {
			resp.Header.Set("Access-Control-Allow-Origin", "*")
		}
	}
	for _, bc := range []struct {
		name     string
		withCORS bool
		apply    bool
	}{
		{"setup", false, false},
		{"plain", false, true},
		{"backend-cors", true, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				backend(bc.withCORS)
				if bc.apply {
					p.Apply(req, resp)
				}
			}
		})
	}
}

func BenchmarkPreflight(b *testing.B) {
	p := mustCompile(b, Options{
		AllowOrigins: []string{"https://app.example.com"},
		AllowMethods: []string{"GET", "PUT"},
		AllowHeaders: []string{"content-type", "authorization"},
		MaxAge:       600,
	})
	req := preflightRequest("https://app.example.com", "PUT", "content-type")
	resp := &fasthttp.Response{}
	b.ReportAllocs()
	for b.Loop() {
		p.Preflight(req, resp)
	}
}
