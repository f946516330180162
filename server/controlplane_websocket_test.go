package server

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// wsAsk sends msg on conn and returns the message that comes back.
func wsAsk(t *testing.T, conn *websocket.Conn, msg string) string {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, got, err := conn.ReadMessage()
	if err != nil {
		t.Fatalf("after %s: %v", msg, err)
	}
	return string(got)
}

func TestAWSCLIBuildsAWebSocketMockAndHTTPIntegrationWithTemplates(t *testing.T) {
	cli := testdeps.Require(t, "aws")
	c := startControlPlane(t, t.TempDir(), cpConfig)
	up := startBodyLog(t)
	cp := func(out any, args ...string) { t.Helper(); mustCLI(t, cli, c.admin, out, args...) }

	var api struct{ ApiId string }
	cp(&api, "apigatewayv2", "create-api", "--name", "templated", "--protocol-type", "WEBSOCKET", "--route-selection-expression", "$request.body.action")
	id := api.ApiId

	// AWS's usual WebSocket mock: the request template gives the status,
	// the integration response's template the message.
	var mock struct {
		IntegrationId, TemplateSelectionExpression, PassthroughBehavior string
		RequestTemplates                                                map[string]string
	}
	cp(&mock, "apigatewayv2", "create-integration", "--api-id", id, "--integration-type", "MOCK",
		"--template-selection-expression", "$request.body.kind",
		"--request-templates", `{"$default": "{\"statusCode\": 200}", "missing": "{\"statusCode\": 404}"}`)
	if mock.TemplateSelectionExpression != "$request.body.kind" || mock.PassthroughBehavior != "WHEN_NO_MATCH" || mock.RequestTemplates["missing"] != `{"statusCode": 404}` {
		t.Fatalf("create-integration answered %+v", mock)
	}
	var ok struct {
		IntegrationResponseId, IntegrationResponseKey string
		ResponseTemplates                             map[string]string
	}
	cp(&ok, "apigatewayv2", "create-integration-response", "--api-id", id, "--integration-id", mock.IntegrationId,
		"--integration-response-key", "$default", "--template-selection-expression", `\$default`,
		"--response-templates", `{"$default": "{\"route\": \"$context.routeKey\", \"event\": \"$context.eventType\"}"}`)
	if ok.IntegrationResponseKey != "$default" || len(ok.IntegrationResponseId) != 6 || !strings.Contains(ok.ResponseTemplates["$default"], "$context.routeKey") {
		t.Fatalf("create-integration-response answered %+v", ok)
	}
	cp(nil, "apigatewayv2", "create-integration-response", "--api-id", id, "--integration-id", mock.IntegrationId,
		"--integration-response-key", `/4\d\d/`, "--response-templates", `{"$default": "{\"error\": \"no such thing\"}"}`)

	// A non-proxy HTTP integration: the upstream gets the template's output.
	var httpIn struct{ IntegrationId string }
	cp(&httpIn, "apigatewayv2", "create-integration", "--api-id", id, "--integration-type", "HTTP",
		"--integration-method", "POST", "--integration-uri", "http://"+up.addr+"/store",
		"--request-templates", `{"$default": "{\"say\": $input.json('$.text'), \"route\": \"$context.routeKey\"}", "unused": "{}"}`)

	var def, send struct{ RouteId string }
	cp(&def, "apigatewayv2", "create-route", "--api-id", id, "--route-key", "$default", "--target", "integrations/"+mock.IntegrationId)
	cp(&send, "apigatewayv2", "create-route", "--api-id", id, "--route-key", "send", "--target", "integrations/"+httpIn.IntegrationId)
	var rr struct{ RouteResponseId string }
	cp(&rr, "apigatewayv2", "create-route-response", "--api-id", id, "--route-id", def.RouteId, "--route-response-key", "$default")
	c.must(t, "POST", "/v2/apis/"+id+"/routes/"+send.RouteId+"/routeresponses", `{"routeResponseKey":"$default"}`, nil)
	cp(nil, "apigatewayv2", "create-stage", "--api-id", id, "--stage-name", "prod", "--auto-deploy")

	d := websocket.Dialer{NetDial: func(string, string) (net.Conn, error) { return net.Dial("tcp", c.data) }, HandshakeTimeout: 5 * time.Second}
	dial := func() *websocket.Conn {
		t.Helper()
		conn, resp, err := d.Dial("ws://"+id+".execute-api.localhost/prod", nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, resp)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	conn := dial()
	// The upstream answers {"stored": LENGTH OF WHAT IT GOT}.
	sent := `{"say": "to the store", "route": "send"}`
	for _, tc := range []struct{ msg, want string }{
		{`{"action":"hello","text":"hi"}`, `{"route": "$default", "event": "MESSAGE"}`},
		{`{"action":"hello","kind":"missing"}`, `{"error": "no such thing"}`},
		{`{"action":"send","text":"to the store"}`, fmt.Sprintf(`{"stored":%d}`, len(sent))},
	} {
		if got := wsAsk(t, conn, tc.msg); got != tc.want {
			t.Fatalf("%s: got %q, want %q", tc.msg, got, tc.want)
		}
	}
	if got := up.all(); len(got) != 1 || got[0] != sent {
		t.Fatalf("the upstream received %q", got)
	}

	// Updates are served at once by the auto-deploying stage: a template
	// map in update-integration replaces the old one.
	cp(nil, "apigatewayv2", "update-integration", "--api-id", id, "--integration-id", httpIn.IntegrationId,
		"--request-templates", `{"$default": "{\"v2\": $input.json('$.text')}"}`)
	cp(nil, "apigatewayv2", "update-integration-response", "--api-id", id, "--integration-id", mock.IntegrationId,
		"--integration-response-id", ok.IntegrationResponseId, "--response-templates", `{"$default": "pong $context.routeKey"}`)
	var upd struct{ RouteResponseKey, ModelSelectionExpression string }
	cp(&upd, "apigatewayv2", "update-route-response", "--api-id", id, "--route-id", def.RouteId,
		"--route-response-id", rr.RouteResponseId, "--model-selection-expression", "$default")
	if upd.RouteResponseKey != "$default" || upd.ModelSelectionExpression != "$default" {
		t.Fatalf("update-route-response answered %+v", upd)
	}
	// A change replaces the API, which closes its connections (1001).
	conn = dial()
	if got := wsAsk(t, conn, `{"action":"hello"}`); got != "pong $default" {
		t.Fatalf("after update-integration-response: %q", got)
	}
	if got := wsAsk(t, conn, `{"action":"send","text":"again"}`); got != fmt.Sprintf(`{"stored":%d}`, len(`{"v2": "again"}`)) {
		t.Fatalf("after update-integration: %q", got)
	}
	if got := up.all(); len(got) != 2 || got[1] != `{"v2": "again"}` {
		t.Fatalf("after update-integration the upstream received %q", got)
	}

	// Listing and deleting; a deleted response is gone from the data
	// plane too: the 404 now takes the $default response.
	var list struct {
		Items []struct{ IntegrationResponseId, IntegrationResponseKey string }
	}
	c.must(t, "GET", "/v2/apis/"+id+"/integrations/"+mock.IntegrationId+"/integrationresponses", "", &list)
	if len(list.Items) != 2 {
		t.Fatalf("get-integration-responses: %+v", list)
	}
	for _, it := range list.Items {
		if it.IntegrationResponseKey == `/4\d\d/` {
			c.must(t, "DELETE", "/v2/apis/"+id+"/integrations/"+mock.IntegrationId+"/integrationresponses/"+it.IntegrationResponseId, "", nil)
		}
	}
	conn = dial()
	if got := wsAsk(t, conn, `{"action":"hello","kind":"missing"}`); got != "pong $default" {
		t.Fatalf("after delete-integration-response: %q", got)
	}

	out, err := awsCLI(t, cli, c.admin, cpSecret, nil, "apigatewayv2", "get-integration-response", "--api-id", id,
		"--integration-id", mock.IntegrationId, "--integration-response-id", "zzzzzz")
	if err == nil || !strings.Contains(out, "(NotFoundException)") || !strings.Contains(out, "Invalid IntegrationResponse identifier") {
		t.Fatalf("an unknown integration response id: %v\n%s", err, out)
	}
	var state map[string]any
	c.must(t, "GET", "/v2/apis/"+id+"/integrations/"+httpIn.IntegrationId, "", &state)
	if tmpl, _ := json.Marshal(state["requestTemplates"]); string(tmpl) != `{"$default":"{\"v2\": $input.json('$.text')}"}` {
		t.Fatalf("get-integration after the update: %s", tmpl)
	}
}

func TestWebSocketTemplateCallsRefuseWhatAWSRefusesAndChangeNothing(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig)
	var api struct{ ApiID string }
	c.must(t, "POST", "/v2/apis", `{"name":"ws","protocolType":"WEBSOCKET","routeSelectionExpression":"$request.body.action"}`, &api)
	ints := "/v2/apis/" + api.ApiID + "/integrations"
	var in struct{ IntegrationID string }
	c.must(t, "POST", ints, `{"integrationType":"MOCK","requestTemplates":{"$default":"{\"statusCode\": 200}"}}`, &in)
	var ir struct{ IntegrationResponseID string }
	responses := ints + "/" + in.IntegrationID + "/integrationresponses"
	c.must(t, "POST", responses, `{"integrationResponseKey":"$default","responseTemplates":{"$default":"ok"}}`, &ir)
	before := c.call(t, cpCall{method: "GET", path: ints + "/" + in.IntegrationID})
	var many []string
	for i := range 9 {
		many = append(many, fmt.Sprintf(`"k%d":"%s"`, i, strings.Repeat("x", 30<<10)))
	}

	for _, tc := range []struct {
		name         string
		call         cpCall
		status       int
		errType, msg string
	}{
		{"a key that is neither $default nor /regex/", cpCall{method: "POST", path: responses, body: []byte(`{"integrationResponseKey":"404"}`)}, 400, "BadRequestException", "Invalid integration response key"},
		{"a key whose regex does not compile", cpCall{method: "POST", path: responses, body: []byte(`{"integrationResponseKey":"/4(\\d/"}`)}, 400, "BadRequestException", "Invalid integration response key"},
		{"a second $default response", cpCall{method: "POST", path: responses, body: []byte(`{"integrationResponseKey":"$default"}`)}, 409, "ConflictException", "already exists"},
		{"a response template selection frontdesk cannot evaluate", cpCall{method: "POST", path: responses,
			body: []byte(`{"integrationResponseKey":"/5\\d\\d/","templateSelectionExpression":"$integration.response.statuscode"}`)}, 400, "BadRequestException", "Unsupported TemplateSelectionExpression"},
		{"an unknown passthrough behavior", cpCall{method: "PATCH", path: ints + "/" + in.IntegrationID, body: []byte(`{"passthroughBehavior":"SOMETIMES"}`)}, 400, "BadRequestException", "Invalid PassthroughBehavior"},
		{"a request template that does not parse", cpCall{method: "PATCH", path: ints + "/" + in.IntegrationID, body: []byte(`{"requestTemplates":{"$default":"#if("}}`)}, 400, "BadRequestException", "request_templates"},
		{"a template over 32 KiB", cpCall{method: "PATCH", path: responses + "/" + ir.IntegrationResponseID,
			body: []byte(`{"responseTemplates":{"$default":"` + strings.Repeat("x", 33<<10) + `"}}`)}, 400, "BadRequestException", "at most 32768 bytes"},
		{"more than 256 KiB of templates in an API", cpCall{method: "PATCH", path: ints + "/" + in.IntegrationID,
			body: []byte(`{"requestTemplates":{` + strings.Join(many, ",") + `}}`)}, 400, "BadRequestException", "at most 262144 bytes in all"},
		{"an unknown integration response id", cpCall{method: "DELETE", path: responses + "/zzzzzz"}, 404, "NotFoundException", "Invalid IntegrationResponse identifier"},
		{"an unknown route response id", cpCall{method: "PATCH", path: "/v2/apis/" + api.ApiID + "/routes/zzzzzzz/routeresponses/zzzzzz", body: []byte(`{}`)}, 404, "NotFoundException", "Invalid Route identifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.call(t, tc.call)
			var msg struct{ Message string }
			_ = json.Unmarshal(a.body, &msg)
			if a.status != tc.status || a.errType != tc.errType || !strings.Contains(msg.Message, tc.msg) {
				t.Fatalf("answered %d %s %q; want %d %s containing %q", a.status, a.errType, msg.Message, tc.status, tc.errType, tc.msg)
			}
			if after := c.call(t, cpCall{method: "GET", path: ints + "/" + in.IntegrationID}); string(after.body) != string(before.body) {
				t.Fatalf("the integration changed:\n%s\nwas\n%s", after.body, before.body)
			}
		})
	}
}

func TestFileWebSocketIntegrationsListTheirTemplatesAndResponsesReadOnly(t *testing.T) {
	c := startControlPlane(t, t.TempDir(), cpConfig+`
  wsfile:
    type: websocket
    route_selection: "$request.body.action"
    integrations:
      ping:
        type: mock
        request_templates: {$default: '{"statusCode": 200}'}
        responses:
          - selection_pattern: "4\\d\\d"
            response_templates: {$default: 'no'}
          - response_templates: {$default: 'pong'}
    routes:
      ping: {integration: ping, reply: true}
`)
	ints := "/v2/apis/" + config.APIID("wsfile") + "/integrations"
	var list struct {
		Items []struct {
			IntegrationID, IntegrationType, PassthroughBehavior, TemplateSelectionExpression string
			RequestTemplates                                                                 map[string]string
		}
	}
	c.must(t, "GET", ints, "", &list)
	if len(list.Items) != 1 || list.Items[0].IntegrationType != "MOCK" || list.Items[0].RequestTemplates["$default"] != `{"statusCode": 200}` ||
		list.Items[0].PassthroughBehavior != "WHEN_NO_MATCH" || list.Items[0].TemplateSelectionExpression != `\$default` {
		t.Fatalf("get-integrations: %+v", list)
	}
	responses := ints + "/" + list.Items[0].IntegrationID + "/integrationresponses"
	var irs struct {
		Items []struct {
			IntegrationResponseID, IntegrationResponseKey string
			ResponseTemplates                             map[string]string
		}
	}
	c.must(t, "GET", responses, "", &irs)
	keys := map[string]string{}
	for _, it := range irs.Items {
		keys[it.IntegrationResponseKey] = it.ResponseTemplates["$default"]
	}
	if len(keys) != 2 || keys["$default"] != "pong" || keys[`/4\d\d/`] != "no" {
		t.Fatalf("get-integration-responses: %+v", irs)
	}
	a := c.call(t, cpCall{method: "DELETE", path: responses + "/" + irs.Items[0].IntegrationResponseID})
	if a.status != 400 || a.errType != "BadRequestException" || !strings.Contains(string(a.body), "read-only") {
		t.Fatalf("deleting a file API's integration response: %d %s %s", a.status, a.errType, a.body)
	}
}
