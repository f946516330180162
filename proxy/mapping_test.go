package proxy

import (
	"testing"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/valyala/fasthttp"
)

type seen struct {
	uri     string
	headers map[string]string
	answer  func(*exchange.Exchange)
}

func (s *seen) Serve(ex *exchange.Exchange) {
	s.uri = string(ex.Ctx.Request.RequestURI())
	s.headers = map[string]string{}
	for k, v := range ex.Ctx.Request.Header.All() {
		s.headers[string(k)] = string(v)
	}
	if s.answer != nil {
		s.answer(ex)
		return
	}
	ex.Ctx.SetStatusCode(200)
	ex.Ctx.SetBodyString(`{"id":7,"tags":["a","b"]}`)
}

func mapExchange(uri string, headers ...string) *exchange.Exchange {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Add(headers[i], headers[i+1])
	}
	return &exchange.Exchange{Ctx: ctx, Path: ctx.Path(), RouteInfo: &exchange.RouteInfo{RouteKeyBytes: []byte("GET /x")}}
}

func static(s string) []MapPart { return []MapPart{{Kind: PartStatic, Text: s}} }

func TestMappingsReadTheRequestAsItCame(t *testing.T) {
	in := &seen{}
	m := NewMapped(in, ParamMapping{Request: []MapOp{
		// a and b swap: each value is read before either is written.
		{Action: Overwrite, Target: TargetHeader, Name: "a", Value: []MapPart{{Kind: PartRequestHeader, Name: "b"}}},
		{Action: Overwrite, Target: TargetHeader, Name: "b", Value: []MapPart{{Kind: PartRequestHeader, Name: "a"}}},
		{Action: Append, Target: TargetHeader, Name: "joined", Value: []MapPart{{Kind: PartRequestHeader, Name: "multi"}, {Kind: PartStatic, Text: "|"}, {Kind: PartRequestQuery, Name: "q"}}},
		{Action: Overwrite, Target: TargetQuery, Name: "q", Value: static("new")},
		{Action: Append, Target: TargetQuery, Name: "added", Value: static("a b&c")},
		{Action: Remove, Target: TargetQuery, Name: "gone"},
	}})
	ex := mapExchange("/x?q=1&keep=2&q=3&gone=4", "A", "from-a", "B", "from-b", "Multi", "m1", "Multi", "m2")
	m.Serve(ex)
	if in.headers["A"] != "from-b" || in.headers["B"] != "from-a" {
		t.Errorf("swap: %v", in.headers)
	}
	if in.headers["Joined"] != "m1,m2|1,3" {
		t.Errorf("joined = %q, want the lines and values comma-joined", in.headers["Joined"])
	}
	if in.uri != "/x?keep=2&q=new&added=a+b%26c" {
		t.Errorf("uri %q", in.uri)
	}
}

func TestResponseMappingsApplyToTheirStatusAndNotToGatewayErrors(t *testing.T) {
	ops := map[int][]MapOp{200: {
		{Action: Overwrite, Target: TargetStatus, Value: static("202")},
		{Action: Overwrite, Target: TargetHeader, Name: "x-id", Value: []MapPart{{Kind: PartResponseBody, Steps: []string{"id"}}}},
		{Action: Overwrite, Target: TargetHeader, Name: "x-tag", Value: []MapPart{{Kind: PartResponseBody, Steps: []string{"tags", "[1]"}}}},
	}}
	m := NewMapped(&seen{}, ParamMapping{Responses: ops})
	ex := mapExchange("/x")
	m.Serve(ex)
	r := &ex.Ctx.Response
	if r.StatusCode() != 202 || string(r.Header.Peek("x-id")) != "7" || string(r.Header.Peek("x-tag")) != "b" {
		t.Errorf("mapped answer %d %q %q", r.StatusCode(), r.Header.Peek("x-id"), r.Header.Peek("x-tag"))
	}

	failing := NewMapped(&seen{answer: func(ex *exchange.Exchange) { ex.Fail(apierror.IntegrationFailure) }},
		ParamMapping{Responses: map[int][]MapOp{502: {{Action: Overwrite, Target: TargetStatus, Value: static("200")}}}})
	ex = mapExchange("/x")
	failing.Serve(ex)
	if ex.Ctx.Response.StatusCode() != 502 {
		t.Errorf("a gateway error was mapped to %d", ex.Ctx.Response.StatusCode())
	}
}

func TestNoMappingsIsTheIntegrationItself(t *testing.T) {
	in := &seen{}
	if NewMapped(in, ParamMapping{}) != exchange.Integration(in) {
		t.Error("an empty mapping wraps the integration")
	}
}

// BenchmarkMappedHeaderRename is the mapping's own cost on a header
// rename, around an integration that does nothing.
func BenchmarkMappedHeaderRename(b *testing.B) {
	m := NewMapped(nopIntegration{}, ParamMapping{Request: []MapOp{
		{Action: Overwrite, Target: TargetHeader, Name: "x-user", Value: []MapPart{{Kind: PartRequestHeader, Name: "x-old-user"}}},
		{Action: Remove, Target: TargetHeader, Name: "x-old-user"},
	}})
	ex := mapExchange("/x", "Accept", "application/json", "User-Agent", "bench/1.0")
	b.ReportAllocs()
	for b.Loop() {
		ex.Ctx.Request.Header.Set("X-Old-User", "ada")
		m.Serve(ex)
	}
}

type nopIntegration struct{}

func (nopIntegration) Serve(*exchange.Exchange) {}
