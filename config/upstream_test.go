package config

import (
	"errors"
	"testing"
)

func TestMaxStreamsPerClientDefaultAndBound(t *testing.T) {
	const apis = `
apis:
  a:
    integrations: {m: {type: mock}}
    routes: {"GET /": {integration: m}}
`
	c, _, err := Parse("ok.yaml", []byte(apis), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Upstream.MaxStreamsPerClient; n == nil || *n != DefaultMaxStreamsPerClient {
		t.Errorf("default %v, want %d", n, DefaultMaxStreamsPerClient)
	}
	c, _, err = Parse("off.yaml", []byte("upstream:\n  max_streams_per_client: 0\n"+apis), env(nil))
	if err != nil || *c.Upstream.MaxStreamsPerClient != 0 {
		t.Errorf("0 (no cap) refused or changed: %v", err)
	}
	for _, bad := range []string{"-1", "65537"} {
		_, _, err = Parse("bad.yaml", []byte("upstream:\n  max_streams_per_client: "+bad+"\n"+apis), env(nil))
		var list Errors
		if !errors.As(err, &list) || !hasProblem(list, 2, "upstream.max_streams_per_client", "between 0") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
