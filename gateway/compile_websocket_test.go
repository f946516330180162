package gateway

import (
	"log/slog"
	"testing"

	"github.com/frontdeskgw/frontdesk/config"
)

func TestBridgeOptionsCarryEachStagesVariables(t *testing.T) {
	a := &config.API{
		Type:           config.APIWebSocket,
		RouteSelection: "$request.body.action",
		Stages: map[string]config.Stage{
			"prod": {Variables: map[string]string{"table": "chat-prod"}},
			"dev":  {},
		},
		Integrations: map[string]*config.Integration{"be": {Type: config.IntegrationHTTP, URL: "http://127.0.0.1:9/events"}},
		Routes:       map[string]*config.Route{"$default": {Integration: "be"}},
	}
	o, err := bridgeOptions("chat", a, nil, BridgeEnv{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if got := o.StageVariables["prod"]; len(got) != 1 || got["table"] != "chat-prod" {
		t.Fatalf("prod stage variables = %v", got)
	}
	if got, ok := o.StageVariables["dev"]; ok {
		t.Fatalf("dev has no variables, got %v", got)
	}
}
