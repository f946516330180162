package importer

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
)

func noEnv(string) (string, bool) { return "", false }

// importFile imports a fixture of testdata with the functions overlay.
func importFile(t *testing.T, name string, o Options) (*Result, *config.Config) {
	t.Helper()
	path := filepath.Join("testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Import(path, data, o)
	if err != nil {
		t.Fatalf("import %s: %v", name, err)
	}
	cfg, _, err := res.Parse(noEnv)
	if err != nil {
		t.Fatalf("imported %s does not load: %v\n%s", name, err, res.Config)
	}
	return res, cfg
}

var overlay = Options{FunctionsFile: filepath.Join("testdata", "functions.yaml")}

func TestImportedSamplesLoadAsTheConfigTheySay(t *testing.T) {
	type want struct {
		api, typ, basePath, stage string
		routes                    map[string]string // route key → "type function-or-url"
	}
	cases := []struct {
		file   string
		format Format
		want   []want
		fns    map[string]string // function → runtime
	}{
		{"petstore-rest.yaml", FormatOpenAPI3, []want{{"PetStore", "rest", "/", "prod", map[string]string{
			"GET /pets":         "http http://petstore.example.com/petstore/pets",
			"GET /pets/{petId}": "http_proxy http://petstore.example.com/petstore/pets/{petId}",
			"POST /pets":        "lambda CreatePet",
			"OPTIONS /pets":     "mock 200",
			"GET /ping":         "mock 200",
			"GET /teapot":       "mock 418",
		}}}, nil},
		{"http-api.yaml", FormatOpenAPI3, []want{{"items-api", "http", "/", "", map[string]string{
			"GET /items":          "lambda GetItems",
			"GET /items/{id}":     "http_proxy http://backend.example.com/items/{id}",
			"ANY /files/{proxy+}": "http_proxy http://files.example.com/files/{proxy}",
			"$default":            "lambda GetItems",
		}}}, nil},
		{"swagger-petstore.json", FormatSwagger2, []want{{"Swagger-PetStore", "rest", "/", "test", map[string]string{
			"GET /pets":   "http http://petstore.example.com/petstore/pets",
			"GET /health": "mock 200",
		}}}, nil},
		{"sam-hello-python.yaml", FormatSAM, []want{{"ServerlessRestApi", "rest", "/", "Prod", map[string]string{
			"GET /hello": "lambda HelloWorldFunction",
		}}}, map[string]string{"HelloWorldFunction": "python3.12"}},
		{"sam-hello-node.yaml", FormatSAM, []want{{"ServerlessHttpApi", "http", "/", "", map[string]string{
			"GET /hello": "lambda HelloWorldFunction",
		}}}, map[string]string{"HelloWorldFunction": "nodejs20.x"}},
		{"sam-hello-go.yaml", FormatSAM, []want{{"ServerlessRestApi", "rest", "/", "Prod", map[string]string{
			"GET /hello": "lambda HelloWorldFunction",
		}}}, map[string]string{"HelloWorldFunction": "provided.al2023"}},
		{"sam-websocket-chat.yaml", FormatSAM, []want{{"ChatWebSocket", "websocket", "/", "Prod", map[string]string{
			"$connect":    "lambda OnConnectFunction",
			"$disconnect": "lambda OnDisconnectFunction",
			"sendmessage": "lambda SendMessageFunction",
		}}}, map[string]string{"OnConnectFunction": "nodejs20.x", "SendMessageFunction": "nodejs20.x"}},
		{"sam-two-apis.yaml", FormatSAM, []want{
			{"OrdersHttpApi", "http", "/", "", map[string]string{"GET /orders": "lambda OrdersFunction", "GET /health": "lambda OrdersFunction"}},
			{"ServerlessRestApi", "rest", "/", "Prod", map[string]string{"ANY /orders": "lambda LegacyFunction"}},
		}, map[string]string{"OrdersFunction": "python3.12", "LegacyFunction": "python3.12"}},
		{"sam-rest-auth.yaml", FormatSAM, []want{{"PetsApi", "rest", "/", "v1", map[string]string{
			"GET /pets": "lambda PetsFunction", "POST /pets": "lambda PetsFunction",
		}}}, map[string]string{"AuthFunction": "nodejs20.x"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res, cfg := importFile(t, c.file, overlay)
			if res.Format != c.format {
				t.Errorf("format %s, want %s", res.Format, c.format)
			}
			if len(cfg.APIs) != len(c.want) {
				t.Errorf("%d APIs, want %d:\n%s", len(cfg.APIs), len(c.want), res.Config)
			}
			for _, w := range c.want {
				a := cfg.APIs[w.api]
				if a == nil {
					t.Fatalf("no API %s:\n%s", w.api, res.Config)
				}
				if string(a.Type) != w.typ || a.BasePath != w.basePath {
					t.Errorf("%s: type %s base %s, want %s %s", w.api, a.Type, a.BasePath, w.typ, w.basePath)
				}
				stages, def := config.StageNames(a)
				if w.stage == "" && (!def || len(stages) > 0) || w.stage != "" && (len(stages) != 1 || stages[0] != w.stage) {
					t.Errorf("%s: stages %v default %v, want %q", w.api, stages, def, w.stage)
				}
				if len(a.Routes) != len(w.routes) {
					t.Errorf("%s: %d routes, want %d:\n%s", w.api, len(a.Routes), len(w.routes), res.Config)
				}
				for key, target := range w.routes {
					r := a.Routes[key]
					if r == nil {
						t.Errorf("%s: no route %q:\n%s", w.api, key, res.Config)
						continue
					}
					in := a.Integrations[r.Integration]
					got := string(in.Type) + " "
					switch in.Type {
					case config.IntegrationLambda:
						got += in.Function
					case config.IntegrationMock:
						got += strconv.Itoa(in.Status)
					default:
						got += in.URL
					}
					if got != target {
						t.Errorf("%s %s: %s, want %s", w.api, key, got, target)
					}
				}
			}
			for fn, rt := range c.fns {
				if f, ok := cfg.Functions[fn]; !ok || string(f.Runtime) != rt {
					t.Errorf("function %s: %+v, want runtime %s", fn, f, rt)
				}
			}
		})
	}
}

// The details the route table test does not see.
func TestImportMapsAuthCORSKeysAndPlans(t *testing.T) {
	_, rest := importFile(t, "petstore-rest.yaml", overlay)
	a := rest.APIs["PetStore"]
	if !a.Routes["GET /pets"].APIKey || a.Routes["GET /ping"].APIKey {
		t.Errorf("api_key: GET /pets %v, GET /ping %v", a.Routes["GET /pets"].APIKey, a.Routes["GET /ping"].APIKey)
	}
	if in := a.Integrations[a.Routes["GET /pets"].Integration]; in.Timeout.D().Milliseconds() != 5000 {
		t.Errorf("timeoutInMillis 5000 gave %v", in.Timeout.D())
	}
	opt := a.Integrations[a.Routes["OPTIONS /pets"].Integration]
	if opt.Headers["Access-Control-Allow-Origin"] != "*" {
		t.Errorf("mock responseParameters: %v", opt.Headers)
	}
	if ping := a.Integrations[a.Routes["GET /ping"].Integration]; ping.Body != `{"pong": true}` {
		t.Errorf("mock body %q", ping.Body)
	}

	_, httpCfg := importFile(t, "http-api.yaml", overlay)
	h := httpCfg.APIs["items-api"]
	if h.CORS == nil || h.CORS.AllowOrigins[0] != "https://app.example.com" || h.CORS.MaxAge != 300 || !h.CORS.AllowCredentials {
		t.Errorf("cors: %+v", h.CORS)
	}
	jwt := h.Authorizers[h.Routes["GET /items"].Authorizer]
	if jwt.Type != config.AuthorizerJWT || jwt.Issuer != "https://issuer.example.com/" || jwt.Audience[0] != "items-client" {
		t.Errorf("jwt authorizer: %+v", jwt)
	}
	if s := h.Routes["GET /items"].Scopes; len(s) != 1 || s[0] != "items:read" {
		t.Errorf("scopes %v", s)
	}
	if in := h.Integrations[h.Routes["GET /items"].Integration]; in.PayloadFormat != config.PayloadV2 {
		t.Errorf("payloadFormatVersion: %q", in.PayloadFormat)
	}

	_, sw := importFile(t, "swagger-petstore.json", overlay)
	tok := sw.APIs["Swagger-PetStore"].Authorizers["token-auth"]
	if tok.Type != config.AuthorizerLambda || tok.Function != "Authorizer" || tok.TTL.D().Seconds() != 300 || tok.IdentitySource[0] != "$request.header.Authorization" {
		t.Errorf("token authorizer: %+v", tok)
	}

	_, sam := importFile(t, "sam-rest-auth.yaml", Options{})
	p := sam.APIs["PetsApi"]
	pool := p.Authorizers["PoolAuth"]
	if pool.Issuer != "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf" || pool.JWKSURL != pool.Issuer+"/.well-known/jwks.json" {
		t.Errorf("cognito: %+v", pool)
	}
	if !p.Routes["GET /pets"].APIKey || p.Routes["GET /pets"].Authorizer != "PoolAuth" || p.Routes["POST /pets"].Authorizer != "TokenAuth" {
		t.Errorf("routes: %+v %+v", p.Routes["GET /pets"], p.Routes["POST /pets"])
	}
	plan := sam.UsagePlans["PetsApi-plan"]
	if plan.Throttle == nil || plan.Throttle.Rate != 10 || plan.Throttle.Burst != 20 || plan.Quota.Limit != 1000 || plan.Quota.Period != config.PeriodDay || plan.APIs[0] != "PetsApi" {
		t.Errorf("usage plan: %+v", plan)
	}
	if len(sam.APIKeys) != 1 || sam.APIKeys[0].Plan != "PetsApi-plan" {
		t.Errorf("api keys: %+v", sam.APIKeys)
	}
	if p.Stages["v1"].Variables["color"] != "blue" {
		t.Errorf("stage variables: %+v", p.Stages)
	}

	_, two := importFile(t, "sam-two-apis.yaml", Options{})
	o := two.APIs["OrdersHttpApi"]
	if o.Routes["GET /orders"].Authorizer != "OrdersJwt" || o.Routes["GET /health"].Authorizer != "" {
		t.Errorf("DefaultAuthorizer and Authorizer: NONE: %+v %+v", o.Routes["GET /orders"], o.Routes["GET /health"])
	}
	if r := two.APIs["ServerlessRestApi"]; len(r.Hosts) != 1 || r.Hosts[0] != "serverlessrestapi.execute-api.localhost" {
		t.Errorf("second API at /: hosts %v", r.Hosts)
	}
	if c := two.APIs["ServerlessRestApi"].CORS; c == nil || c.AllowOrigins[0] != "*" || len(c.AllowMethods) != 2 {
		t.Errorf("Globals.Api.Cors: %+v", c)
	}
}

func TestIntrinsicsEvaluateFromParametersAndConditions(t *testing.T) {
	_, cfg := importFile(t, "sam-two-apis.yaml", Options{})
	env := cfg.Functions["OrdersFunction"].Environment
	want := map[string]string{
		"STAGE":     "dev",
		"TABLE":     "OrdersTable",
		"TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/OrdersTable",
		"QUEUE":     "arn:aws:sqs:us-east-1:123456789012:Jobs",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["MODE"]; ok {
		t.Errorf("MODE is !If [IsProd, live, AWS::NoValue] with Stage=dev: want it absent, got %q", env["MODE"])
	}
	if to := cfg.Functions["OrdersFunction"].Timeout.D().Seconds(); to != 5 {
		t.Errorf("timeout %vs, want 5 (!If false branch)", to)
	}

	_, prod := importFile(t, "sam-two-apis.yaml", Options{Parameters: map[string]string{"Stage": "prod"}})
	env = prod.Functions["OrdersFunction"].Environment
	if env["STAGE"] != "prod" || env["MODE"] != "live" || prod.Functions["OrdersFunction"].Timeout.D().Seconds() != 30 {
		t.Errorf("with Stage=prod: env %v timeout %v", env, prod.Functions["OrdersFunction"].Timeout.D())
	}

	_, ws := importFile(t, "sam-websocket-chat.yaml", Options{Parameters: map[string]string{"TableName": "other"}})
	if got := ws.Functions["OnConnectFunction"].Environment["TABLE_NAME"]; got != "other" {
		t.Errorf("TABLE_NAME with override = %q", got)
	}
}

func TestUnsupportedConstructsAreListedOnceWithTheirLine(t *testing.T) {
	cases := []struct {
		file  string
		o     Options
		want  []string // "line: construct" substrings, each in exactly one finding
		never []string
	}{
		{"petstore-rest.yaml", overlay, []string{
			"46: POST /pets: contentHandling",
			"125: x-amazon-apigateway-endpoint-configuration",
		}, []string{"api-key-source", "OPTIONS /pets: requestTemplates",
			// Mapped onto request_validator(s), request_templates,
			// responses, binary_media_types and gateway_responses.
			"request-validator", "GET /pets: responses", "GET /pets: requestTemplates",
			"binary-media-types", "gateway-responses"}},
		{"swagger-petstore.json", overlay, []string{
			"38: token-auth: token authorizer",
			"44: x-amazon-apigateway-policy",
		}, nil},
		{"http-api.yaml", overlay, nil, []string{"cors", "importexport"}},
		{"sam-hello-python.yaml", Options{}, []string{
			"9: HelloWorldFunction.MemorySize",
			"18: HelloWorldFunction.Architectures",
			"27: Outputs",
		}, nil},
		{"sam-websocket-chat.yaml", Options{}, []string{
			"65: Deployment (AWS::ApiGatewayV2::Deployment)",
			"77: ConnectionsTable (AWS::DynamoDB::Table)",
			"98: OnConnectFunction.Policies",
			"102: OnConnectPermission (AWS::Lambda::Permission)",
			"138: Outputs",
		}, []string{"Stage", "Route", "Integration ("}},
		{"sam-two-apis.yaml", Options{}, []string{
			"85: LegacyFunction.Events.Nightly (Schedule)",
			"91: OrdersTable (AWS::Serverless::SimpleTable)",
			"93: Jobs (AWS::SQS::Queue)",
			"96: ProdOnlyTopic",
			"80: ServerlessRestApi",
		}, nil},
		{"sam-rest-auth.yaml", Options{}, []string{
			"15: PetsApi.Auth.UsagePlan",
			"23: PoolAuth (Cognito user pool)",
			"25: PetsApi.Authorizers.TokenAuth",
			"27: PetsApi.MethodSettings",
			"32: PetsApi.EndpointConfiguration",
		}, []string{"BinaryMediaTypes"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			res, _ := importFile(t, c.file, c.o)
			var lines []string
			for _, f := range res.Findings {
				if f.File != filepath.Join("testdata", c.file) || f.Line <= 0 || f.Note == "" {
					t.Errorf("finding without file:line or note: %+v", f)
				}
				lines = append(lines, strings.TrimPrefix(f.String(), filepath.Join("testdata", c.file)+":"))
			}
			all := strings.Join(lines, "\n")
			for _, w := range c.want {
				n := 0
				for _, l := range lines {
					if strings.HasPrefix(l, w) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%q listed %d times, want once; findings:\n%s", w, n, all)
				}
			}
			for _, w := range c.never {
				if strings.Contains(all, w) {
					t.Errorf("%q is supported but listed:\n%s", w, all)
				}
			}
		})
	}
}

func TestMalformedFilesFailWithFileAndLine(t *testing.T) {
	cases := []struct {
		name, src string
		o         Options
		line      int
		msg       string
	}{
		{"bad YAML", "openapi: 3.0.1\npaths:\n  /a: [\n", Options{}, 3, "not YAML or JSON"},
		{"bad JSON", "{\n  \"openapi\": \"3.0.1\",\n  \"paths\": {\n}\n", Options{}, 5, "unexpected end of JSON input"},
		{"$ref to nowhere", `openapi: 3.0.1
info: {title: t}
paths:
  /a:
    get:
      x-amazon-apigateway-integration:
        $ref: "#/components/x-amazon-apigateway-integrations/missing"
`, Options{}, 7, "goes nowhere"},
		{"circular $ref", `openapi: 3.0.1
info: {title: t}
paths: {}
components:
  schemas:
    A:
      $ref: "#/components/schemas/B"
    B:
      $ref: "#/components/schemas/A"
`, Options{}, 7, "circular"},
		{"external $ref", `openapi: 3.0.1
paths:
  /a:
    $ref: "other.yaml#/paths/a"
`, Options{}, 4, "other files"},
		{"unknown intrinsic, short form", `Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: !Frobnicate x
`, Options{}, 8, "unknown intrinsic function Fn::Frobnicate"},
		{"unknown intrinsic, long form", `{"Resources": {
  "Fn": {"Type": "AWS::Lambda::Function",
    "Properties": {"Runtime": "python3.12",
      "Handler": {"Fn::Frobnicate": "x"}}}}}
`, Options{}, 4, "unknown intrinsic function Fn::Frobnicate"},
		{"Lambda ARN without a function mapping", `openapi: 3.0.1
info: {title: t}
paths:
  /a:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Nowhere/invocations
`, Options{}, 9, `Lambda function "Nowhere" has no functions: entry`},
		{"Ref to nothing", `Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Environment:
        Variables:
          X: !Ref Missing
`, Options{}, 9, `Ref "Missing"`},
		{"parameter without default", `Parameters:
  Name:
    Type: String
Resources: {}
`, Options{}, 2, "--parameter-overrides Name="},
		{"override of no parameter", `Parameters:
  Name: {Type: String, Default: x}
Resources: {}
`, Options{Parameters: map[string]string{"Nope": "1"}}, 2, "no parameter \"Nope\""},
		{"unknown integration type", `swagger: "2.0"
paths:
  /a:
    get:
      x-amazon-apigateway-integration:
        type: carrier_pigeon
`, Options{}, 6, "carrier_pigeon"},
		{"event naming no API", `Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Events:
        E:
          Type: Api
          Properties: {Path: /a, Method: get, RestApiId: Nope}
`, Options{}, 10, `no AWS::Serverless::Api named "Nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.yaml")
			_, err := Import(path, []byte(c.src), c.o)
			var list config.Errors
			if !errors.As(err, &list) {
				t.Fatalf("want config.Errors, got %v", err)
			}
			found := false
			for _, p := range list {
				if p.File == path && p.Line == c.line && strings.Contains(p.String(), c.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s:%d: ...%s..., got:\n%v", path, c.line, c.msg, err)
			}
		})
	}
}

// A mistake config finds in what the importer wrote is reported at the
// source line it came from.
func TestConfigProblemsNameTheSourceLine(t *testing.T) {
	src := `openapi: 3.0.1
info: {title: t}
paths:
  /a:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: "999"
`
	path := filepath.Join(t.TempDir(), "in.yaml")
	res, err := Import(path, []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = res.Parse(noEnv)
	var list config.Errors
	if !errors.As(err, &list) {
		t.Fatalf("want config.Errors, got %v\n%s", err, res.Config)
	}
	if list[0].File != path || list[0].Line < 6 || list[0].Line > 12 || !strings.Contains(list[0].Msg, "999") {
		t.Errorf("want %s:6-12 naming status 999, got %v", path, list)
	}
}

func TestFrontdeskConfigIsNotImported(t *testing.T) {
	f, _, err := Detect("x.yaml", []byte("apis:\n  a: {}\n"))
	if err != nil || f != FormatFrontdesk {
		t.Fatalf("%s %v", f, err)
	}
	if _, err := Import("x.yaml", []byte("apis:\n  a: {}\n"), Options{}); err == nil {
		t.Fatal("import of a frontdesk config succeeded")
	}
}

func TestLoadReadsEveryFormat(t *testing.T) {
	for _, f := range []string{"sam-hello-python.yaml", "petstore-rest.yaml", "../../examples/quickstart.yaml"} {
		cfg, _, err := Load(filepath.Join("testdata", f), overlay)
		if err != nil || len(cfg.APIs) == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestParseOverrides(t *testing.T) {
	got, err := ParseOverrides([]string{"A=1 B=two", "ParameterKey=C,ParameterValue=x=y"})
	if err != nil || got["A"] != "1" || got["B"] != "two" || got["C"] != "x=y" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseOverrides([]string{"novalue"}); err == nil {
		t.Fatal("K without =V accepted")
	}
}

func TestDefinitionBodyUriAndCloudFormationBody(t *testing.T) {
	res, cfg := importFile(t, "sam-definitions.yaml", overlay)
	body := cfg.APIs["BodyApi"]
	if _, ok := body.Stages["live"]; body == nil || !ok {
		t.Fatalf("BodyApi:\n%s", res.Config)
	}
	if in := body.Integrations[body.Routes["GET /items"].Integration]; in.Type != config.IntegrationLambda || in.Function != "ItemsFunction" {
		t.Errorf("!Sub ${ItemsFunction.Arn} in DefinitionBody: %+v", in)
	}
	if in := body.Integrations[body.Routes["ANY /backend/{proxy+}"].Integration]; in.URL != "http://backend.example.com/{proxy}" {
		t.Errorf("!Join with !FindInMap: %q", in.URL)
	}
	if r := body.Routes["POST /extra"]; r == nil || !r.APIKey {
		t.Errorf("an Api event adds to a DefinitionBody API, with ApiKeyRequired: %+v", r)
	}
	file := cfg.APIs["FileApi"]
	if file == nil || file.Type != config.APIHTTP || file.Routes["GET /items"] == nil || file.Authorizers["jwt-auth"].Issuer == "" {
		t.Errorf("DefinitionUri http-api.yaml: %+v", file)
	}
	cfn := cfg.APIs["CfnApi"]
	if cfn == nil || cfn.Integrations[cfn.Routes["GET /health"].Integration].Status != 204 {
		t.Errorf("AWS::ApiGateway::RestApi Body: %+v", cfn)
	} else if _, ok := cfn.Stages["beta"]; !ok {
		t.Errorf("AWS::ApiGateway::Stage: %+v", cfn.Stages)
	}
	implicit := cfg.APIs["ServerlessHttpApi"]
	if implicit == nil || implicit.Routes["$default"] == nil {
		t.Fatalf("HttpApi event without Path is the $default route:\n%s", res.Config)
	}
	in := implicit.Integrations[implicit.Routes["$default"].Integration]
	if in.PayloadFormat != config.PayloadV1 || in.Timeout.D().Milliseconds() != 3000 {
		t.Errorf("PayloadFormatVersion 1.0 and TimeoutInMillis 3000: %+v", in)
	}
	if cfg.Functions["ItemsFunction"].Runtime != "python3.12" {
		t.Errorf("!Select/!Split: runtime %q", cfg.Functions["ItemsFunction"].Runtime)
	}
	// Findings from the file DefinitionUri names carry that file's name.
	for _, f := range res.Findings {
		if f.File != filepath.Join("testdata", "sam-definitions.yaml") && f.File != filepath.Join("testdata", "http-api.yaml") {
			t.Errorf("finding names %s", f.File)
		}
	}
}

func importSrc(t *testing.T, src string, o Options) (*Result, *config.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.yaml")
	res, err := Import(path, []byte(src), o)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	cfg, _, err := res.Parse(noEnv)
	if err != nil {
		t.Fatalf("load: %v\n%s", err, res.Config)
	}
	return res, cfg
}

// A SigV4 scheme is apiKey-typed in OpenAPI but is not an API key: it
// must not make routes ask for x-api-key, and it is reported.
func TestSigV4SchemeIsReportedNotTakenForAnAPIKey(t *testing.T) {
	res, cfg := importSrc(t, `swagger: "2.0"
paths:
  /a:
    get:
      security: [{sigv4: []}]
      x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 200}'}}
securityDefinitions:
  sigv4: {type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4}
`, Options{})
	for _, a := range cfg.APIs {
		if a.Routes["GET /a"].APIKey {
			t.Error("the SigV4 scheme made the route need an API key")
		}
	}
	if len(res.Findings) != 1 || res.Findings[0].Line != 8 || !strings.Contains(res.Findings[0].Note, "WITHOUT") {
		t.Errorf("findings: %v", res.Findings)
	}
}

// An Api event's integration does not reuse a DefinitionBody
// integration that happens to have the function's name.
func TestEventIntegrationDoesNotTakeOverABodyIntegrationsName(t *testing.T) {
	_, cfg := importSrc(t, `Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: s
      DefinitionBody:
        openapi: 3.0.1
        paths:
          /mocked:
            get:
              operationId: Fn
              x-amazon-apigateway-integration: {type: mock, requestTemplates: {application/json: '{"statusCode": 201}'}}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Events:
        E: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /fn, Method: get}}
`, Options{})
	a := cfg.APIs["Api"]
	if in := a.Integrations[a.Routes["GET /mocked"].Integration]; in.Type != config.IntegrationMock || in.Status != 201 {
		t.Errorf("GET /mocked: %+v", in)
	}
	if in := a.Integrations[a.Routes["GET /fn"].Integration]; in.Type != config.IntegrationLambda || in.Function != "Fn" {
		t.Errorf("GET /fn: %+v", in)
	}
}

func TestCloudFormationRESTResourcesMapToRoutes(t *testing.T) {
	res, cfg := importFile(t, "cfn-rest.yaml", Options{})
	a := cfg.APIs["Api"]
	if a == nil {
		t.Fatalf("no API:\n%s", res.Config)
	}
	if _, ok := a.Stages["v1"]; !ok || len(a.Stages) != 1 {
		t.Errorf("stages %v", a.Stages)
	}
	get := a.Routes["GET /orders/{orderId}"]
	if get == nil || !get.APIKey || a.Integrations[get.Integration].URL != "http://backend.example.com/orders/{orderId}" || a.Integrations[get.Integration].Timeout.D().Seconds() != 3 {
		t.Errorf("GET /orders/{orderId} from Resource chain and HTTP_PROXY: %+v %+v", get, a.Integrations["GetOrder"])
	}
	post := a.Routes["POST /orders"]
	if post == nil || post.Authorizer != "TokenAuth" || a.Integrations[post.Integration].Function != "OrderFunction" || a.Authorizers["TokenAuth"].Function != "AuthFunction" {
		t.Errorf("POST /orders with a CUSTOM authorizer: %+v", post)
	}
	if h := a.Routes["GET /"]; h == nil || a.Integrations[h.Integration].Body != `{"status": "ok"}` {
		t.Errorf("GET / on RootResourceId with MOCK IntegrationResponses: %+v", h)
	}
	if len(cfg.APIKeys) != 1 || cfg.APIKeys[0].Value != "a-fixed-key-of-twenty-four" || cfg.APIKeys[0].Plan != "Plan" {
		t.Errorf("ApiKey and UsagePlanKey: %+v", cfg.APIKeys)
	}
	if p := cfg.UsagePlans["Plan"]; p.Throttle == nil || p.Throttle.Rate != 2 || p.APIs[0] != "Api" {
		t.Errorf("UsagePlan: %+v", p)
	}
	var notes []string
	for _, f := range res.Findings {
		notes = append(notes, f.String())
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"cfn-rest.yaml:122: AuthFunction.Code:", "cfn-rest.yaml:79: Deployment",
		"cfn-rest.yaml:155: LinkedModel.Schema: not served as a model"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in:\n%s", want, all)
		}
	}
	// Mapped onto request_validators, models, request_parameters,
	// responses and gateway_responses: not reported.
	for _, never := range []string{"RequestParameters", "RequestModels", "RequestValidatorId", "BodyValidator", "OrderModel", "Cors4xx", "IntegrationResponses"} {
		if strings.Contains(all, never) {
			t.Errorf("%q is mapped but reported:\n%s", never, all)
		}
	}
}

func TestFunctionsFileOverlaysTheTemplatesFunctions(t *testing.T) {
	dir := t.TempDir()
	over := filepath.Join(dir, "functions.yaml")
	os.WriteFile(over, []byte("functions:\n  HelloWorldFunction:\n    command: [./bootstrap]\n    concurrency: 2\n"), 0o600)
	_, cfg := importFile(t, "sam-hello-python.yaml", Options{FunctionsFile: over})
	f := cfg.Functions["HelloWorldFunction"]
	if len(f.Command) != 1 || f.Command[0] != "./bootstrap" || f.Concurrency != 2 {
		t.Errorf("overlay keys not applied: %+v", f)
	}
	if f.Runtime != "" || f.Handler != "" || f.CodeURI != "" {
		t.Errorf("a command replaces runtime, handler and code_uri: %+v", f)
	}
	if f.Timeout.D().Seconds() != 3 {
		t.Errorf("the template's timeout is kept: %v", f.Timeout.D())
	}

	os.WriteFile(over, []byte("functions: {}\nroutes: {}\n"), 0o600)
	_, err := Import(filepath.Join("testdata", "sam-hello-python.yaml"), mustRead(t, "sam-hello-python.yaml"), Options{FunctionsFile: over})
	var list config.Errors
	if !errors.As(err, &list) || list[0].File != over || list[0].Line != 2 {
		t.Errorf("unknown key in the functions file: %v", err)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// SAM reads CodeUri relative to the template: the imported code_uri names
// the same directory from frontdesk's working directory, wherever the
// template is.
func TestCodeURIIsRelativeToTheTemplate(t *testing.T) {
	_, cfg := importFile(t, "sam-hello-python.yaml", Options{})
	if got, want := cfg.Functions["HelloWorldFunction"].CodeURI, filepath.Join("testdata", "hello_world"); got != want {
		t.Errorf("code_uri %q, want %q", got, want)
	}
	abs := filepath.Join(t.TempDir(), "app")
	src := "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Runtime: python3.12, Handler: app.h, CodeUri: " + abs + "}\n"
	res, err := Import(filepath.Join("some", "dir", "template.yaml"), []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err = res.Parse(noEnv)
	if err != nil || cfg.Functions["F"].CodeURI != abs {
		t.Errorf("absolute CodeUri: %v %+v", err, cfg.Functions["F"])
	}
}

// The handlers of a template's WebSocket API post to @connections at
// 'https://' + domainName + '/' + stage: the import turns the HTTPS
// listener with the local CA on for them, and only for them.
func TestWebSocketTemplateGetsTheLocalHTTPSListener(t *testing.T) {
	_, chat := importFile(t, "sam-websocket-chat.yaml", Options{})
	if lt := chat.Server.LocalTLS; lt == nil || lt.Listen != LocalTLSListen {
		t.Errorf("WebSocket template: server.local_tls %+v, want listen %s", lt, LocalTLSListen)
	}
	for _, f := range []string{"sam-hello-node.yaml", "petstore-rest.yaml"} {
		if _, cfg := importFile(t, f, overlay); cfg.Server.LocalTLS != nil {
			t.Errorf("%s: server.local_tls %+v, want none", f, cfg.Server.LocalTLS)
		}
	}
}
