package config

import (
	"errors"
	"strings"
	"testing"
)

func TestServerHeaderDefaultsEmptyAndIsChecked(t *testing.T) {
	const routes = "apis:\n  a:\n    integrations:\n      m: {type: mock}\n    routes:\n      $default: {integration: m}\n"
	for _, tc := range []struct {
		name, value, want string // want: "" when valid
	}{
		{"product and version", `"edge/1.2 (linux)"`, ""},
		{"line break", `"edge\r\nX-Injected: 1"`, "visible ASCII"},
		{"control character", `"edge\u0001"`, "visible ASCII"},
		{"non-ASCII", `"édge"`, "visible ASCII"},
		{"trailing space", `"edge "`, "white space"},
		{"too long", strings.Repeat("a", MaxServerHeader+1), "at most 256 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("t.yaml", []byte("server:\n  server_header: "+tc.value+"\n"+routes), env(nil))
			var list Errors
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (!errors.As(err, &list) || !hasProblem(list, 2, "server.server_header", tc.want)):
				t.Errorf("got %v, want t.yaml:2 server.server_header %q", err, tc.want)
			}
		})
	}
	c, _, err := Parse("min.yaml", []byte(routes), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.ServerHeader != "" {
		t.Errorf("server_header defaults to %q, want empty", c.Server.ServerHeader)
	}
}
