// Package testdeps finds the real programs some tests drive (redis-server,
// the AWS CLI, Chromium, nginx). Outside CI a missing program skips the test
// with a message that says how to install it; under CI (CI=true, as .ci/run
// sets it) a missing program fails the test, because .ci/run installs every
// one of them and a failed install must not turn into skipped checks. The
// same holds for npm packages a test's handlers need (RequireNodeModules).
// It also gives loopback peers that misbehave on purpose: an address that
// refuses connections, one that accepts and never answers (peers.go).
package testdeps

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Debian packages that provide each program .ci/run installs.
var packages = map[string]string{
	"redis-server": "redis-server",
	"aws":          "awscli",
	"chromium":     "chromium",
	"nginx":        "nginx",
	"python3":      "python3",
	"node":         "nodejs",
	"varnishd":     "varnish",
}

// InCI reports whether the tests run under .ci/run.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require returns the path of program, skipping the test when it is not
// installed outside CI and failing it under CI.
func Require(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	Missing(t, program)
	return ""
}

// Missing skips (outside CI) or fails (under CI) a test whose program is
// not installed; for callers that find the program their own way.
func Missing(t testing.TB, program string) {
	t.Helper()
	pkg := packages[program]
	if pkg == "" {
		pkg = program
	}
	msg := program + " is not installed (apt-get install -y " + pkg + "); this test needs the real program"
	if InCI() {
		t.Fatal(msg + ": .ci/run installs it, so under CI its absence is a failure")
	}
	t.Skip(msg + ": skipped outside CI")
}

// RequireNodeModules skips (outside CI) or fails (under CI) a test whose
// Node.js handlers in dir need the packages of dir/package-lock.json:
// they come from the npm registry, so tests never install them (the
// network may be unreachable); .ci/run runs npm ci there.
func RequireNodeModules(t testing.TB, dir string) {
	t.Helper()
	if st, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil && st.IsDir() {
		return
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	msg := filepath.Join(dir, "node_modules") + " is missing (run npm ci --prefix " + dir + "); this test needs the real packages"
	if InCI() {
		t.Fatal(msg + ": .ci/run installs them, so under CI their absence is a failure")
	}
	t.Skip(msg + ": skipped outside CI")
}
