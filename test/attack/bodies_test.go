package attack

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestBodiesOverLimits: every size limit answers its status before the
// origin is reached, and a body at the limit still passes.
func TestBodiesOverLimits(t *testing.T) {
	parallel(t)
	const limit = 1 << 20
	f := newFixture(t, options{server: "  max_body_bytes: 1MiB"})
	const class = "bodies over limits"
	post := func(extra string) string {
		return "POST /api/body?t=x HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n" + extra
	}
	chunked := func(total int) string {
		var b strings.Builder
		b.WriteString(post("Transfer-Encoding: chunked\r\n\r\n"))
		piece := strings.Repeat("c", 64<<10)
		for n := 0; n < total; n += len(piece) {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(piece), piece)
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	for _, c := range []struct {
		name    string
		payload string
		want    int
	}{
		{"declared body over max_body_bytes, nothing sent", post(fmt.Sprintf("Content-Length: %d\r\n\r\n", limit+1)), 413},
		{"declared 10 GB", post("Content-Length: 10000000000\r\n\r\n"), 413},
		{"chunked body over max_body_bytes", chunked(limit + 64<<10), 413},
		{"body at max_body_bytes", post(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", limit, strings.Repeat("b", limit))), 200},
		{"chunked body at max_body_bytes", chunked(limit), 200},
		{"headers over max_header_bytes", post("X-Fill: " + strings.Repeat("h", 10240) + "\r\nContent-Length: 0\r\n\r\n"), 431},
	} {
		f.run(t, class, c.name, func(t *testing.T) {
			out, reqs := f.do(c.payload)
			if out.status() != c.want {
				t.Errorf("want %d, got %s", c.want, out)
			}
			if c.want != 200 && len(reqs) > 0 {
				t.Errorf("a request over a limit reached the origin")
			}
			if c.want == 200 && (len(reqs) != 1 || len(reqs[0].Body) != limit) {
				t.Errorf("the origin should have received %d bytes", limit)
			}
			if c.want != 200 && !out.Closed {
				t.Errorf("the connection must close after a refused body")
			}
		})
	}
	f.run(t, class, "admin body over 1 MiB", func(t *testing.T) {
		before := f.fd.metric("frontdesk_config_reloads_total")
		out := roundTrip(f.fd.Admin, fmt.Sprintf("POST /reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n", 1<<20+1), 5*time.Second)
		if s := out.status(); s != 413 && s != 400 {
			t.Errorf("want 413 (or 400), got %s", out)
		}
		if f.fd.metric("frontdesk_config_reloads_total") != before {
			t.Errorf("the refused request reloaded the config")
		}
	})
}
