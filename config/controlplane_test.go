package config

import (
	"strings"
	"testing"
)

func TestParseWithChecksWhatExtendAddsByTheFileRules(t *testing.T) {
	const src = "apis:\n  file:\n    routes:\n      \"GET /a\": {integration: m}\n    integrations:\n      m: {type: mock}\n"
	add := func(route string) func(*Config) {
		return func(c *Config) {
			c.APIs["created"] = &API{Type: APIHTTP, Hosts: []string{"created.execute-api.localhost"},
				Integrations: map[string]*Integration{"i": {Type: IntegrationMock}},
				Routes:       map[string]*Route{route: {Integration: "i"}}}
		}
	}
	c, _, err := ParseWith("f.yaml", []byte(src), noEnv, add("GET /b"))
	if err != nil {
		t.Fatalf("valid addition refused: %v", err)
	}
	if a := c.APIs["created"]; a == nil || a.BasePath != "/" || a.Integrations["i"].Status != DefaultMockStatus {
		t.Fatalf("defaults not applied to the added API: %+v", c.APIs["created"])
	}
	_, _, err = ParseWith("f.yaml", []byte(src), noEnv, add("GET /b/{x"))
	if err == nil || !strings.Contains(err.Error(), "apis.created.routes.GET /b/{x") {
		t.Fatalf("invalid route key in the addition: err = %v", err)
	}
}

func TestAdminCredentialsNeedBothParts(t *testing.T) {
	_, _, err := Parse("f.yaml", []byte("admin:\n  credentials:\n    - access_key_id: AKID\n      secret_access_key: \"${UNSET_SECRET}\"\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "admin.credentials[0]") {
		t.Fatalf("err = %v", err)
	}
}

func TestStateFileDefaultsBesideTheConfig(t *testing.T) {
	c, _, err := Parse("/etc/frontdesk/frontdesk.yaml", []byte("admin: {listen: \"127.0.0.1:0\"}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin.StateFile != "/etc/frontdesk/frontdesk.state.json" {
		t.Fatalf("state_file = %q", c.Admin.StateFile)
	}
}

func noEnv(string) (string, bool) { return "", false }
