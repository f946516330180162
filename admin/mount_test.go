package admin

import (
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

// startMounted serves an admin listener with a token and two mounted
// handlers: /signed/ checks its callers itself, /local/ keeps the
// loopback rules. Each counts the requests it was handed.
func startMounted(t *testing.T) (addr string, signed, local *atomic.Int32) {
	t.Helper()
	signed, local = &atomic.Int32{}, &atomic.Int32{}
	s := New("tok", &fakeBackend{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Mount("/signed/", func(ctx *fasthttp.RequestCtx) {
		signed.Add(1)
		WriteJSON(ctx, 200, map[string]string{"message": "signed"})
	}, false)
	s.Mount("/local/", func(ctx *fasthttp.RequestCtx) {
		local.Add(1)
		WriteJSON(ctx, 200, map[string]string{"message": "local"})
	}, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)                     //nolint:errcheck // ends at cleanup
	t.Cleanup(func() { s.Shutdown() }) //nolint:errcheck // the listener is ours
	return ln.Addr().String(), signed, local
}

func TestMountedHandlersSkipTheTokenAndKeepTheLoopbackRulesWhenAsked(t *testing.T) {
	addr, signed, local := startMounted(t)
	for _, tc := range []struct {
		name, path, host, origin string
		want                     int
		reaches                  *atomic.Int32
	}{
		{"a self-checking mount without the token", "/signed/x", "anything.example", "", 200, signed},
		{"a loopback mount without the token from a loopback name", "/local/x", "127.0.0.1", "", 200, local},
		{"a loopback mount named by another host", "/local/x", "rebound.example", "", 421, nil},
		{"a loopback mount asked cross-site", "/local/x", "localhost", "https://evil.example", 403, nil},
		{"the rest of the listener still wants the token", "/config", "localhost", "", 401, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := [2]int32{signed.Load(), local.Load()}
			var h []string
			if tc.origin != "" {
				h = append(h, "Origin", tc.origin)
			}
			status, _, _ := rawRequest(t, addr, "POST", tc.path, tc.host, h...)
			if status != tc.want {
				t.Fatalf("status %d, want %d", status, tc.want)
			}
			after := [2]int32{signed.Load(), local.Load()}
			reached := after != before
			if reached != (tc.reaches != nil) {
				t.Fatalf("handler reached: %v", reached)
			}
		})
	}
}
