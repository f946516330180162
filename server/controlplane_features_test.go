package server

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/valyala/fasthttp"
)

// fakeLambda answers the Lambda Invoke API for any function with an HTTP
// API proxy result naming the function.
func fakeLambda(t *testing.T) string {
	return startServer(t, func(ctx *fasthttp.RequestCtx) {
		name := strings.TrimSuffix(strings.TrimPrefix(string(ctx.Path()), "/2015-03-31/functions/"), "/invocations")
		fmt.Fprintf(ctx, `{"statusCode":200,"body":"from lambda %s"}`, name)
	})
}

// cpFeaturesConfig has a function the control plane's integrations and
// authorizers may name.
const cpFeaturesConfig = cpConfig + `
functions:
  hello: {invoke_url: "http://%s", function_name: hello}
`

func TestCreatedAPIsServeLambdaAuthorizersThrottlesAndCORS(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), fmt.Sprintf(cpFeaturesConfig, fakeLambda(t)))
	up := nameEcho(t, "up")
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"features","protocolType":"HTTP","corsConfiguration":{"allowOrigins":["https://app.example"],"allowMethods":["GET"]}}`, &api)
	base := "/v2/apis/" + api.ApiID
	var fn, web struct{ IntegrationID string }
	c.must(t, "POST", base+"/integrations", `{"integrationType":"AWS_PROXY","integrationUri":"arn:aws:lambda:eu-west-1:123456789012:function:hello","payloadFormatVersion":"2.0"}`, &fn)
	c.must(t, "POST", base+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+up+`/open","integrationMethod":"GET"}`, &web)
	var jwt struct{ AuthorizerID string }
	c.must(t, "POST", base+"/authorizers", `{"name":"jwt","authorizerType":"JWT","identitySource":["$request.header.Authorization"],"jwtConfiguration":{"issuer":"http://`+up+`","audience":["api"]}}`, &jwt)
	c.must(t, "POST", base+"/routes", `{"routeKey":"GET /fn","target":"integrations/`+fn.IntegrationID+`"}`, nil)
	c.must(t, "POST", base+"/routes", `{"routeKey":"GET /open","target":"integrations/`+web.IntegrationID+`"}`, nil)
	c.must(t, "POST", base+"/routes", `{"routeKey":"GET /private","target":"integrations/`+web.IntegrationID+`","authorizationType":"JWT","authorizerId":"`+jwt.AuthorizerID+`"}`, nil)
	c.must(t, "POST", base+"/stages", `{"stageName":"$default","autoDeploy":true,"defaultRouteSettings":{"throttlingBurstLimit":2,"throttlingRateLimit":0.001}}`, nil)

	t.Run("AWS_PROXY by Lambda ARN reaches the functions entry", func(t *testing.T) {
		if r := c.get(t, api.ApiID, "/fn"); r.status != 200 || r.body != "from lambda hello" {
			t.Fatalf("%d %q", r.status, r.body)
		}
	})
	t.Run("a JWT route refuses a request without a token", func(t *testing.T) {
		if r := c.get(t, api.ApiID, "/private"); r.status != 401 {
			t.Fatalf("%d %q", r.status, r.body)
		}
	})
	t.Run("CORS preflights are answered from corsConfiguration", func(t *testing.T) {
		r := do(t, "OPTIONS", "http://"+c.data+"/open", nil, "Host", api.ApiID+".execute-api.localhost",
			"Origin", "https://app.example", "Access-Control-Request-Method", "GET")
		if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Fatalf("%d, Access-Control-Allow-Origin %q", r.status, got)
		}
	})
	t.Run("defaultRouteSettings throttle the stage", func(t *testing.T) {
		statuses := map[int]int{}
		for i := 0; i < 5; i++ {
			statuses[c.get(t, api.ApiID, "/open").status]++
		}
		if statuses[429] == 0 || statuses[200] == 0 {
			t.Fatalf("statuses %v; want 200s up to the burst, then 429", statuses)
		}
	})
}

func TestAReloadOfTheFileKeepsServingCreatedAPIs(t *testing.T) {
	dir := t.TempDir()
	c := startControlPlane(t, dir, cpConfig)
	up := nameEcho(t, "up")
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"kept","protocolType":"HTTP"}`, &api)
	var in struct{ IntegrationID string }
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+up+`/k","integrationMethod":"GET"}`, &in)
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/routes", `{"routeKey":"GET /k","target":"integrations/`+in.IntegrationID+`"}`, nil)
	c.must(t, "POST", "/v2/apis/"+api.ApiID+"/stages", `{"stageName":"$default","autoDeploy":true}`, nil)

	changed := cpConfig + "  added:\n    base_path: /added\n    integrations: {m: {type: mock, body: added}}\n    routes: {\"GET /x\": {integration: m}}\n"
	if err := os.WriteFile(filepath.Join(dir, "frontdesk.yaml"), []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.srv.Reload(); err != nil {
		t.Fatal(err)
	}
	if r := do(t, "GET", "http://"+c.data+"/added/x", nil); r.body != "added" {
		t.Fatalf("the reloaded file's new API: %d %q", r.status, r.body)
	}
	if r := c.get(t, api.ApiID, "/k"); r.status != 200 || r.body != "up /k" {
		t.Fatalf("the created API after the reload: %d %q", r.status, r.body)
	}
}

func TestQuickCreateServesTheTargetAtOnce(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), fmt.Sprintf(cpFeaturesConfig, fakeLambda(t)))
	up := nameEcho(t, "up")
	for _, tc := range []struct{ name, target, path, want string }{
		{"a URL", "http://" + up + "/quick", "/anything", "up /quick"},
		{"a Lambda ARN", "arn:aws:lambda:eu-west-1:123456789012:function:hello", "/x", "from lambda hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var api struct{ ApiID string }
			c.must(t, "POST", "/v2/apis", `{"name":"quick","protocolType":"HTTP","target":"`+tc.target+`"}`, &api)
			if r := c.get(t, api.ApiID, tc.path); r.status != 200 || r.body != tc.want {
				t.Fatalf("%d %q", r.status, r.body)
			}
		})
	}
}

func TestFileAPIsPartsAreListedReadOnly(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	var routes struct {
		Items []struct {
			RouteKey, Target  string
			APIKeyRequired    bool
			APIGatewayManaged bool
		}
	}
	c.must(t, "GET", "/v2/apis/"+config.APIID("keyed")+"/routes", "", &routes)
	if len(routes.Items) != 1 || routes.Items[0].RouteKey != "GET /metered" || !routes.Items[0].APIKeyRequired || !routes.Items[0].APIGatewayManaged {
		t.Fatalf("routes of the file API: %+v", routes.Items)
	}
	var ints struct {
		Items []struct{ IntegrationID, IntegrationType string }
	}
	c.must(t, "GET", "/v2/apis/"+config.APIID("keyed")+"/integrations", "", &ints)
	if len(ints.Items) != 1 || ints.Items[0].IntegrationType != "MOCK" || routes.Items[0].Target != "integrations/"+ints.Items[0].IntegrationID {
		t.Fatalf("integrations of the file API: %+v", ints.Items)
	}
	var stages struct{ Items []struct{ StageName string } }
	c.must(t, "GET", "/v2/apis/"+config.APIID("keyed")+"/stages", "", &stages)
	if len(stages.Items) != 1 || stages.Items[0].StageName != "$default" {
		t.Fatalf("stages of the file API: %+v", stages.Items)
	}
	a := c.call(t, cpCall{method: "GET", path: "/v2/apis/" + config.APIID("keyed") + "/exports/OAS30?outputType=YAML"})
	if a.status != 200 || !strings.Contains(string(a.body), "/metered:") || !strings.Contains(string(a.body), "type: mock") {
		t.Fatalf("export of the file API: %d\n%s", a.status, a.body)
	}
	a = c.call(t, cpCall{method: "DELETE", path: "/v2/apis/" + config.APIID("keyed") + "/stages/$default"})
	if a.status != 400 || a.errType != "BadRequestException" {
		t.Fatalf("deleting a file API's stage: %d %s %s", a.status, a.errType, a.body)
	}
}

func TestEffectiveConfigMasksControlPlaneSecrets(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	r := do(t, "GET", "http://"+c.admin+"/config", nil)
	if r.status != 200 || strings.Contains(r.body, cpSecret) || !strings.Contains(r.body, cpSecret[:4]+"****") {
		t.Fatalf("/config: %d\n%s", r.status, r.body)
	}
}

func TestCreatedAPIsAreServedWithTheAdminListenerOff(t *testing.T) {
	dir := t.TempDir()
	c := startControlPlane(t, dir, cpConfig)
	up := nameEcho(t, "up")
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"quiet","protocolType":"HTTP","target":"http://`+up+`/q"}`, &api)

	cfg, _, err := config.Load(c.file)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Admin.Listen = ""
	s, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.http.Shutdown() })
	r := do(t, "GET", "http://"+ln.Addr().String()+"/x", nil, "Host", api.ApiID+".execute-api.localhost")
	if r.status != 200 || r.body != "up /q" {
		t.Fatalf("%d %q", r.status, r.body)
	}
}

func TestWithoutAutoDeployChangesWaitForCreateDeployment(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	upA, upB := nameEcho(t, "A"), nameEcho(t, "B")
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"manual","protocolType":"HTTP"}`, &api)
	base := "/v2/apis/" + api.ApiID
	var a, b struct{ IntegrationID string }
	c.must(t, "POST", base+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+upA+`/m","integrationMethod":"GET"}`, &a)
	c.must(t, "POST", base+"/integrations", `{"integrationType":"HTTP_PROXY","integrationUri":"http://`+upB+`/m","integrationMethod":"GET"}`, &b)
	var route struct{ RouteID string }
	c.must(t, "POST", base+"/routes", `{"routeKey":"GET /m","target":"integrations/`+a.IntegrationID+`"}`, &route)
	c.must(t, "POST", base+"/stages", `{"stageName":"prod"}`, nil)
	if r := c.get(t, api.ApiID, "/prod/m"); r.status != 404 {
		t.Fatalf("before a deployment: %d %q", r.status, r.body)
	}
	var dep struct{ DeploymentID string }
	c.must(t, "POST", base+"/deployments", `{"stageName":"prod","description":"first"}`, &dep)
	if r := c.get(t, api.ApiID, "/prod/m"); r.body != "A /m" {
		t.Fatalf("after create-deployment: %d %q", r.status, r.body)
	}
	var stage struct{ DeploymentID string }
	c.must(t, "GET", base+"/stages/prod", "", &stage)
	if stage.DeploymentID != dep.DeploymentID {
		t.Fatalf("the stage points at %q, want the new deployment %q", stage.DeploymentID, dep.DeploymentID)
	}
	c.must(t, "PATCH", base+"/routes/"+route.RouteID, `{"target":"integrations/`+b.IntegrationID+`"}`, nil)
	if r := c.get(t, api.ApiID, "/prod/m"); r.body != "A /m" {
		t.Fatalf("an undeployed change is served: %d %q", r.status, r.body)
	}
	c.must(t, "POST", base+"/deployments", `{"stageName":"prod"}`, nil)
	if r := c.get(t, api.ApiID, "/prod/m"); r.body != "B /m" {
		t.Fatalf("after the second deployment: %d %q", r.status, r.body)
	}
}
