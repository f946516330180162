package upstream

import (
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// A chunk line (size and extensions) is bounded: an origin that sends a
// 10 MB chunk extension gets an error once the line outgrows the read
// buffer, long before 10 MB are read or held.
func TestHugeChunkExtensionFailsFastWithBoundedMemory(t *testing.T) {
	const extension = 10 << 20
	head := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext="
	chunk := []byte(strings.Repeat("e", 64<<10))
	o := startOrigin(t, func(_ int, c net.Conn, _ *fasthttp.Request) bool {
		if _, err := io.WriteString(c, head); err != nil {
			return false
		}
		for sent := 0; sent < extension; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				return false // the pool gave up and closed
			}
		}
		_, _ = io.WriteString(c, "\r\nhello\r\n0\r\n\r\n")
		return false
	})
	p := New(Options{Addr: o.addr})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := doWithin(p, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.BodyStream())
	resp.CloseBodyStream() //nolint:errcheck
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatalf("a 10 MB chunk extension was accepted (%d body bytes)", n)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("allocated %d bytes reading the bad chunk line, want under 1 MiB", got)
	}
	if n := len(p.sem); n != 0 {
		t.Errorf("%d connections open after the error, want 0", n)
	}
}
