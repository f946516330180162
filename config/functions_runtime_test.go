package config

import (
	"errors"
	"testing"
	"time"
)

func TestFunctionRuntimeKeysAcceptSAMVocabulary(t *testing.T) {
	src := `
functions:
  py:
    runtime: python3.12
    handler: app.lambda_handler
    code_uri: hello_world
    environment: {TABLE: t}
    env: {OTHER: o}
    timeout: 7
  node:
    runtime: nodejs20.x
    handler: src/index.handler
    code_uri: ./fn
    runtime_client: official
    timeout: 1500ms
    memory_size: 512
  go:
    runtime: provided.al2023
    code_uri: hello-go
`
	c, _, err := Parse("f.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	py := c.Functions["py"]
	if py.Timeout.D() != 7*time.Second {
		t.Errorf("timeout 7 = %v, want 7s (SAM's seconds)", py.Timeout.D())
	}
	if py.RuntimeClient != RuntimeClientBundled || py.Concurrency != 4 {
		t.Errorf("defaults: runtime_client %q concurrency %d", py.RuntimeClient, py.Concurrency)
	}
	if py.Environment["TABLE"] != "t" || py.Env["OTHER"] != "o" {
		t.Errorf("environment %v env %v", py.Environment, py.Env)
	}
	if py.MemorySize != 128 {
		t.Errorf("memory_size default %d, want 128", py.MemorySize)
	}
	if n := c.Functions["node"]; n.Timeout.D() != 1500*time.Millisecond || n.RuntimeClient != RuntimeClientOfficial || n.MemorySize != 512 {
		t.Errorf("node: %+v", n)
	}
	if g := c.Functions["go"]; g.Runtime.Family() != RuntimeFamilyProvided || g.Timeout.D() != 3*time.Second {
		t.Errorf("go: %+v", g)
	}
}

func TestFunctionRuntimeKeysRefuseMistakesWithLines(t *testing.T) {
	cases := []struct {
		name, src, key, msg string
		line                int
	}{
		{"unknown runtime", "functions:\n  f:\n    runtime: ruby3.3\n    handler: a.b\n    code_uri: x\n", "functions.f.runtime", "want python3.x", 3},
		{"python without handler", "functions:\n  f:\n    runtime: python3.12\n    code_uri: x\n", "functions.f.handler", "required", 2},
		{"handler without dot", "functions:\n  f:\n    runtime: nodejs20.x\n    handler: index\n    code_uri: x\n", "functions.f.handler", "module.function", 4},
		{"no code_uri", "functions:\n  f:\n    runtime: nodejs20.x\n    handler: index.h\n", "functions.f.code_uri", "required", 2},
		{"runtime and command", "functions:\n  f:\n    runtime: nodejs20.x\n    handler: index.h\n    code_uri: x\n    command: [node]\n", "functions.f.runtime", "only one", 3},
		{"both env spellings", "functions:\n  f:\n    runtime: nodejs20.x\n    handler: index.h\n    code_uri: x\n    env: {A: 1}\n    environment:\n      A: 2\n", "functions.f.environment.A", "also set in env", 8},
		{"memory too small", "functions:\n  f:\n    runtime: nodejs20.x\n    handler: index.h\n    code_uri: x\n    memory_size: 64\n", "functions.f.memory_size", "128 to 10240", 6},
		{"bad client", "functions:\n  f:\n    runtime: nodejs20.x\n    handler: index.h\n    code_uri: x\n    runtime_client: docker\n", "functions.f.runtime_client", "bundled or official", 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse("f.yaml", []byte(tc.src), env(nil))
			var list Errors
			if !errors.As(err, &list) {
				t.Fatalf("want Errors, got %v", err)
			}
			if !hasProblem(list, tc.line, tc.key, tc.msg) {
				t.Errorf("missing %d %s %q in:\n%v", tc.line, tc.key, tc.msg, list)
			}
		})
	}
}

func TestLocalTLSListenIsChecked(t *testing.T) {
	cases := []struct{ src, msg string }{
		{"server:\n  local_tls:\n    listen: nope\n", "want host:port"},
		{"server:\n  listen: 127.0.0.1:8080\n  local_tls:\n    listen: 127.0.0.1:8080\n", "must differ"},
	}
	for _, tc := range cases {
		_, _, err := Parse("s.yaml", []byte(tc.src), env(nil))
		var list Errors
		if !errors.As(err, &list) || !hasProblem(list, list[0].Line, "server.local_tls.listen", tc.msg) {
			t.Errorf("%q: %v", tc.src, err)
		}
	}
	if _, _, err := Parse("s.yaml", []byte("server:\n  listen: 127.0.0.1:0\n  local_tls: {listen: \"127.0.0.1:0\"}\n"), env(nil)); err != nil {
		t.Errorf("two listeners on port 0 (each gets its own): %v", err)
	}
	c, _, err := Parse("s.yaml", []byte("server:\n  local_tls: {listen: \"127.0.0.1:8443\", state_dir: st}\n"), env(nil))
	if err != nil || c.Server.LocalTLS.Listen != "127.0.0.1:8443" || c.Server.LocalTLS.StateDir != "st" {
		t.Errorf("%+v %v", c, err)
	}
}
