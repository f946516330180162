package controlplane

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
)

func TestFunctionNameFromLambdaARNsAndURIs(t *testing.T) {
	for _, tc := range []struct{ uri, want string }{
		{"hello", "hello"},
		{"arn:aws:lambda:eu-west-1:123456789012:function:hello", "hello"},
		{"arn:aws:lambda:eu-west-1:123456789012:function:hello:live", "hello"},
		{"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:hello/invocations", "hello"},
	} {
		if got := functionName(tc.uri); got != tc.want {
			t.Errorf("functionName(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

func TestStateFileRoundTripsAndCrashLeftoversAreRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "frontdesk.state.json")
	st := newState()
	st.APIs["abcdefghij"] = &apiRecord{API: API{APIID: "abcdefghij", Name: "x", ProtocolType: "HTTP", CreatedDate: time.Unix(1700000000, 0).UTC()}}
	st.fill()
	if err := saveState(path, st); err != nil {
		t.Fatal(err)
	}
	left := path + ".tmp-123"
	if err := os.WriteFile(left, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.APIs["abcdefghij"]; a == nil || a.API.Name != "x" || !a.API.CreatedDate.Equal(st.APIs["abcdefghij"].API.CreatedDate) {
		t.Fatalf("loaded %+v", got.APIs)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Fatalf("a temporary file a crash left is still there: %v", err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(path); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("a damaged state file loaded: %v", err)
	}
}

func TestExtendServesOnlyDeployedAPIsWithAStage(t *testing.T) {
	st := newState()
	st.APIs["withstage1"] = &apiRecord{API: API{APIID: "withstage1", ProtocolType: "HTTP"},
		Stages:       map[string]*Stage{"prod": {StageName: "prod"}},
		Integrations: map[string]*Integration{"i1": {IntegrationID: "i1", IntegrationType: "HTTP_PROXY", IntegrationURI: "http://127.0.0.1:1/"}},
		Routes:       map[string]*Route{"r1": {RouteID: "r1", RouteKey: "GET /a", Target: "integrations/i1"}, "r2": {RouteID: "r2", RouteKey: "GET /b"}}}
	st.APIs["withstage1"].deploy()
	st.APIs["undeployed"] = &apiRecord{API: API{APIID: "undeployed", ProtocolType: "HTTP"}, Stages: map[string]*Stage{"prod": {StageName: "prod"}}}
	st.APIs["nostage123"] = &apiRecord{API: API{APIID: "nostage123", ProtocolType: "HTTP"}}
	st.APIs["nostage123"].deploy()
	st.fill()
	c := &config.Config{}
	extend(c, st, false, nil)
	a := c.APIs["withstage1"]
	if a == nil || c.APIs["nostage123"] != nil || c.APIs["undeployed"] != nil {
		t.Fatalf("served APIs: %v", c.APIs)
	}
	if len(a.Hosts) != 1 || a.Hosts[0] != "withstage1"+HostSuffix || a.Routes["GET /a"] == nil || a.Routes["GET /b"] != nil {
		t.Fatalf("the API as config: %+v", a)
	}
	extend(c, st, true, nil)
	if c.APIs["nostage123"] == nil || c.APIs["undeployed"] == nil {
		t.Fatal("an API without a stage or a deployment is left out of the check")
	}
}

func TestPagesCoverEveryItemOnce(t *testing.T) {
	items := []string{"e", "a", "d", "b", "c"}
	var seen []string
	token := ""
	for range items {
		pg, next, err := page(items, func(s string) string { return s }, token, "2", 100)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, pg...)
		if token = next; token == "" {
			break
		}
	}
	if strings.Join(seen, "") != "abcde" {
		t.Fatalf("pages gave %v", seen)
	}
	if _, _, err := page(items, func(s string) string { return s }, "!!", "", 100); err == nil {
		t.Fatal("a malformed token was taken")
	}
}

func TestWebSocketIntegrationTemplatesBecomeTheConfigsResponses(t *testing.T) {
	in := &Integration{IntegrationType: "MOCK", PassthroughBehavior: "WHEN_NO_TEMPLATES", TemplateSelectionExpression: "$request.body.kind",
		RequestTemplates: map[string]string{"$default": `{"statusCode": 200}`},
		IntegrationResponses: map[string]*IntegrationResponse{
			"aaaaaa": {IntegrationResponseKey: "$default", ResponseTemplates: map[string]string{"$default": "ok"}},
			"bbbbbb": {IntegrationResponseKey: `/5\d\d/`, ResponseTemplates: map[string]string{"$default": "5xx"}},
			"cccccc": {IntegrationResponseKey: `/4\d\d/`, TemplateSelectionExpression: "short",
				ResponseTemplates: map[string]string{"$default": "long 4xx", "short": "4xx"}},
		}}
	ci := integrationConfig(in, true)
	if ci.Type != config.IntegrationMock || ci.PassthroughBehavior != config.PassthroughWhenNoTemplates ||
		ci.TemplateSelectionExpression != "$request.body.kind" || ci.RequestTemplates["$default"] != `{"statusCode": 200}` {
		t.Fatalf("integration as config: %+v", ci)
	}
	var got []string
	for _, r := range ci.Responses {
		got = append(got, r.SelectionPattern+"="+r.ResponseTemplates["$default"])
	}
	// By id, the default last; a fixed template selection picks its template.
	if want := `5\d\d=5xx 4\d\d=4xx =ok`; strings.Join(got, " ") != want {
		t.Fatalf("responses %q, want %q", strings.Join(got, " "), want)
	}
	for _, typ := range []string{"HTTP_PROXY", "AWS_PROXY"} {
		in.IntegrationType, in.IntegrationURI = typ, "http://127.0.0.1:1/"
		if ci := integrationConfig(in, true); len(ci.RequestTemplates) != 0 || len(ci.Responses) != 0 {
			t.Errorf("%s: templates were applied to a proxy integration: %+v", typ, ci)
		}
	}
}
