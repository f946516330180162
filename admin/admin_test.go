package admin

import (
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/valyala/fasthttp"
)

type fakeBackend struct{}

func (fakeBackend) Reload() error                    { return nil }
func (fakeBackend) Ready() bool                      { return true }
func (fakeBackend) EffectiveConfig() ([]byte, error) { return []byte("x: 1\n"), nil }
func (fakeBackend) Routes() any                      { return []string{} }
func (fakeBackend) WriteMetrics(w io.Writer)         { io.WriteString(w, "m 1\n") }

func call(h fasthttp.RequestHandler, ip net.IP, auth string) int {
	var req fasthttp.Request
	req.SetRequestURI("/healthz")
	req.Header.SetHost("localhost:9901")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: ip, Port: 1234}, nil)
	h(ctx)
	return ctx.Response.StatusCode()
}

func TestAccessRules(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := New("", fakeBackend{}, log).Handler()
	locked := New("s3cret", fakeBackend{}, log).Handler()
	remote, local := net.IPv4(192, 0, 2, 10), net.IPv4(127, 0, 0, 1)
	cases := []struct {
		name string
		h    fasthttp.RequestHandler
		ip   net.IP
		auth string
		want int
	}{
		{"no token, loopback", open, local, "", 200},
		{"no token, remote", open, remote, "", 403},
		{"token, remote, right bearer", locked, remote, "Bearer s3cret", 200},
		{"token, remote, wrong bearer", locked, remote, "Bearer nope", 401},
		{"token, loopback, no bearer", locked, local, "", 401},
	}
	for _, c := range cases {
		if got := call(c.h, c.ip, c.auth); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
