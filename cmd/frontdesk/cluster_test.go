package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/internal/redistest"
	"github.com/frontdeskgw/frontdesk/server"
)

func clusterFile(t *testing.T, redis, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "frontdesk.yaml")
	src := "cluster:\n  redis: " + redis + "\n  instance_id: edge-1\n  sync_interval: 50ms\napis:\n  a:\n    integrations: {m: {type: mock, body: " + body + "}}\n    routes: {\"GET /\": {integration: m}}\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// "frontdesk cluster status" lists the live instances with their config
// hash and marks one running another config than the file's.
func TestClusterStatusCommandMarksInstancesOnAnotherConfig(t *testing.T) {
	r := redistest.Start(t)
	running := clusterFile(t, r.URL(), "v1")
	cfg, _, err := config.Load(running)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.UseListener(ln)
	go s.Serve() //nolint:errcheck // ends at cleanup
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx) //nolint:errcheck
	})

	status := func(path string) string {
		var out, errb strings.Builder
		deadline := time.Now().Add(5 * time.Second)
		for {
			out.Reset()
			errb.Reset()
			code := run([]string{"cluster", "status", "-c", path}, &out, &errb)
			if code == 0 && strings.Contains(out.String(), "edge-1") {
				return out.String()
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster status: exit %d\n%s%s", code, out.String(), errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	out := status(running)
	if !strings.Contains(out, "1 live instance(s)") || strings.Contains(out, "*") {
		t.Fatalf("same config:\n%s", out)
	}
	out = status(clusterFile(t, r.URL(), "v2"))
	if !strings.Contains(out, " *") || !strings.Contains(out, "1 run another config") {
		t.Fatalf("changed config:\n%s", out)
	}
}
