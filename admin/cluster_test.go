package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

type clusterBackend struct {
	fakeBackend
	status any
	err    error
	state  string
}

func (b clusterBackend) ClusterStatus(context.Context) (any, error) { return b.status, b.err }
func (b clusterBackend) ClusterState() string                       { return b.state }

func get(h fasthttp.RequestHandler, path string) (int, map[string]any) {
	var req fasthttp.Request
	req.SetRequestURI(path)
	req.Header.SetHost("localhost:9901")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}, nil)
	h(ctx)
	var body map[string]any
	json.Unmarshal(ctx.Response.Body(), &body) //nolint:errcheck // checked by the caller's expectations
	return ctx.Response.StatusCode(), body
}

func TestClusterEndpointAndReadinessNote(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cases := []struct {
		name       string
		b          clusterBackend
		wantStatus int
		wantKey    string
		wantReady  string
	}{
		{"live instances", clusterBackend{status: map[string]any{"instances": []string{"a", "b"}}, state: "redis up"}, 200, "instances", "redis up"},
		{"redis unreachable", clusterBackend{err: errors.New("cluster status: not connected"), state: "redis down: shared state per on_redis_down"}, 503, "message", "redis down: shared state per on_redis_down"},
		{"cluster mode off", clusterBackend{}, 404, "message", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := New("", c.b, log).Handler()
			st, body := get(h, "/cluster")
			if st != c.wantStatus || body[c.wantKey] == nil {
				t.Fatalf("GET /cluster: %d %v", st, body)
			}
			st, body = get(h, "/readyz")
			if st != 200 || body["status"] != "ready" {
				t.Fatalf("GET /readyz: %d %v", st, body)
			}
			if got, _ := body["cluster"].(string); got != c.wantReady {
				t.Fatalf("readyz cluster note %q, want %q", got, c.wantReady)
			}
		})
	}
}
