package auth

import (
	"errors"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		expr    string
		kind    SourceKind
		name    string
		wantErr bool
	}{
		{"$request.header.Authorization", FromHeader, "Authorization", false},
		{"$request.querystring.token", FromQuery, "token", false},
		{"$context.routeKey", FromContext, "routeKey", false},
		{"$stageVariables.realm", FromStageVariable, "realm", false},
		{"$request.header.", 0, "", true},
		{"$request.body.token", 0, "", true},
		{"Authorization", 0, "", true},
		{"", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := ParseSource(tt.expr)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSource error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (s.Kind != tt.kind || s.Name != tt.name || s.Expr != tt.expr) {
				t.Fatalf("ParseSource = %+v", s)
			}
		})
	}
}

func TestSourceValue(t *testing.T) {
	req := &fasthttp.Request{}
	req.SetRequestURI("/x?token=q1&Token=q2")
	req.Header.Set("X-Token", "h1")
	vars := func(s Source) []byte {
		if s.Kind == FromContext && s.Name == "routeKey" {
			return []byte("GET /x")
		}
		return nil
	}
	tests := []struct {
		expr string
		vars func(Source) []byte
		want string
	}{
		{"$request.header.x-token", nil, "h1"},
		{"$request.header.Missing", nil, ""},
		{"$request.querystring.token", nil, "q1"},
		{"$request.querystring.Token", nil, "q2"},
		{"$context.routeKey", vars, "GET /x"},
		{"$context.routeKey", nil, ""},
		{"$stageVariables.realm", vars, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := ParseSource(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(s.Value(req, tt.vars)); got != tt.want {
				t.Fatalf("Value = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFailureWritesHTTPAPIAnswer(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name    string
		f       *Failure
		status  int
		body    string
		wwwAuth string
	}{
		{"unauthorized with challenge", Unauthorized(`Bearer error="invalid_token"`, cause), 401, `{"message":"Unauthorized"}`, `Bearer error="invalid_token"`},
		{"forbidden", Forbidden("", cause), 403, `{"message":"Forbidden"}`, ""},
		{"internal", Internal(cause), 500, `{"message":"Internal Server Error"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &fasthttp.Response{}
			resp.SetBodyString("backend body")
			tt.f.WriteHTTP(resp)
			if resp.StatusCode() != tt.status || string(resp.Body()) != tt.body ||
				string(resp.Header.Peek("WWW-Authenticate")) != tt.wwwAuth ||
				string(resp.Header.ContentType()) != "application/json" {
				t.Fatalf("got %d %s www-authenticate=%q content-type=%q", resp.StatusCode(), resp.Body(), resp.Header.Peek("WWW-Authenticate"), resp.Header.ContentType())
			}
			if !errors.Is(tt.f, cause) {
				t.Fatal("Failure does not unwrap to its cause")
			}
		})
	}
}
