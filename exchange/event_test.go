package exchange

import (
	"regexp"
	"testing"
	"time"
)

func TestEventInputAddsAPIGatewayHeaders(t *testing.T) {
	traceForm := regexp.MustCompile(`^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$`)
	tests := []struct {
		name      string
		lines     []string
		wantFor   string
		wantTrace string // "" means a new id in API Gateway's form
	}{
		{"plain client", nil, "203.0.113.9", ""},
		{"client list gets the peer", []string{"X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 198.51.100.2"},
			"198.51.100.1, 198.51.100.2, 203.0.113.9", ""},
		{"client trace id kept", []string{"X-Amzn-Trace-Id: Root=1-00000000-000000000000000000000001"},
			"203.0.113.9", "Root=1-00000000-000000000000000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &Exchange{Ctx: ctxFrom(t, "203.0.113.9", tt.lines...), RouteInfo: &RouteInfo{}, Start: time.Unix(0x5e9f0f3d, 0)}
			in := ex.EventInput()
			if got := string(in.ForwardedFor); got != tt.wantFor {
				t.Errorf("X-Forwarded-For %q, want %q", got, tt.wantFor)
			}
			if got := string(in.ForwardedProto); got != "http" {
				t.Errorf("X-Forwarded-Proto %q, want http", got)
			}
			if in.ForwardedPort == nil {
				t.Error("no X-Forwarded-Port")
			}
			got := string(in.TraceID)
			switch {
			case tt.wantTrace != "" && got != tt.wantTrace:
				t.Errorf("X-Amzn-Trace-Id %q, want the client's %q", got, tt.wantTrace)
			case tt.wantTrace == "" && (!traceForm.MatchString(got) || got[7:15] != "5e9f0f3d"):
				t.Errorf("X-Amzn-Trace-Id %q, want Root=1-5e9f0f3d-<24 hex>", got)
			}
		})
	}
}

func TestNewTraceIDsDiffer(t *testing.T) {
	now := time.Now()
	a, b := AppendTraceID(nil, now), AppendTraceID(nil, now)
	if string(a) == string(b) {
		t.Errorf("two trace ids are both %q", a)
	}
}
