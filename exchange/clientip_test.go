package exchange

import (
	"bufio"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// ctxFrom parses a raw request (so header lines stay as sent, repeated
// ones included) arriving from peer.
func ctxFrom(t testing.TB, peer string, lines ...string) *fasthttp.RequestCtx {
	t.Helper()
	raw := "GET / HTTP/1.1\r\nHost: gw.test\r\n" + strings.Join(lines, "\r\n")
	if len(lines) > 0 {
		raw += "\r\n"
	}
	raw += "\r\n"
	var req fasthttp.Request
	if err := req.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 4000}, nil)
	return ctx
}

var testTrusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}

// Behind a trusted proxy the client is the right-most untrusted entry of
// every X-Forwarded-For line joined in order (RFC 9110 §5.3): a proxy such
// as HAProxy adds its line after the ones the client sent.
func TestClientIPReadsEveryForwardedForLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		peer  string
		lines []string
		want  string
	}{
		{"untrusted peer", "203.0.113.9", []string{"X-Forwarded-For: 198.51.100.1"}, "203.0.113.9"},
		{"no header", "127.0.0.1", nil, "127.0.0.1"},
		{"one line", "127.0.0.1", []string{"X-Forwarded-For: 198.51.100.1"}, "198.51.100.1"},
		{"forged first line, proxy's line after it", "127.0.0.1",
			[]string{"X-Forwarded-For: 198.51.100.66", "X-Forwarded-For: 203.0.113.5"}, "203.0.113.5"},
		{"forged line among others", "127.0.0.1",
			[]string{"X-Forwarded-For: 198.51.100.66", "Accept: */*", "x-forwarded-for: 203.0.113.5, 10.0.0.7"}, "203.0.113.5"},
		{"trusted hops across lines", "127.0.0.1",
			[]string{"X-Forwarded-For: 1.1.1.1, 2.2.2.2", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-For: 10.0.0.2"}, "2.2.2.2"},
		{"empty line and entries", "127.0.0.1",
			[]string{"X-Forwarded-For: 4.4.4.4", "X-Forwarded-For:", "X-Forwarded-For: , ,3.3.3.3"}, "3.3.3.3"},
		{"all trusted", "127.0.0.1", []string{"X-Forwarded-For: 10.0.0.1", "X-Forwarded-For: 10.0.0.2"}, "10.0.0.1"},
		{"junk left of a trusted hop", "127.0.0.1", []string{"X-Forwarded-For: junk", "X-Forwarded-For: 10.0.0.2"}, "10.0.0.2"},
		{"junk last", "127.0.0.1", []string{"X-Forwarded-For: 3.3.3.3", "X-Forwarded-For: junk"}, "127.0.0.1"},
		{"junk between clients", "127.0.0.1", []string{"X-Forwarded-For: 3.3.3.3, junk, 5.5.5.5"}, "5.5.5.5"},
		{"IPv6", "127.0.0.1", []string{"X-Forwarded-For: 2001:db8::1", "X-Forwarded-For: 2001:db8::2"}, "2001:db8::2"},
	} {
		ctx := ctxFrom(t, tc.peer, tc.lines...)
		if got := string(AppendClientIP(nil, ctx, testTrusted)); got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestClientIPAllocatesNothing(t *testing.T) {
	ctx := ctxFrom(t, "127.0.0.1", "X-Forwarded-For: 198.51.100.66", "Accept: */*", "X-Forwarded-For: 203.0.113.5, 10.0.0.7")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendClientIP(buf[:0], ctx, testTrusted) }); n != 0 {
		t.Errorf("%v allocations a call", n)
	}
}

func BenchmarkClientIPBehindTrustedProxy(b *testing.B) {
	ctx := ctxFrom(b, "127.0.0.1", "Accept: */*", "User-Agent: bench/1.0",
		"X-Forwarded-For: 198.51.100.66", "X-Forwarded-For: 203.0.113.5, 10.0.0.7")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendClientIP(buf[:0], ctx, testTrusted)
	}
}
