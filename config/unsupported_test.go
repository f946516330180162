package config

import (
	"strings"
	"testing"
)

// A key no feature implements yet is accepted and reported once, as a
// warning naming file, line and key; implemented keys next to it are not.
func TestNotYetSupportedKeyIsWarnedWithItsLine(t *testing.T) {
	src := `access_log: {format: json}
cluster:
  redis: "redis://127.0.0.1:6379"
apis:
  a:
    integrations: {m: {type: mock, body: ok}}
    routes: {"GET /": {integration: m}}
`
	c, _, err := Parse("f.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatalf("a not-yet-supported key must be accepted: %v", err)
	}
	warns := unsupported(c, []string{"cluster"})
	var got []Problem
	for _, w := range warns {
		if strings.Contains(w.Msg, "not yet supported") {
			got = append(got, w)
		}
	}
	if len(got) != 1 {
		t.Fatalf("want one not-yet-supported warning, got %v", warns)
	}
	w := got[0]
	if w.File != "f.yaml" || w.Line != 2 || w.Key != "cluster" {
		t.Errorf("warning %q, want f.yaml:2 for key cluster", w.String())
	}
	if s := w.String(); !strings.HasPrefix(s, "f.yaml:2: cluster: not yet supported") {
		t.Errorf("warning reads %q", s)
	}
}

// Cluster mode is built: a config naming Redis is not warned about.
func TestClusterIsNoLongerWarnedAsUnsupported(t *testing.T) {
	src := "cluster:\n  redis: \"redis://127.0.0.1:6379\"\napis:\n  a:\n    integrations: {m: {type: mock}}\n    routes: {\"GET /\": {integration: m}}\n"
	_, warns, err := Parse("f.yaml", []byte(src), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warns {
		if strings.Contains(w.Msg, "not yet supported") {
			t.Errorf("cluster still warned: %s", w.String())
		}
	}
}
