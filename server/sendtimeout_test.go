package server

import (
	"io"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// zeros reads as n zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

func TestAClientThatStopsReadingIsCutOffAfterTheSendTimeout(t *testing.T) {
	const size = 256 << 20 // far more than the socket buffers on both sides hold
	up := startServer(t, func(ctx *fasthttp.RequestCtx) {
		ctx.SetBodyStream(&zeros{n: size}, size)
	})
	s, addr := startServerWith(t, `
server:
  send_timeout: 1s
apis:
  a:
    integrations:
      big: {type: http_proxy, url: "http://{{UP}}"}
      ok: {type: mock, body: ok}
    routes:
      "GET /big": {integration: big}
      "GET /ok": {integration: ok}
`, up, nil)

	stuck := dial(t, addr)
	if _, err := io.WriteString(stuck, "GET /big HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stuck connection to be open", 5*time.Second, func() bool { return s.metrics.OpenConnections().Value() == 1 })

	// Another client is served meanwhile.
	if resp, body := roundTrip(t, addr, "GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("another client got %d %q", resp.StatusCode, body)
	}

	// The client never reads: once every buffer is full the server's
	// write waits, and after the send timeout the server gives up.
	waitFor(t, "the server to close the connection that does not read", 30*time.Second, func() bool {
		return s.metrics.OpenConnections().Value() == 0
	})
	if err := stuck.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, stuck) // what was in flight, then EOF or a reset
	if n >= size {
		t.Errorf("the client received the whole response (%d bytes)", n)
	}
	if resp, body := roundTrip(t, addr, "GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("after the cut-off a client got %d %q", resp.StatusCode, body)
	}
}
