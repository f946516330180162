package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const testdata = "../../importer/testdata/"

// run runs the binary and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestImportPrintsAConfigThatValidates(t *testing.T) {
	for _, f := range []string{"petstore-rest.yaml", "http-api.yaml", "swagger-petstore.json", "sam-hello-python.yaml",
		"sam-hello-node.yaml", "sam-hello-go.yaml", "sam-websocket-chat.yaml", "sam-two-apis.yaml", "sam-rest-auth.yaml", "sam-definitions.yaml", "cfn-rest.yaml",
		"rest-transform.yaml", "http-api-mapping.yaml", "sam-rest-validate.yaml"} {
		t.Run(f, func(t *testing.T) {
			code, out, stderr := runBinary(t, "import", testdata+f, "--functions", testdata+"functions.yaml")
			if code != 0 {
				t.Fatalf("import exit %d:\n%s", code, stderr)
			}
			path := filepath.Join(t.TempDir(), "frontdesk.yaml")
			os.WriteFile(path, []byte(out), 0o600)
			code, vout, verr := runBinary(t, "validate", "-c", path)
			if code != 0 || !strings.Contains(vout, "valid") {
				t.Fatalf("validate of the import: exit %d\n%s%s\nconfig:\n%s", code, vout, verr, out)
			}
			// validate takes the source itself too.
			code, vout, verr = runBinary(t, "validate", testdata+f, "--functions", testdata+"functions.yaml")
			if code != 0 || !strings.Contains(vout, "valid") {
				t.Fatalf("validate %s: exit %d\n%s%s", f, code, vout, verr)
			}
		})
	}
}

func TestImportReportsUnsupportedConstructsOnStderr(t *testing.T) {
	code, _, stderr := runBinary(t, "import", testdata+"petstore-rest.yaml", "--functions", testdata+"functions.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"note: " + testdata + "petstore-rest.yaml:46: POST /pets: contentHandling: ignored",
		"note: " + testdata + "petstore-rest.yaml:125: x-amazon-apigateway-endpoint-configuration: ignored",
	} {
		if strings.Count(stderr, want) != 1 {
			t.Errorf("want once %q in:\n%s", want, stderr)
		}
	}
}

func TestImportTakesTheFileAsArgumentOrWithC(t *testing.T) {
	code, byArg, _ := runBinary(t, "import", testdata+"sam-hello-node.yaml")
	code2, byC, _ := runBinary(t, "import", "-c", testdata+"sam-hello-node.yaml")
	if code != 0 || code2 != 0 || byArg != byC || !strings.Contains(byArg, "ServerlessHttpApi") {
		t.Errorf("exit %d and %d; outputs differ or lack the API:\n%s\n%s", code, code2, byArg, byC)
	}
	if code, _, stderr := runBinary(t, "import"); code != 2 || !strings.Contains(stderr, "Usage") {
		t.Errorf("import without a file: exit %d\n%s", code, stderr)
	}
}

func TestImportParameterOverridesAfterTheFile(t *testing.T) {
	code, out, stderr := runBinary(t, "import", testdata+"sam-two-apis.yaml", "--parameter-overrides", "Stage=prod")
	if code != 0 || !strings.Contains(out, "MODE: live") || !strings.Contains(out, "STAGE: prod") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
}

func TestMalformedImportsExitOneWithFileAndLine(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"bad YAML", "openapi: 3.0.1\npaths:\n  /a: [\n", ":3: not YAML or JSON"},
		{"bad JSON", "{\"swagger\": \"2.0\",\n \"paths\": {,}}\n", ":2: not YAML or JSON"},
		{"$ref to nowhere", "openapi: 3.0.1\npaths:\n  /a:\n    $ref: '#/nowhere'\n", `:4: $ref: "#/nowhere" goes nowhere`},
		{"circular $ref", "openapi: 3.0.1\npaths: {}\ncomponents:\n  schemas:\n    A: {$ref: '#/components/schemas/A'}\n", ":5: $ref:"},
		{"unknown intrinsic", "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Handler: !Nope x\n", ":5: unknown intrinsic function Fn::Nope"},
		{"Lambda ARN without mapping", "openapi: 3.0.1\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration:\n        type: aws_proxy\n        uri: arn:aws:lambda:us-east-1:1:function:F\n", `:7: Lambda function "F" has no functions: entry`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, c.src)
			for _, cmd := range [][]string{{"import", path}, {"validate", path}, {"serve", "-c", path, "-listen", "127.0.0.1:0"}} {
				code, _, stderr := runBinary(t, cmd...)
				if code != 1 || !strings.Contains(stderr, path+c.want) {
					t.Errorf("%s: exit %d, want 1 and %q in:\n%s", cmd[0], code, path+c.want, stderr)
				}
				if strings.Contains(stderr, "panic") {
					t.Errorf("%s panicked:\n%s", cmd[0], stderr)
				}
			}
		})
	}
}

func TestExportOpenAPIOfTheQuickstart(t *testing.T) {
	code, out, stderr := runBinary(t, "export", "openapi", "--api", "shop", "-c", "../../examples/quickstart.yaml")
	if code != 0 || !strings.Contains(out, "x-amazon-apigateway-integration") || !strings.Contains(out, "openapi: 3.0.1") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	// The export imports back.
	path := filepath.Join(t.TempDir(), "shop.yaml")
	os.WriteFile(path, []byte(out), 0o600)
	code, vout, verr := runBinary(t, "validate", path)
	if code != 0 {
		t.Fatalf("validate of the export: exit %d\n%s%s", code, vout, verr)
	}
	code, _, stderr = runBinary(t, "export", "openapi", "-c", "../../examples/quickstart.yaml")
	if code != 1 || !strings.Contains(stderr, "--api") {
		t.Errorf("two APIs without --api: exit %d: %s", code, stderr)
	}
	code, out, _ = runBinary(t, "export", "openapi", "--api", "petstore", "--dialect", "rest", "-c", "../../examples/quickstart.yaml")
	if code != 0 || !strings.Contains(out, "x-amazon-apigateway-api-key-source") {
		t.Errorf("--dialect rest: exit %d\n%s", code, out)
	}
}

func TestHelpCoversImportAndExport(t *testing.T) {
	code, out, _ := runBinary(t, "--help")
	if code != 0 || !strings.Contains(out, "import") || !strings.Contains(out, "export") {
		t.Errorf("usage lacks import/export:\n%s", out)
	}
	for _, args := range [][]string{{"import", "--help"}, {"export", "openapi", "--help"}, {"export", "--help"}, {"serve", "--help"}, {"validate", "--help"}} {
		_, _, stderr := runBinary(t, args...)
		for _, want := range []string{"Usage", "-functions", "-parameter-overrides"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: no %q in:\n%s", args, want, stderr)
			}
		}
	}
	_, _, stderr := runBinary(t, "export", "openapi", "--help")
	if !strings.Contains(stderr, "-dialect") || !strings.Contains(stderr, "-api") {
		t.Errorf("export help: %s", stderr)
	}
}

// The REST export of a PetStore, served as it is: mock and http
// integrations, API keys from the HEADER source, a usage plan from the
// overlay, API Gateway's REST error dialect, stage prod from basePath.
func TestServeImportedPetStoreOverTCP(t *testing.T) {
	var seen = make(chan string, 16)
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		select {
		case seen <- string(ctx.Path()):
		default:
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"from":"upstream","path":"` + string(ctx.Path()) + `"}`)
	})
	src, err := os.ReadFile(testdata + "petstore-rest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := filepath.Join(dir, "petstore.yaml")
	os.WriteFile(spec, bytes.ReplaceAll(src, []byte("petstore.example.com"), []byte(up)), 0o600)
	const key = "a-test-api-key-of-24-chars"
	over := filepath.Join(dir, "functions.yaml")
	os.WriteFile(over, []byte(`functions:
  CreatePet: {invoke_url: "http://127.0.0.1:9"}
usage_plans:
  basic: {apis: [PetStore], throttle: {rate: 100, burst: 100}}
api_keys:
  - {name: tester, value: "`+key+`", plan: basic}
`), 0o600)

	addr, logs, _ := serveFile(t, spec, "--functions", over)

	call := caller(t, addr)
	message := func(body string) string {
		var m struct {
			Message string `json:"message"`
		}
		json.Unmarshal([]byte(body), &m)
		return m.Message
	}

	if code, body, h := call("GET", "/prod/ping"); code != 200 || body != `{"pong": true}` || string(h.ContentType()) != "application/json" {
		t.Errorf("mock GET /prod/ping: %d %q %s", code, body, h.ContentType())
	}
	if code, body, _ := call("GET", "/prod/teapot"); code != 418 || !strings.Contains(body, "teapot") {
		t.Errorf("mock GET /prod/teapot: %d %q", code, body)
	}
	if code, _, h := call("OPTIONS", "/prod/pets"); code != 200 || string(h.Peek("Access-Control-Allow-Origin")) != "*" {
		t.Errorf("mock OPTIONS /prod/pets: %d %q", code, h.Peek("Access-Control-Allow-Origin"))
	}
	if code, body, _ := call("GET", "/prod/pets"); code != 403 || message(body) != "Forbidden" {
		t.Errorf("no API key: %d %s, want 403 Forbidden", code, body)
	}
	if code, body, _ := call("GET", "/prod/pets", "x-api-key", "not-the-key-but-long-enough"); code != 403 || message(body) != "Forbidden" {
		t.Errorf("wrong API key: %d %s, want 403 Forbidden", code, body)
	}
	if code, body, _ := call("GET", "/prod/pets", "x-api-key", key); code != 200 || !strings.Contains(body, `"path":"/petstore/pets"`) {
		t.Errorf("http integration: %d %s", code, body)
	}
	if code, body, _ := call("GET", "/prod/pets/42", "x-api-key", key); code != 200 || !strings.Contains(body, `"path":"/petstore/pets/42"`) {
		t.Errorf("http_proxy with requestParameters path mapping: %d %s", code, body)
	}
	// REST dialect: an unknown route is 403 Missing Authentication Token.
	for _, p := range []string{"/prod/nope", "/prod/pets/42/toys"} {
		if code, body, _ := call("GET", p, "x-api-key", key); code != 403 || message(body) != "Missing Authentication Token" {
			t.Errorf("GET %s: %d %s, want 403 Missing Authentication Token", p, code, body)
		}
	}
	if code, body, _ := call("DELETE", "/prod/ping"); code != 403 || message(body) != "Missing Authentication Token" {
		t.Errorf("DELETE /prod/ping: %d %s, want 403 Missing Authentication Token", code, body)
	}
	// The unsupported constructs were logged at start.
	if !strings.Contains(logs.String(), "x-amazon-apigateway-endpoint-configuration") {
		t.Errorf("start-up log lacks the unsupported-construct report:\n%s", logs.String())
	}
}

// A reload reads the OpenAPI file again through the importer, not as a
// frontdesk config (which it is not).
func TestReloadReimportsAnOpenAPIFile(t *testing.T) {
	mockPath := func(p, body string) string {
		return "  " + p + ":\n    get:\n      x-amazon-apigateway-integration:\n        type: mock\n        requestTemplates: {application/json: '{\"statusCode\": 200}'}\n        responses: {default: {statusCode: \"200\", responseTemplates: {application/json: '" + body + "'}}}\n"
	}
	head := "openapi: 3.0.1\ninfo: {title: live}\nservers: [{url: 'https://x.execute-api.us-east-1.amazonaws.com/{basePath}', variables: {basePath: {default: prod}}}]\nx-amazon-apigateway-api-key-source: HEADER\npaths:\n"
	p := startServe(t, head+mockPath("/ping", `{"n":1}`))
	get := func(path string) (int, string) {
		code, body, err := fasthttp.GetTimeout(nil, "http://"+p.addr+path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return code, string(body)
	}
	if code, body := get("/prod/ping"); code != 200 || body != `{"n":1}` {
		t.Fatalf("before reload: %d %s", code, body)
	}
	path := p.cmd.Args[3]
	if err := os.WriteFile(path, []byte(head+mockPath("/ping", `{"n":2}`)+mockPath("/pong", `{"n":3}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/prod/pong")
		if code == 200 && body == `{"n":3}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reload: GET /prod/pong %d %s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := get("/prod/ping"); code != 200 || body != `{"n":2}` {
		t.Errorf("after reload: GET /prod/ping %d %s", code, body)
	}
}
