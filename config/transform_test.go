package config

import (
	"errors"
	"strings"
	"testing"
)

const restValidationBase = `apis:
  shop:
    type: rest
    request_validators:
      all: {validate_request_body: true, validate_request_parameters: true}
    models:
      Pet:
        schema: {type: object, required: [name], properties: {name: {type: string}}}
    integrations:
      m: {type: mock}
    routes:
      "POST /pets/{id}":
        integration: m
        request_validator: all
        request_models: {application/json: Pet}
        request_parameters: {method.request.querystring.q1: true, method.request.path.id: true}
`

const httpMappingBase = `apis:
  web:
    type: http
    integrations:
      up:
        type: http_proxy
        url: "http://127.0.0.1:9000"
        request_parameters:
          "append:header.x-new": "$request.header.x-old"
          "overwrite:path": "/v2${request.path}"
        response_parameters:
          "200": {"overwrite:statuscode": "201"}
    routes:
      "GET /items/{id}": {integration: up}
`

func TestValidationAndMappingKeysThatLoad(t *testing.T) {
	for name, src := range map[string]string{"validation": restValidationBase, "mapping": httpMappingBase} {
		t.Run(name, func(t *testing.T) {
			c, _, err := Parse("ok.yaml", []byte(src), env(nil))
			if err != nil {
				t.Fatalf("valid config refused: %v", err)
			}
			if m := c.APIs["shop"]; m != nil {
				if _, err := m.Models["Pet"].CompiledSchema("Pet"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// Each case breaks the base config in one place; the error must name
// file:line and the key, and say what is wrong.
func TestBadValidationAndMappingKeysFailWithTheirLine(t *testing.T) {
	tests := []struct {
		name, base, old, new string
		key, msg             string
	}{
		{"schema not draft 4", restValidationBase, "{type: object, required: [name],", "{type: objekt, required: [name],",
			"apis.shop.models.Pet.schema", "does not compile"},
		{"schema not JSON", restValidationBase, "schema: {type: object, required: [name], properties: {name: {type: string}}}", `schema: "{not json"`,
			"apis.shop.models.Pet.schema", "not JSON"},
		{"schema with a remote $ref", restValidationBase, "properties: {name: {type: string}}}", `properties: {name: {$ref: "https://example.com/s.json"}}}`,
			"apis.shop.models.Pet.schema", "does not compile"},
		{"model name", restValidationBase, "      Pet:\n", "      Pet_1:\n", "apis.shop.models.Pet_1", "letters and digits"},
		{"unknown model", restValidationBase, "application/json: Pet}", "application/json: Dog}",
			"apis.shop.routes.POST /pets/{id}.request_models.application/json", `no model named "Dog"`},
		{"unknown validator", restValidationBase, "request_validator: all", "request_validator: some",
			"apis.shop.routes.POST /pets/{id}.request_validator", `no request validator named "some"`},
		{"bad parameter name", restValidationBase, "method.request.querystring.q1: true", "method.request.body.q1: true",
			"apis.shop.routes.POST /pets/{id}.request_parameters.method.request.body.q1", "want method.request.header"},
		{"path parameter not in route", restValidationBase, "method.request.path.id: true", "method.request.path.nope: true",
			"apis.shop.routes.POST /pets/{id}.request_parameters.method.request.path.nope", "no path variable {nope}"},
		{"validation on an HTTP API", httpMappingBase, "      \"GET /items/{id}\": {integration: up}", "      \"GET /items/{id}\": {integration: up, request_validator: v}",
			"apis.web.routes.GET /items/{id}", "REST API routes only"},
		{"reserved header host", httpMappingBase, "append:header.x-new", "append:header.Host",
			"apis.web.integrations.up.request_parameters.append:header.Host", "reserved header"},
		{"reserved header content-length", httpMappingBase, "append:header.x-new", "overwrite:header.content-length",
			"apis.web.integrations.up.request_parameters.overwrite:header.content-length", "reserved header"},
		{"reserved prefix x-amzn-", httpMappingBase, "append:header.x-new", "append:header.x-amzn-trace",
			"apis.web.integrations.up.request_parameters.append:header.x-amzn-trace", "reserved header"},
		{"unknown action", httpMappingBase, "append:header.x-new", "prepend:header.x-new",
			"apis.web.integrations.up.request_parameters.prepend:header.x-new", "append, overwrite or remove"},
		{"append to the path", httpMappingBase, "overwrite:path", "append:path",
			"apis.web.integrations.up.request_parameters.append:path", "only be overwritten"},
		{"unknown source", httpMappingBase, "$request.header.x-old", "$request.cookie.x",
			"apis.web.integrations.up.request_parameters.append:header.x-new", "unknown variable $request.cookie.x"},
		{"recursive descent", httpMappingBase, "$request.header.x-old", "${request.body..name}",
			"apis.web.integrations.up.request_parameters.append:header.x-new", "recursive descent"},
		{"unknown context variable", httpMappingBase, "$request.header.x-old", "$context.secretKey",
			"apis.web.integrations.up.request_parameters.append:header.x-new", "not a variable mappings can read"},
		{"unclosed brace", httpMappingBase, "/v2${request.path}", "/v2${request.path",
			"apis.web.integrations.up.request_parameters.overwrite:path", "unclosed"},
		{"response reads the request", httpMappingBase, `"overwrite:statuscode": "201"`, `"append:header.x": "$request.header.a"`,
			"apis.web.integrations.up.response_parameters.200.append:header.x", "unknown variable"},
		{"bad status value", httpMappingBase, `"overwrite:statuscode": "201"`, `"overwrite:statuscode": "2000"`,
			"apis.web.integrations.up.response_parameters.200.overwrite:statuscode", "status code 100-599"},
		{"bad status key", httpMappingBase, `"200": {`, `"ok": {`,
			"apis.web.integrations.up.response_parameters.ok", "keyed by a status code"},
		{"mapping on a REST API", httpMappingBase, "type: http\n", "type: rest\n",
			"apis.web.integrations.up", "HTTP API integrations only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.base, tt.old) {
				t.Fatalf("case does not apply: %q not in the base", tt.old)
			}
			src := strings.Replace(tt.base, tt.old, tt.new, 1)
			_, _, err := Parse("bad.yaml", []byte(src), env(nil))
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("want Errors, got %v", err)
			}
			for _, p := range list {
				if p.Key == tt.key && strings.Contains(p.Msg, tt.msg) {
					if p.Line == 0 || p.File != "bad.yaml" {
						t.Errorf("no file:line: %s", p)
					}
					return
				}
			}
			t.Errorf("want %s: ...%s..., got:\n%v", tt.key, tt.msg, err)
		})
	}
}

func TestMappingValuesMixVariablesAndText(t *testing.T) {
	m, err := ParseParamMapping("overwrite:header.x-who", "user ${request.header.x-user} at $context.requestId/${stageVariables.env}!", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []MapPart{{SrcStatic, "user "}, {SrcRequestHeader, "x-user"}, {SrcStatic, " at "},
		{SrcContext, "requestId"}, {SrcStatic, "/"}, {SrcStageVariable, "env"}, {SrcStatic, "!"}}
	if len(m.Value) != len(want) {
		t.Fatalf("parts %+v, want %+v", m.Value, want)
	}
	for i := range want {
		if m.Value[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, m.Value[i], want[i])
		}
	}
}
