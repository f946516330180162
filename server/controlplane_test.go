package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
	"github.com/valyala/fasthttp"
)

// The control plane's test credentials.
const (
	cpKeyID  = "AKIDFRONTDESKTEST01"
	cpSecret = "frontdesk-test-secret-0123456789"
)

// cpConfig has one file API whose route needs an API key, and the
// control plane's credentials from the environment.
const cpConfig = `
admin:
  credentials:
    - access_key_id: "${CP_TEST_KEY_ID}"
      secret_access_key: "${CP_TEST_SECRET}"
apis:
  keyed:
    integrations: {m: {type: mock, body: metered}}
    routes:
      "GET /metered": {integration: m, api_key: true}
`

// cpServer is a frontdesk serving a config file with its control plane.
type cpServer struct {
	data, admin, dir, file string
	srv                    *Server
}

// startControlPlane writes src to a config file in dir and serves it, on
// ports the OS picks, until the test ends.
func startControlPlane(t *testing.T, dir, src string) *cpServer {
	t.Helper()
	t.Setenv("CP_TEST_KEY_ID", cpKeyID)
	t.Setenv("CP_TEST_SECRET", cpSecret)
	file := filepath.Join(dir, "frontdesk.yaml")
	if _, err := os.Stat(file); err != nil {
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _, err := config.Load(file)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Admin.Listen = "127.0.0.1:0"
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	s.UseAdminListener(aln)
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.http.Shutdown(); s.admin.Shutdown() })
	return &cpServer{data: ln.Addr().String(), admin: aln.Addr().String(), dir: dir, file: file, srv: s}
}

// awsCLI runs the AWS CLI against the control plane with only the test's
// AWS settings (none from the machine's profile) and decodes its JSON
// output into out (when not nil).
func awsCLI(t *testing.T, cli, endpoint, secret string, out any, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cli, append([]string{"--endpoint-url", "http://" + endpoint, "--output", "json"}, args...)...)
	cmd.Env = awsEnv(secret)
	b, err := cmd.CombinedOutput()
	if err == nil && out != nil {
		if jerr := json.Unmarshal(b, out); jerr != nil {
			t.Fatalf("aws %s: output is not JSON: %v\n%s", strings.Join(args, " "), jerr, b)
		}
	}
	return string(b), err
}

func awsEnv(secret string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, "AWS_ACCESS_KEY_ID="+cpKeyID, "AWS_SECRET_ACCESS_KEY="+secret, "AWS_DEFAULT_REGION=eu-west-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1", "AWS_PAGER=")
}

// mustCLI is awsCLI that fails the test when the CLI does.
func mustCLI(t *testing.T, cli, endpoint string, out any, args ...string) {
	t.Helper()
	if b, err := awsCLI(t, cli, endpoint, cpSecret, out, args...); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}

// get sends a GET to the data plane with the Host of the API id.
func (c *cpServer) get(t *testing.T, apiID, path string, headers ...string) result {
	t.Helper()
	return do(t, "GET", "http://"+c.data+path, nil, append([]string{"Host", apiID + ".execute-api.localhost"}, headers...)...)
}

// nameEcho answers every request with its name and the path asked.
func nameEcho(t *testing.T, name string) string {
	return startServer(t, func(ctx *fasthttp.RequestCtx) { fmt.Fprintf(ctx, "%s %s", name, ctx.Path()) })
}

func TestAWSCLIBuildsAndChangesAnHTTPAPILive(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	c := startControlPlane(t, t.TempDir(), cpConfig)
	upA, upB := nameEcho(t, "A"), nameEcho(t, "B")
	cp := func(out any, args ...string) { t.Helper(); mustCLI(t, cli, c.admin, out, args...) }

	var api struct{ ApiId, ApiEndpoint, ProtocolType, CreatedDate string }
	cp(&api, "apigatewayv2", "create-api", "--name", "demo", "--protocol-type", "HTTP")
	if len(api.ApiId) != 10 || !strings.Contains(api.ApiEndpoint, api.ApiId+".execute-api.localhost") || api.CreatedDate == "" {
		t.Fatalf("create-api answered %+v", api)
	}
	var inA, inB struct{ IntegrationId string }
	cp(&inA, "apigatewayv2", "create-integration", "--api-id", api.ApiId, "--integration-type", "HTTP_PROXY",
		"--integration-method", "GET", "--integration-uri", "http://"+upA+"/hello", "--payload-format-version", "1.0")
	cp(&inB, "apigatewayv2", "create-integration", "--api-id", api.ApiId, "--integration-type", "HTTP_PROXY",
		"--integration-method", "GET", "--integration-uri", "http://"+upB+"/hello", "--payload-format-version", "1.0")
	var route struct{ RouteId, RouteKey, Target string }
	cp(&route, "apigatewayv2", "create-route", "--api-id", api.ApiId, "--route-key", "GET /hello", "--target", "integrations/"+inA.IntegrationId)
	if route.RouteKey != "GET /hello" || route.Target != "integrations/"+inA.IntegrationId {
		t.Fatalf("create-route answered %+v", route)
	}
	if r := c.get(t, api.ApiId, "/prod/hello"); r.status != 404 {
		t.Fatalf("before a stage exists: %d %s", r.status, r.body)
	}
	var stage struct {
		StageName  string
		AutoDeploy bool
	}
	cp(&stage, "apigatewayv2", "create-stage", "--api-id", api.ApiId, "--stage-name", "prod", "--auto-deploy")
	if !stage.AutoDeploy {
		t.Fatalf("create-stage answered %+v", stage)
	}
	if r := c.get(t, api.ApiId, "/prod/hello"); r.status != 200 || r.body != "A /hello" {
		t.Fatalf("through the data plane: %d %q", r.status, r.body)
	}

	cp(nil, "apigatewayv2", "update-route", "--api-id", api.ApiId, "--route-id", route.RouteId, "--target", "integrations/"+inB.IntegrationId)
	if r := c.get(t, api.ApiId, "/prod/hello"); r.status != 200 || r.body != "B /hello" {
		t.Fatalf("after update-route: %d %q", r.status, r.body)
	}

	var listed struct {
		Items []struct {
			ApiId, Name       string
			ApiGatewayManaged bool
		}
	}
	cp(&listed, "apigatewayv2", "get-apis")
	names := map[string]bool{}
	for _, a := range listed.Items {
		names[a.Name] = a.ApiGatewayManaged
	}
	if managed, ok := names["keyed"]; !ok || !managed || len(listed.Items) != 2 {
		t.Fatalf("get-apis lists %+v; want demo and the file's keyed (read-only)", listed.Items)
	}
	out, err := awsCLI(t, cli, c.admin, cpSecret, nil, "apigatewayv2", "delete-api", "--api-id", config.APIID("keyed"))
	if err == nil || !strings.Contains(out, "BadRequestException") || !strings.Contains(out, "config file") {
		t.Fatalf("delete-api of a file API: err=%v\n%s", err, out)
	}

	exported := filepath.Join(t.TempDir(), "demo.json")
	cp(nil, "apigatewayv2", "export-api", "--api-id", api.ApiId, "--output-type", "JSON", "--specification", "OAS30", exported)
	var spec struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			Integration struct{ URI string } `json:"x-amazon-apigateway-integration"`
		}
	}
	if b, err := os.ReadFile(exported); err != nil || json.Unmarshal(b, &spec) != nil ||
		spec.OpenAPI != "3.0.1" || spec.Paths["/hello"]["get"].Integration.URI != "http://"+upB+"/hello" {
		t.Fatalf("export-api wrote %+v (%v)", spec, err)
	}

	out, err = awsCLI(t, cli, c.admin, cpSecret, nil, "apigatewayv2", "get-api", "--api-id", "zzzzzzzzzz")
	if err == nil || !strings.Contains(out, "(NotFoundException) when calling the GetApi operation") {
		t.Fatalf("get-api of an unknown id: err=%v\n%s", err, out)
	}
	out, err = awsCLI(t, cli, c.admin, "not-the-secret", nil, "apigatewayv2", "get-apis")
	if err == nil || !strings.Contains(out, "InvalidSignatureException") {
		t.Fatalf("a wrong secret: err=%v\n%s", err, out)
	}

	cp(nil, "apigatewayv2", "delete-route", "--api-id", api.ApiId, "--route-id", route.RouteId)
	if r := c.get(t, api.ApiId, "/prod/hello"); r.status != 404 || strings.TrimSpace(r.body) != `{"message":"Not Found"}` {
		t.Fatalf("after delete-route: %d %q", r.status, r.body)
	}
}

func TestAWSCLIBuildsAWebSocketAPIThatRoutesDefault(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	c := startControlPlane(t, t.TempDir(), cpConfig)
	be := startEventLog(t)
	cp := func(out any, args ...string) { t.Helper(); mustCLI(t, cli, c.admin, out, args...) }

	var api struct{ ApiId, ApiEndpoint string }
	cp(&api, "apigatewayv2", "create-api", "--name", "chat", "--protocol-type", "WEBSOCKET", "--route-selection-expression", "$request.body.action")
	if !strings.HasPrefix(api.ApiEndpoint, "ws://"+api.ApiId+".execute-api.localhost:") {
		t.Fatalf("create-api answered %+v", api)
	}
	var in struct{ IntegrationId string }
	cp(&in, "apigatewayv2", "create-integration", "--api-id", api.ApiId, "--integration-type", "HTTP_PROXY",
		"--integration-method", "POST", "--integration-uri", "http://"+be.addr+"/events")
	var route struct{ RouteId string }
	cp(&route, "apigatewayv2", "create-route", "--api-id", api.ApiId, "--route-key", "$default", "--target", "integrations/"+in.IntegrationId)
	cp(nil, "apigatewayv2", "create-route-response", "--api-id", api.ApiId, "--route-id", route.RouteId, "--route-response-key", "$default")
	cp(nil, "apigatewayv2", "create-stage", "--api-id", api.ApiId, "--stage-name", "prod", "--auto-deploy")

	d := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return net.Dial("tcp", c.data) }, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial("ws://"+api.ApiId+".execute-api.localhost/prod", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"action":"nothing-routes-this","text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil || string(msg) != "echo:true" {
		t.Fatalf("reply %q, %v", msg, err)
	}
	if keys := be.routeKeys(); len(keys) != 1 || keys[0] != "$default" {
		t.Fatalf("backend saw route keys %v", keys)
	}
}

func TestAWSCLIManagesAPIKeysAndUsagePlansThatTheDataPlaneEnforces(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	c := startControlPlane(t, t.TempDir(), cpConfig)
	cp := func(out any, args ...string) { t.Helper(); mustCLI(t, cli, c.admin, out, args...) }
	const value = "cli-made-key-0123456789abcdef"
	metered := func(key string) int {
		t.Helper()
		return do(t, "GET", "http://"+c.data+"/metered", nil, "x-api-key", key).status
	}
	if s := metered(value); s != 403 {
		t.Fatalf("before the key exists: %d", s)
	}

	var key struct {
		Id, Value string
		Enabled   bool
	}
	cp(&key, "apigateway", "create-api-key", "--name", "ci-key", "--value", value, "--enabled")
	if len(key.Id) != 10 || key.Value != value || !key.Enabled {
		t.Fatalf("create-api-key answered %+v", key)
	}
	var plan struct{ Id string }
	cp(&plan, "apigateway", "create-usage-plan", "--name", "basic", "--api-stages", "apiId="+config.APIID("keyed")+",stage=$default",
		"--throttle", "burstLimit=10,rateLimit=5", "--quota", "limit=100,period=DAY")
	cp(nil, "apigateway", "create-usage-plan-key", "--usage-plan-id", plan.Id, "--key-id", key.Id, "--key-type", "API_KEY")

	for i := 0; i < 3; i++ {
		if s := metered(value); s != 200 {
			t.Fatalf("request %d with the key: %d", i, s)
		}
	}
	today := time.Now().UTC().Format("2006-01-02")
	var usage struct {
		UsagePlanId string
		Items       map[string][][]int64
	}
	cp(&usage, "apigateway", "get-usage", "--usage-plan-id", plan.Id, "--start-date", today, "--end-date", today)
	if u := usage.Items[key.Id]; len(u) != 1 || u[0][0] != 3 || u[0][1] != 97 {
		t.Fatalf("get-usage answered %+v", usage)
	}

	cp(nil, "apigateway", "update-api-key", "--api-key", key.Id, "--patch-operations", "op=replace,path=/enabled,value=false")
	if s := metered(value); s != 403 {
		t.Fatalf("with the key disabled: %d", s)
	}
	var keys struct{ Items []struct{ Id, Name string } }
	cp(&keys, "apigateway", "get-api-keys")
	if len(keys.Items) != 1 || keys.Items[0].Id != key.Id {
		t.Fatalf("get-api-keys answered %+v", keys)
	}
}

func TestBoto3BuildsAndChangesAPIsKeysAndPlans(t *testing.T) {
	// boto3 may come from pip (the python3 on PATH) or from Debian's
	// python3-boto3 (the system's python3, which .ci/run installs it for).
	python := ""
	for _, p := range []string{testdeps.Require(t, "python3"), "/usr/bin/python3"} {
		if out, err := exec.Command(p, "-c", "import boto3").CombinedOutput(); err == nil {
			python = p
			break
		} else {
			t.Logf("%s: import boto3: %v\n%s", p, err, out)
		}
	}
	if python == "" {
		testdeps.Missing(t, "python3-boto3")
	}
	c := startControlPlane(t, t.TempDir(), cpConfig)
	be := startEventLog(t)
	script, err := filepath.Abs("testdata/controlplane_boto3.py")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, script)
	cmd.Env = append(awsEnv(cpSecret), "CP_ENDPOINT="+c.admin, "DATA="+c.data, "UP_A="+nameEcho(t, "A"), "UP_B="+nameEcho(t, "B"),
		"WS_BACKEND="+be.addr, "KEYED_API_ID="+config.APIID("keyed"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the boto3 script failed: %v\n%s", err, stderr.String())
	}
	var res struct{ WsApiId string }
	if err := json.Unmarshal(out, &res); err != nil || res.WsApiId == "" {
		t.Fatalf("script output %q: %v", out, err)
	}
	d := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return net.Dial("tcp", c.data) }, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("ws://"+res.WsApiId+".execute-api.localhost/prod", nil)
	if err != nil {
		t.Fatalf("dial the WebSocket API boto3 built: %v", err)
	}
	defer conn.Close()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"action":"any"}`)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != "echo:true" {
		t.Fatalf("reply %q, %v", msg, err)
	}
}
