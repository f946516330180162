package pipeline

import (
	"errors"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/exchange"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/valyala/fasthttp"
)

func compileSchema(t testing.TB, src string) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	if err := c.AddResource("https://models.test/m", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("https://models.test/m")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The detail of a refused body is worded as API Gateway's validator words
// it, every failure in one bracket.
func TestValidationErrorStringWording(t *testing.T) {
	tests := []struct{ schema, body, want string }{
		{`{"type":"object","required":["name"]}`, `{}`, `[object has missing required properties (["name"])]`},
		{`{"type":"object","required":["a","b"]}`, `{}`, `[object has missing required properties (["a","b"])]`},
		{`{"type":"integer"}`, `"x"`, `[instance type (string) does not match any allowed primitive type (allowed: ["integer"])]`},
		{`{"enum":["a","b"]}`, `"c"`, `[instance value ("c") not found in enum (possible values: ["a","b"])]`},
		{`{"maximum":10}`, `11`, `[numeric instance is greater than the required maximum (maximum: 10, found: 11)]`},
		{`{"minLength":3}`, `"ab"`, `[string "ab" is too short (length: 2, required minimum: 3)]`},
		{`{"maxLength":1}`, `"ab"`, `[string "ab" is too long (length: 2, maximum allowed: 1)]`},
		{`{"pattern":"^a"}`, `"b"`, `[ECMA 262 regex "^a" does not match input string "b"]`},
		{`{"additionalProperties":false}`, `{"x":1}`, `[object instance has properties which are not allowed by the schema: ["x"]]`},
		{`{"minItems":2}`, `[1]`, `[array is too short: must have at least 2 elements but instance has 1 elements]`},
		{`{"properties":{"a":{"type":"string"},"b":{"type":"string"}}}`, `{"a":1,"b":2}`,
			`[instance type (number) does not match any allowed primitive type (allowed: ["string"]), instance type (number) does not match any allowed primitive type (allowed: ["string"])]`},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			s := compileSchema(t, tt.schema)
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			var ve *jsonschema.ValidationError
			if !errors.As(s.Validate(doc), &ve) {
				t.Fatal("instance passed")
			}
			got := string(AppendValidationErrorString(nil, ve, doc))
			if got != tt.want && !(strings.Contains(tt.want, "(number)") && strings.ReplaceAll(got, "(integer)", "(number)") == tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func validatorExchange(uri, body string, headers ...string) *exchange.Exchange {
	ctx := &fasthttp.RequestCtx{}
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.SetMethod("POST")
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	ctx.Request.SetBodyString(body)
	return &exchange.Exchange{Ctx: ctx, Dialect: apierror.REST}
}

func TestValidatorStep(t *testing.T) {
	v := NewValidator(ValidateOptions{
		Params: []RequiredParam{{In: InHeader, Name: "x-h"}, {In: InQuery, Name: "q1"}, {In: InQuery, Name: "q2"}},
		Models: []BodyModel{{ContentType: "application/json", Schema: compileSchema(t, `{"type":"object","required":["name"]}`)}},
	})
	tests := []struct {
		name, uri, body string
		headers         []string
		passes          bool
		answer, detail  string
	}{
		{"all missing, listed headers first", "/p", `{"name":1}`, nil, false,
			`{"message":"Missing required request parameters: [x-h, q1, q2]"}`, "Missing required request parameters: [x-h, q1, q2]"},
		{"one blank", "/p?q1=%20&q2=b", `{"name":1}`, []string{"X-H", "h"}, false,
			`{"message":"Missing required request parameters: [q1]"}`, "Missing required request parameters: [q1]"},
		{"bad body", "/p?q1=a&q2=b", `{}`, []string{"X-H", "h", "Content-Type", "Application/JSON; charset=utf-8"}, false,
			`{"message":"Invalid request body"}`, `[object has missing required properties (["name"])]`},
		{"no model for the content type", "/p?q1=a&q2=b", `{}`, []string{"X-H", "h", "Content-Type", "text/plain"}, true, "", ""},
		{"good", "/p?q1=a&q2=b", `{"name":1}`, []string{"X-H", "h", "Content-Type", "application/json"}, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := validatorExchange(tt.uri, tt.body, tt.headers...)
			passed := false
			v.Handle(ex, exchange.Then(nil, integrationFunc(func(*exchange.Exchange) { passed = true })))
			if passed != tt.passes {
				t.Fatalf("passed = %v, want %v (%d %s)", passed, tt.passes, ex.Ctx.Response.StatusCode(), ex.Ctx.Response.Body())
			}
			if tt.passes {
				if len(ex.ValidationError) != 0 {
					t.Errorf("detail %q on a passing request", ex.ValidationError)
				}
				return
			}
			resp := &ex.Ctx.Response
			if resp.StatusCode() != 400 || string(resp.Body()) != tt.answer || string(resp.Header.Peek("x-amzn-ErrorType")) != "BadRequestException" {
				t.Errorf("answer %d %s %q", resp.StatusCode(), resp.Body(), resp.Header.Peek("x-amzn-ErrorType"))
			}
			if string(ex.ValidationError) != tt.detail {
				t.Errorf("detail %q, want %q", ex.ValidationError, tt.detail)
			}
		})
	}
}

type integrationFunc func(*exchange.Exchange)

func (f integrationFunc) Serve(ex *exchange.Exchange) { f(ex) }

// BenchmarkValidatorParametersPresent is a route's required-parameter
// check on a request that has them: it allocates nothing.
func BenchmarkValidatorParametersPresent(b *testing.B) {
	v := NewValidator(ValidateOptions{Params: []RequiredParam{{In: InHeader, Name: "x-h"}, {In: InQuery, Name: "q1"}}})
	ex := validatorExchange("/p?q1=a", "", "X-H", "h")
	next := exchange.Then(nil, integrationFunc(func(*exchange.Exchange) {}))
	b.ReportAllocs()
	for b.Loop() {
		v.Handle(ex, next)
	}
}

// BenchmarkValidatorBody validates a small JSON body against a model.
func BenchmarkValidatorBody(b *testing.B) {
	v := NewValidator(ValidateOptions{Models: []BodyModel{{ContentType: "application/json",
		Schema: compileSchema(b, `{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0}}}`)}}})
	ex := validatorExchange("/p", `{"name":"rex","age":3}`, "Content-Type", "application/json")
	next := exchange.Then(nil, integrationFunc(func(*exchange.Exchange) {}))
	b.ReportAllocs()
	for b.Loop() {
		v.Handle(ex, next)
	}
}
