package importer

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
)

// A Swagger 2.0 document: a body parameter with a model for each consumed
// type, a model referring to another and to itself, the API's default
// validator.
const swaggerValidation = `swagger: "2.0"
info: {title: pets2}
basePath: /dev
consumes: [application/json]
paths:
  /pets:
    post:
      consumes: [application/json, application/x-pet+json]
      parameters:
        - {name: body, in: body, required: true, schema: {$ref: "#/definitions/Pet"}}
        - {name: dryRun, in: query, required: true, type: string}
        - {name: X-Trace, in: header, type: string}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "201"}}
  /trees:
    post:
      parameters:
        - {name: body, in: body, schema: {$ref: "#/definitions/Node"}}
      x-amazon-apigateway-request-validator: params
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
  /bad:
    post:
      parameters:
        - {name: body, in: body, schema: {$ref: "#/definitions/Bad-Name"}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
definitions:
  Pet:
    type: object
    required: [name]
    properties:
      name: {type: string}
      tags: {type: array, items: {$ref: "#/definitions/Tag"}}
  Tag: {type: string, maxLength: 8}
  Node:
    type: object
    properties:
      children: {type: array, items: {$ref: "#/definitions/Node"}}
  Bad-Name: {type: object}
x-amazon-apigateway-request-validators:
  body: {validateRequestBody: true, validateRequestParameters: false}
  params: {validateRequestParameters: true}
x-amazon-apigateway-request-validator: body
`

// An OpenAPI 3 operation with an inline body schema, which import makes
// a model of.
const inlineBody = `openapi: 3.0.1
info: {title: inline}
paths:
  /notes:
    post:
      operationId: addNote
      requestBody:
        content:
          application/json:
            schema: {type: object, required: [text], properties: {text: {type: string}}}
      x-amazon-apigateway-request-validator: body
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
x-amazon-apigateway-request-validators:
  body: {validateRequestBody: true}
`

func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestImportMapsTransformExtensionsOntoConfigKeys(t *testing.T) {
	configs := map[string]*config.API{}
	load := func(src, api string) *config.API {
		key := src + "/" + api
		if a, ok := configs[key]; ok {
			return a
		}
		var cfg *config.Config
		var res *Result
		if strings.Contains(src, "\n") {
			res, cfg = importSrc(t, src, overlay)
		} else {
			res, cfg = importFile(t, src, overlay)
		}
		a := cfg.APIs[api]
		if a == nil {
			t.Fatalf("no API %s:\n%s", api, res.Config)
		}
		configs[key] = a
		return a
	}
	integ := func(a *config.API, route string) *config.Integration {
		if r := a.Routes[route]; r != nil && a.Integrations[r.Integration] != nil {
			return a.Integrations[r.Integration]
		}
		return &config.Integration{}
	}
	route := func(a *config.API, key string) *config.Route {
		if r := a.Routes[key]; r != nil {
			return r
		}
		return &config.Route{}
	}
	cases := []struct {
		name, src, api string
		got            func(a *config.API) any
		want           string
	}{
		{"request validators", "rest-transform.yaml", "Orders", func(a *config.API) any { return a.RequestValidators },
			`{"all":{"ValidateRequestBody":true,"ValidateRequestParameters":true},"params-only":{"ValidateRequestBody":false,"ValidateRequestParameters":true}}`},
		{"operation's request validator", "rest-transform.yaml", "Orders", func(a *config.API) any { return route(a, "POST /orders").RequestValidator }, `"all"`},
		{"requestBody $ref to a schema", "rest-transform.yaml", "Orders", func(a *config.API) any { return route(a, "POST /orders").RequestModels }, `{"application/json":"Order"}`},
		{"parameters, a $ref among them, path variables left out", "rest-transform.yaml", "Orders", func(a *config.API) any { return route(a, "POST /orders").RequestParameters },
			`{"method.request.header.x-trace":false,"method.request.querystring.tenant":true}`},
		{"a required header", "rest-transform.yaml", "Orders", func(a *config.API) any { return route(a, "GET /items/{id}").RequestParameters }, `{"method.request.header.x-tenant":true}`},
		{"the schemas request bodies use are models", "rest-transform.yaml", "Orders", func(a *config.API) any { return sortedKeys(a.Models) }, `["Order"]`},
		{"a model's $ref to another model is copied into it", "rest-transform.yaml", "Orders", func(a *config.API) any { return schemaJSON(a.Models["Order"]) },
			`"{\"definitions\":{\"LineItem\":{\"properties\":{\"n\":{\"minimum\":1,\"type\":\"integer\"},\"sku\":{\"type\":\"string\"}},\"required\":[\"sku\",\"n\"],\"type\":\"object\"}},\"properties\":{\"customer\":{\"minLength\":1,\"type\":\"string\"},\"lines\":{\"items\":{\"$ref\":\"#/definitions/LineItem\"},\"minItems\":1,\"type\":\"array\"}},\"required\":[\"customer\",\"lines\"],\"type\":\"object\"}"`},
		{"http: type, method, passthrough", "rest-transform.yaml", "Orders", func(a *config.API) any {
			in := integ(a, "POST /orders")
			return []any{in.Type, in.URL, in.Method, in.PassthroughBehavior, in.Timeout.D().String()}
		}, `["http","http://orders.example.com/v2/orders","PUT","when_no_templates","10s"]`},
		{"http: responses with selectionPattern and responseParameters", "rest-transform.yaml", "Orders", func(a *config.API) any { return integ(a, "POST /orders").Responses },
			`[{"SelectionPattern":"5\\d{2}","Status":400,"ResponseParameters":null,"ResponseTemplates":{"application/json":"{\"error\": \"order rejected\", \"reason\": \"$input.path('$.message')\"}"},"ContentHandling":""},` +
				`{"SelectionPattern":"","Status":201,"ResponseParameters":{"method.response.header.X-Order-Id":"integration.response.header.X-Order-Id","method.response.header.X-Served-By":"'frontdesk'"},"ResponseTemplates":null,"ContentHandling":""}]`},
		{"aws: contentHandling becomes content_handling", "rest-transform.yaml", "Orders", func(a *config.API) any { return integ(a, "GET /items/{id}").ContentHandling },
			`"convert_to_text"`},
		{"http: request template kept as written", "rest-transform.yaml", "Orders", func(a *config.API) any {
			return strings.HasPrefix(integ(a, "POST /orders").RequestTemplates["application/json"], "#set($o = $input.path('$'))\n{\n")
		}, `true`},
		{"aws with a Lambda uri: a custom Lambda integration", "rest-transform.yaml", "Orders", func(a *config.API) any {
			in := integ(a, "GET /items/{id}")
			return []any{in.Type, in.Function, *in.Proxy, len(in.RequestTemplates), in.Responses[0].SelectionPattern, in.Responses[0].Status, in.Responses[1].ResponseTemplates}
		}, `["lambda","GetItems",false,1,".*not found.*",404,{"application/json":"{\"item\": $input.json('$')}"}]`},
		{"mock with VTL: a templated mock", "rest-transform.yaml", "Orders", func(a *config.API) any {
			in := integ(a, "GET /status/{code}")
			return []any{in.Type, in.NonProxy(), len(in.Responses), in.Responses[0].SelectionPattern, in.Responses[1].ResponseParameters}
		}, `["mock",true,2,"418",{"method.response.header.Cache-Control":"'no-store'"}]`},
		{"static mock: the plain mock", "petstore-rest.yaml", "PetStore", func(a *config.API) any {
			in := integ(a, "GET /teapot")
			return []any{in.NonProxy(), in.Status, in.Body}
		}, `[false,418,"{\"message\": \"I am a teapot\"}"]`},
		{"gateway responses", "rest-transform.yaml", "Orders", func(a *config.API) any { return a.GatewayResponses },
			`{"DEFAULT_4XX":{"Status":0,"ResponseParameters":{"gatewayresponse.header.Access-Control-Allow-Headers":"'Content-Type,X-Tenant'","gatewayresponse.header.Access-Control-Allow-Origin":"'*'"},"ResponseTemplates":null},` +
				`"THROTTLED":{"Status":503,"ResponseParameters":{"gatewayresponse.header.Retry-After":"'1'"},"ResponseTemplates":{"application/json":"{\"message\": $context.error.messageString, \"type\": \"$context.error.responseType\"}"}}}`},
		{"binary media types", "rest-transform.yaml", "Orders", func(a *config.API) any { return a.BinaryMediaTypes }, `["image/png","application/octet-stream"]`},
		{"HTTP API request parameter mapping", "http-api-mapping.yaml", "mapped-api", func(a *config.API) any { return integ(a, "GET /items/{id}").RequestParameters },
			`{"append:querystring.source":"gw-${context.stage}","overwrite:header.x-user":"$request.header.x-old-user","overwrite:path":"/v2/items/${request.path.id}","remove:header.x-old-user":"''"}`},
		{"HTTP API response parameter mapping by status", "http-api-mapping.yaml", "mapped-api", func(a *config.API) any { return integ(a, "GET /items/{id}").ResponseParameters },
			`{"200":{"append:header.x-route":"$context.routeKey","overwrite:statuscode":"201"}}`},
		{"HTTP API mapping on a Lambda integration", "http-api-mapping.yaml", "mapped-api", func(a *config.API) any { return integ(a, "POST /events").RequestParameters },
			`{"append:header.x-request-id":"$context.requestId"}`},
		{"Swagger body parameter: a model per consumed type", swaggerValidation, "pets2", func(a *config.API) any { return route(a, "POST /pets").RequestModels },
			`{"application/json":"Pet","application/x-pet+json":"Pet"}`},
		{"Swagger query and header parameters", swaggerValidation, "pets2", func(a *config.API) any { return route(a, "POST /pets").RequestParameters },
			`{"method.request.header.X-Trace":false,"method.request.querystring.dryRun":true}`},
		{"Swagger definitions refer to each other", swaggerValidation, "pets2", func(a *config.API) any { return schemaJSON(a.Models["Pet"]) },
			`"{\"definitions\":{\"Tag\":{\"maxLength\":8,\"type\":\"string\"}},\"properties\":{\"name\":{\"type\":\"string\"},\"tags\":{\"items\":{\"$ref\":\"#/definitions/Tag\"},\"type\":\"array\"}},\"required\":[\"name\"],\"type\":\"object\"}"`},
		{"a recursive model refers to itself", swaggerValidation, "pets2", func(a *config.API) any { return schemaJSON(a.Models["Node"]) },
			`"{\"properties\":{\"children\":{\"items\":{\"$ref\":\"#\"},\"type\":\"array\"}},\"type\":\"object\"}"`},
		{"model names are letters and digits", swaggerValidation, "pets2", func(a *config.API) any { return sortedKeys(a.Models) }, `["BadName","Node","Pet"]`},
		{"the API's default validator, and an operation's own", swaggerValidation, "pets2", func(a *config.API) any {
			return []string{a.RequestValidator, route(a, "POST /pets").RequestValidator, route(a, "POST /trees").RequestValidator}
		}, `["body","","params"]`},
		{"an inline body schema becomes a model", inlineBody, "inline", func(a *config.API) any {
			return []any{route(a, "POST /notes").RequestModels, schemaJSON(a.Models["addNoteBody"])}
		}, `[{"application/json":"addNoteBody"},"{\"properties\":{\"text\":{\"type\":\"string\"}},\"required\":[\"text\"],\"type\":\"object\"}"]`},
		{"CloudFormation method: validator, model, parameters", "cfn-rest.yaml", "Api", func(a *config.API) any {
			r := route(a, "PUT /orders/{orderId}")
			return []any{r.RequestValidator, a.RequestValidators[r.RequestValidator], r.RequestModels, r.RequestParameters}
		}, `["BodyValidator",{"ValidateRequestBody":true,"ValidateRequestParameters":true},{"application/json":"OrderInput"},{"method.request.header.X-Tenant":false,"method.request.querystring.version":true}]`},
		{"CloudFormation HTTP integration with templates and IntegrationResponses", "cfn-rest.yaml", "Api", func(a *config.API) any {
			in := integ(a, "PUT /orders/{orderId}")
			return []any{in.Type, in.URL, in.Method, in.PassthroughBehavior, in.Responses[0].SelectionPattern, in.Responses[0].Status, in.Responses[1].ResponseParameters}
		}, `["http","http://backend.example.com/orders/{orderId}/update","POST","never","4\\d{2}",409,{"method.response.header.X-Version":"integration.response.header.X-Version"}]`},
		{"CloudFormation gateway response", "cfn-rest.yaml", "Api", func(a *config.API) any { return a.GatewayResponses["DEFAULT_4XX"].ResponseParameters },
			`{"gatewayresponse.header.Access-Control-Allow-Origin":"'*'"}`},
		{"CloudFormation models: one that refers to another by URL is left out", "cfn-rest.yaml", "Api", func(a *config.API) any { return sortedKeys(a.Models) }, `["OrderInput"]`},
		{"SAM Api Models, GatewayResponses and BinaryMediaTypes", "sam-rest-validate.yaml", "PetsApi", func(a *config.API) any {
			return []any{sortedKeys(a.Models), a.GatewayResponses["DEFAULT_4XX"].ResponseParameters, a.GatewayResponses["MISSING_AUTHENTICATION_TOKEN"].Status, a.BinaryMediaTypes}
		}, `[["Pet"],{"gatewayresponse.header.Access-Control-Allow-Origin":"'*'"},404,["image/png","application/octet-stream"]]`},
		{"SAM Api event RequestModel and RequestParameters", "sam-rest-validate.yaml", "PetsApi", func(a *config.API) any {
			r := route(a, "POST /pets")
			return []any{r.RequestModels, r.RequestValidator, a.RequestValidators[r.RequestValidator], r.RequestParameters}
		}, `[{"application/json":"Pet"},"body-only",{"ValidateRequestBody":true,"ValidateRequestParameters":false},{"method.request.header.X-Tenant":true,"method.request.querystring.dryRun":false}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := asJSON(c.got(load(c.src, c.api))); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// What the config has no key for is reported once at its line, and what
// it now has keys for is not.
func TestTransformConstructsNotMappedAreReported(t *testing.T) {
	cases := []struct {
		file        string
		want, never []string
	}{
		{"rest-transform.yaml", []string{
			"94: GET /items/{id}: requestParameters.integration.request.header.X-Amz-Invocation-Type: not yet supported",
			"191: gateway response REQUEST_TOO_LARGE: cannot be customised",
		}, []string{"request-validator", "requestTemplates", "responses", "gateway-responses", "binary-media-types", "requestBody", "GET /status/{code}", "contentHandling"}},
		{"http-api-mapping.yaml", []string{
			"31: GET /items/{id}: requestParameters.overwrite:header.host: not mapped",
			"37: GET /items/{id}: responseParameters.404.overwrite:header.x-missing: not mapped",
		}, []string{"x-user", "statuscode", "x-request-id"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res, _ := importFile(t, c.file, overlay)
			var lines []string
			for _, f := range res.Findings {
				lines = append(lines, strings.TrimPrefix(f.String(), filepath.Join("testdata", c.file)+":"))
			}
			all := strings.Join(lines, "\n")
			for _, w := range c.want {
				if n := strings.Count(all, w); n != 1 {
					t.Errorf("%q listed %d times, want once:\n%s", w, n, all)
				}
			}
			for _, w := range c.never {
				if strings.Contains(all, w) {
					t.Errorf("%q is mapped but listed:\n%s", w, all)
				}
			}
		})
	}
}

// Export writes the transformations in API Gateway's own spelling, so
// that import-rest-api and import-api read them (the round-trip test
// only shows that frontdesk reads them back).
func TestExportWritesTransformsAsAPIGatewayExtensions(t *testing.T) {
	_, cfg := importFile(t, "rest-transform.yaml", overlay)
	out, _, err := Export(cfg, ExportOptions{API: "Orders"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"x-amazon-apigateway-request-validators:\n  all:\n    validateRequestBody: true\n    validateRequestParameters: true",
		"x-amazon-apigateway-request-validator: all",
		"$ref: '#/components/schemas/Order'",
		"$ref: '#/components/schemas/Order/definitions/LineItem'",
		"- name: tenant\n          in: query\n          required: true",
		"type: http\n        httpMethod: PUT",
		"passthroughBehavior: WHEN_NO_TEMPLATES",
		"5\\d{2}:\n            statusCode: \"400\"",
		"method.response.header.X-Order-Id: integration.response.header.X-Order-Id",
		"type: aws\n        httpMethod: POST\n        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:GetItems/invocations",
		"x-amazon-apigateway-gateway-responses:\n  DEFAULT_4XX:\n    responseParameters:",
		"statusCode: \"503\"",
		"x-amazon-apigateway-binary-media-types:",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	_, httpCfg := importFile(t, "http-api-mapping.yaml", overlay)
	out, _, err = Export(httpCfg, ExportOptions{API: "mapped-api"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"requestParameters:\n          append:querystring.source: gw-${context.stage}", "responseParameters:\n          \"200\":\n            append:header.x-route: $context.routeKey"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("HTTP API export lacks %q:\n%s", want, out)
		}
	}
}
