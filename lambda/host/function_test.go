package host

import (
	"log/slog"
	mrand "math/rand/v2"
	"os/exec"
	"testing"
)

func TestBuildEnvLayersInheritedConfiguredAndReserved(t *testing.T) {
	f := &Function{
		cfg: Config{
			Name: "envfn", Handler: "bootstrap", Region: "eu-west-1", MemorySize: 256, Dir: "/task",
			Env: map[string]string{"GREETING": "hi", "PATH": "/custom/bin", "TZ": "Europe/Paris", "AWS_LAMBDA_RUNTIME_API": "1.2.3.4:9"},
		},
		log: slog.New(slog.DiscardHandler),
	}
	env := f.buildEnv([]string{"PATH=/usr/bin", "HOME=/home/dev", "AWS_LAMBDA_RUNTIME_API=10.0.0.1:9001", "AWS_ACCESS_KEY_ID=AKID"})

	// exec.Cmd keeps the last value of a key; resolve the same way.
	cmd := exec.Command("true")
	cmd.Env = env
	got := map[string]string{}
	for _, kv := range cmd.Environ() {
		for i := 0; i < len(kv); i++ {
			if kv[i] == '=' {
				got[kv[:i]] = kv[i+1:]
				break
			}
		}
	}
	tests := []struct {
		key, want string
	}{
		{"HOME", "/home/dev"},         // inherited
		{"AWS_ACCESS_KEY_ID", "AKID"}, // inherited credentials reach the function
		{"PATH", "/custom/bin"},       // configured overrides inherited
		{"GREETING", "hi"},            // configured
		{"TZ", ":UTC"},                // reserved wins over configured
		{"AWS_REGION", "eu-west-1"},   // reserved
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"},
		{"_HANDLER", "bootstrap"},
		{"LAMBDA_TASK_ROOT", "/task"},
		{"AWS_LAMBDA_RUNTIME_API", ""}, // set per instance, never inherited or configured
	}
	for _, tt := range tests {
		if got[tt.key] != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, got[tt.key], tt.want)
		}
	}
}

func TestRequestAndTraceIDShapes(t *testing.T) {
	seen := map[string]bool{}
	ids := mrand.NewChaCha8([32]byte{1})
	for i := 0; i < 100; i++ {
		inv := newInvocation(nil)
		var random [36]byte
		_, _ = ids.Read(random[:])
		inv.setIDs(&random, "")
		if !uuidRE.MatchString(inv.id) {
			t.Fatalf("request ID %q is not a v4 UUID", inv.id)
		}
		if !traceRE.MatchString(inv.traceID) {
			t.Fatalf("trace ID %q", inv.traceID)
		}
		if seen[inv.id] {
			t.Fatalf("duplicate request ID %s", inv.id)
		}
		seen[inv.id] = true
	}
}
