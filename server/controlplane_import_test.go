package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// writeDoc writes an API definition for the CLI's file:// and fileb://.
func writeDoc(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// restart stops c's server and serves the same config file and state
// file again.
func (c *cpServer) restart(t *testing.T) *cpServer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	return startControlPlane(t, c.dir, "")
}

// httpAPIDoc is an HTTP API's OpenAPI definition with one route per path,
// each an http_proxy integration to up.
func httpAPIDoc(title, up string, paths ...string) string {
	var b strings.Builder
	b.WriteString("openapi: 3.0.1\ninfo:\n  title: " + title + "\n  version: '1.0'\nx-amazon-apigateway-importexport-version: '1.0'\npaths:\n")
	for _, p := range paths {
		b.WriteString("  " + p + ":\n    get:\n      x-amazon-apigateway-integration:\n        type: http_proxy\n        httpMethod: GET\n" +
			"        uri: http://" + up + p + "\n        payloadFormatVersion: '1.0'\n")
	}
	return b.String()
}

func TestAWSCLIImportsAndReimportsAnHTTPAPIServedLikeACreatedOne(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	dir := t.TempDir()
	c := startControlPlane(t, dir, cpConfig)
	upA, upB := nameEcho(t, "A"), nameEcho(t, "B")
	cp := func(out any, args ...string) { t.Helper(); mustCLI(t, cli, c.admin, out, args...) }

	var api struct {
		ApiId, Name, ApiEndpoint, ProtocolType string
		Warnings                               []string
	}
	cp(&api, "apigatewayv2", "import-api", "--body", "file://"+writeDoc(t, dir, "v1.yaml", httpAPIDoc("imported", upA, "/hello")))
	if len(api.ApiId) != 10 || api.Name != "imported" || api.ProtocolType != "HTTP" || !strings.Contains(api.ApiEndpoint, api.ApiId+".execute-api.localhost") {
		t.Fatalf("import-api answered %+v", api)
	}
	var routes struct {
		Items []struct{ RouteKey, Target string }
	}
	cp(&routes, "apigatewayv2", "get-routes", "--api-id", api.ApiId)
	if len(routes.Items) != 1 || routes.Items[0].RouteKey != "GET /hello" || !strings.HasPrefix(routes.Items[0].Target, "integrations/") {
		t.Fatalf("the imported routes: %+v", routes.Items)
	}
	if r := c.get(t, api.ApiId, "/hello"); r.status != 404 {
		t.Fatalf("before a stage the imported API answered %d %q: want 404, as on AWS", r.status, r.body)
	}
	cp(nil, "apigatewayv2", "create-stage", "--api-id", api.ApiId, "--stage-name", "$default", "--auto-deploy")
	if r := c.get(t, api.ApiId, "/hello"); r.status != 200 || r.body != "A /hello" {
		t.Fatalf("the imported route: %d %q", r.status, r.body)
	}

	cp(&api, "apigatewayv2", "reimport-api", "--api-id", api.ApiId, "--body", "file://"+writeDoc(t, dir, "v2.yaml", httpAPIDoc("reimported", upB, "/bye")))
	if api.Name != "reimported" {
		t.Fatalf("reimport-api answered %+v", api)
	}
	if r := c.get(t, api.ApiId, "/bye"); r.status != 200 || r.body != "B /bye" {
		t.Fatalf("the reimported route: %d %q", r.status, r.body)
	}
	if r := c.get(t, api.ApiId, "/hello"); r.status != 404 || r.body != `{"message":"Not Found"}` {
		t.Fatalf("the route reimport-api removed: %d %q", r.status, r.body)
	}
	var apis struct {
		Items []struct{ ApiId, Name string }
	}
	cp(&apis, "apigatewayv2", "get-apis")
	listed := false
	for _, a := range apis.Items {
		listed = listed || a.ApiId == api.ApiId && a.Name == "reimported"
	}
	if !listed {
		t.Fatalf("get-apis does not list the imported API: %+v", apis.Items)
	}

	// Imported routes change like created ones.
	cp(&routes, "apigatewayv2", "get-routes", "--api-id", api.ApiId)
	var route struct{ RouteId string }
	cp(&route, "apigatewayv2", "create-route", "--api-id", api.ApiId, "--route-key", "GET /also", "--target", routes.Items[0].Target)
	if r := c.get(t, api.ApiId, "/also"); r.status != 200 || r.body != "B /bye" {
		t.Fatalf("a route created on the imported API: %d %q", r.status, r.body)
	}

	c = c.restart(t)
	if r := c.get(t, api.ApiId, "/bye"); r.status != 200 || r.body != "B /bye" {
		t.Fatalf("the imported API after a restart: %d %q", r.status, r.body)
	}
}

func TestImportAPIAnswersWarningsAndFailOnWarningsRefuses(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	dir := t.TempDir()
	c := startControlPlane(t, dir, cpConfig)
	up := nameEcho(t, "up")
	doc := httpAPIDoc("warned", up, "/w") + "x-amazon-apigateway-unknown-thing: {a: 1}\n"
	p := writeDoc(t, dir, "warned.yaml", doc)

	out, err := awsCLI(t, cli, c.admin, cpSecret, nil, "apigatewayv2", "import-api", "--fail-on-warnings", "--body", "file://"+p)
	if err == nil || !strings.Contains(out, "BadRequestException") || !strings.Contains(out, "x-amazon-apigateway-unknown-thing") {
		t.Fatalf("import-api --fail-on-warnings: %v\n%s", err, out)
	}
	var apis struct{ Items []struct{ ApiId string } }
	mustCLI(t, cli, c.admin, &apis, "apigatewayv2", "get-apis")
	if len(apis.Items) != 1 { // the file's API only
		t.Fatalf("a refused import left APIs: %+v", apis.Items)
	}
	var api struct {
		ApiId    string
		Warnings []string
	}
	mustCLI(t, cli, c.admin, &api, "apigatewayv2", "import-api", "--body", "file://"+p)
	if len(api.Warnings) != 1 || !strings.Contains(api.Warnings[0], "body:") || !strings.Contains(api.Warnings[0], "x-amazon-apigateway-unknown-thing") {
		t.Fatalf("import-api warnings: %q", api.Warnings)
	}
}

func TestMalformedDefinitionsAnswerBadRequestAtTheirLineAndChangeNothing(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	dir := t.TempDir()
	c := startControlPlane(t, dir, cpConfig)
	up := nameEcho(t, "up")
	var api struct{ ApiId string }
	mustCLI(t, cli, c.admin, &api, "apigatewayv2", "import-api", "--body", "file://"+writeDoc(t, dir, "ok.yaml", httpAPIDoc("ok", up, "/ok")))
	var rest struct{ Id string }
	mustCLI(t, cli, c.admin, &rest, "apigateway", "import-rest-api", "--body", "fileb://"+writeDoc(t, dir, "rest.yaml", restDoc(up)))
	state, err := os.ReadFile(filepath.Join(dir, "frontdesk.state.json"))
	if err != nil {
		t.Fatal(err)
	}
	badYAML := "openapi: 3.0.1\ninfo: {title: bad}\npaths:\n  /x: [unclosed\n"
	badRef := "openapi: 3.0.1\ninfo: {title: bad}\npaths:\n  /x:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nowhere'}\n"
	cases := []struct {
		name, doc, line string
		args            func(p string) []string
	}{
		{"import-api bad YAML", badYAML, "body:3", func(p string) []string { return []string{"apigatewayv2", "import-api", "--body", "file://" + p} }},
		{"import-api dangling $ref", badRef, "body:7", func(p string) []string { return []string{"apigatewayv2", "import-api", "--body", "file://" + p} }},
		{"reimport-api dangling $ref", badRef, "body:7", func(p string) []string {
			return []string{"apigatewayv2", "reimport-api", "--api-id", api.ApiId, "--body", "file://" + p}
		}},
		{"import-rest-api bad YAML", badYAML, "body:3", func(p string) []string { return []string{"apigateway", "import-rest-api", "--body", "fileb://" + p} }},
		{"put-rest-api dangling $ref", badRef, "body:7", func(p string) []string {
			return []string{"apigateway", "put-rest-api", "--rest-api-id", rest.Id, "--mode", "overwrite", "--body", "fileb://" + p}
		}},
		{"reimport-api of a file API", httpAPIDoc("x", up, "/x"), "read-only", func(p string) []string {
			return []string{"apigatewayv2", "reimport-api", "--api-id", config.APIID("keyed"), "--body", "file://" + p}
		}},
		{"import-api of a SAM template", "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n", "want an OpenAPI 3.0 or Swagger 2.0 document", func(p string) []string {
			return []string{"apigatewayv2", "import-api", "--body", "file://" + p}
		}},
	}
	for i, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			p := writeDoc(t, dir, "bad"+string(rune('a'+i))+".yaml", k.doc)
			out, err := awsCLI(t, cli, c.admin, cpSecret, nil, k.args(p)...)
			if err == nil || !strings.Contains(out, "BadRequestException") || !strings.Contains(out, k.line) {
				t.Fatalf("want BadRequestException naming %s: %v\n%s", k.line, err, out)
			}
			now, err := os.ReadFile(filepath.Join(dir, "frontdesk.state.json"))
			if err != nil || string(now) != string(state) {
				t.Fatalf("a refused definition changed the state file (%v)", err)
			}
		})
	}
	if r := c.get(t, api.ApiId, "/ok"); r.status != 404 {
		t.Fatalf("the API without a stage answered %d", r.status)
	}
}

// restDoc is a REST API's OpenAPI export: a mock and an http integration.
func restDoc(up string) string {
	return `openapi: 3.0.1
info:
  title: pets
  version: '2024-01-01'
paths:
  /ping:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: '200'
            responseTemplates:
              application/json: '{"pong": true}'
  /up:
    get:
      x-amazon-apigateway-integration:
        type: http
        httpMethod: GET
        uri: http://` + up + `/up
        responses:
          default:
            statusCode: '200'
`
}

const restMore = `openapi: 3.0.1
info:
  title: pets
  version: '2024-01-02'
paths:
  /more:
    get:
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: '200'
            responseTemplates:
              application/json: '{"more": true}'
`

func TestAWSCLIImportsMergesAndExportsARESTAPIServedInTheRESTDialect(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	dir := t.TempDir()
	c := startControlPlane(t, dir, cpConfig)
	up := nameEcho(t, "U")
	cp := func(out any, args ...string) { t.Helper(); mustCLI(t, cli, c.admin, out, args...) }

	var rest struct{ Id, Name, Version string }
	cp(&rest, "apigateway", "import-rest-api", "--body", "fileb://"+writeDoc(t, dir, "rest.yaml", restDoc(up)))
	if len(rest.Id) != 10 || rest.Name != "pets" || rest.Version != "2024-01-01" {
		t.Fatalf("import-rest-api answered %+v", rest)
	}
	cp(nil, "apigateway", "create-deployment", "--rest-api-id", rest.Id, "--stage-name", "test")
	checks := []struct {
		path   string
		status int
		body   string
	}{
		{"/test/ping", 200, `{"pong": true}`},
		{"/test/up", 200, "U /up"},
		{"/test/nowhere", 403, `{"message":"Missing Authentication Token"}`},
		{"/ping", 403, `{"message":"Missing Authentication Token"}`},
	}
	for _, k := range checks {
		if r := c.get(t, rest.Id, k.path); r.status != k.status || r.body != k.body {
			t.Fatalf("GET %s: %d %q, want %d %q", k.path, r.status, r.body, k.status, k.body)
		}
	}

	cp(&rest, "apigateway", "put-rest-api", "--rest-api-id", rest.Id, "--mode", "merge", "--body", "fileb://"+writeDoc(t, dir, "more.yaml", restMore))
	if r := c.get(t, rest.Id, "/test/more"); r.status != 403 {
		t.Fatalf("a put before create-deployment is served already: %d %q", r.status, r.body)
	}
	cp(nil, "apigateway", "create-deployment", "--rest-api-id", rest.Id, "--stage-name", "test")
	for _, k := range []struct{ path, body string }{{"/test/more", `{"more": true}`}, {"/test/ping", `{"pong": true}`}} {
		if r := c.get(t, rest.Id, k.path); r.status != 200 || r.body != k.body {
			t.Fatalf("after the merge GET %s: %d %q", k.path, r.status, r.body)
		}
	}

	exported := filepath.Join(dir, "export.json")
	cp(nil, "apigateway", "get-export", "--rest-api-id", rest.Id, "--stage-name", "test", "--export-type", "oas30", exported)
	var doc struct {
		Openapi string
		Info    struct{ Title string }
		Paths   map[string]any
	}
	b, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Info.Title != "pets" || len(doc.Paths) != 3 {
		t.Fatalf("get-export wrote (%v):\n%s", err, b)
	}
	var again struct{ Id string }
	cp(&again, "apigateway", "import-rest-api", "--body", "fileb://"+exported)
	cp(nil, "apigateway", "create-deployment", "--rest-api-id", again.Id, "--stage-name", "v1")
	if r := c.get(t, again.Id, "/v1/more"); r.status != 200 || r.body != `{"more": true}` {
		t.Fatalf("the re-imported export: %d %q", r.status, r.body)
	}

	swagger := filepath.Join(dir, "swagger.yaml")
	cp(nil, "apigateway", "get-export", "--rest-api-id", rest.Id, "--stage-name", "test", "--export-type", "swagger", "--accepts", "application/yaml", swagger)
	if b, err := os.ReadFile(swagger); err != nil || !strings.Contains(string(b), "swagger: \"2.0\"") || !strings.Contains(string(b), "basePath: /test") {
		t.Fatalf("get-export swagger wrote (%v):\n%s", err, b)
	}
	var fromSwagger struct{ Id string }
	cp(&fromSwagger, "apigateway", "import-rest-api", "--body", "fileb://"+swagger)
	cp(nil, "apigateway", "create-deployment", "--rest-api-id", fromSwagger.Id, "--stage-name", "s")
	if r := c.get(t, fromSwagger.Id, "/s/ping"); r.status != 200 || r.body != `{"pong": true}` {
		t.Fatalf("the re-imported Swagger export: %d %q", r.status, r.body)
	}

	var list struct{ Items []struct{ Id, Name string } }
	cp(&list, "apigateway", "get-rest-apis")
	if len(list.Items) != 3 {
		t.Fatalf("get-rest-apis: %+v", list.Items)
	}
	cp(nil, "apigateway", "delete-rest-api", "--rest-api-id", again.Id)
	if out, err := awsCLI(t, cli, c.admin, cpSecret, nil, "apigateway", "get-rest-api", "--rest-api-id", again.Id); err == nil || !strings.Contains(out, "NotFoundException") {
		t.Fatalf("get-rest-api of a deleted API: %v\n%s", err, out)
	}

	c = c.restart(t)
	if r := c.get(t, rest.Id, "/test/more"); r.status != 200 || r.body != `{"more": true}` {
		t.Fatalf("the REST API after a restart: %d %q", r.status, r.body)
	}
	var got struct{ Id, Name string }
	mustCLI(t, cli, c.admin, &got, "apigateway", "get-rest-api", "--rest-api-id", rest.Id)
	if got.Name != "pets" {
		t.Fatalf("get-rest-api after a restart: %+v", got)
	}
}
