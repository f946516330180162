// Package runtimes_test serves the example over TCP: the Python and
// Node.js hello-world handlers through their REST and HTTP API routes.
package runtimes_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/testdeps"
	"github.com/frontdeskgw/frontdesk/server"
)

func TestExampleServesSAMHelloWorldHandlers(t *testing.T) {
	t.Chdir("../..") // code_uri is relative to frontdesk's working directory
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	cfg, _, err := config.Load("examples/runtimes/frontdesk.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	go func() { _ = s.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	cases := []struct{ name, program, host, path string }{
		{"python on a REST API at its execute-api host", "python3", "hello-rest.execute-api.localhost", "/Prod/hello"},
		{"python at the REST API's id", "python3", config.APIID("hello-rest") + ".execute-api.localhost:8080", "/Prod/hello"},
		{"node on an HTTP API", "node", "127.0.0.1", "/node/hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testdeps.Require(t, tc.program)
			req, err := http.NewRequest("GET", "http://"+ln.Addr().String()+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var body struct{ Message, RequestID string }
			if resp.StatusCode != 200 || json.Unmarshal(b, &body) != nil || body.Message != "hello world" || len(body.RequestID) != 36 {
				t.Errorf("%d %s", resp.StatusCode, b)
			}
		})
	}
}
