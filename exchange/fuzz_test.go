package exchange

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// clientCtx is a request from peer carrying xff (no header when empty).
func clientCtx(peer net.Addr, xff string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, peer, nil)
	return ctx
}

func tcpPeer(ip string) net.Addr {
	return &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}
}

func prefixes(t testing.TB, list ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestAppendClientIPFollowsTrustedProxies(t *testing.T) {
	lan := []string{"10.0.0.0/8", "2001:db8::/32"}
	for _, tc := range []struct {
		name    string
		peer    net.Addr
		trusted []string
		xff     string
		want    string
	}{
		{"no trusted proxies: the peer, whatever the header says", tcpPeer("203.0.113.5"), nil, "198.51.100.1", "203.0.113.5"},
		{"untrusted peer: its header is not believed", tcpPeer("203.0.113.5"), lan, "198.51.100.1", "203.0.113.5"},
		{"trusted peer without a header: the peer", tcpPeer("10.0.0.1"), lan, "", "10.0.0.1"},
		{"trusted peer: the entry it added", tcpPeer("10.0.0.1"), lan, "198.51.100.1", "198.51.100.1"},
		{"chain: the right-most entry that is not trusted", tcpPeer("10.0.0.1"), lan, "192.0.2.66, 198.51.100.1, 10.0.0.7, 10.0.0.8", "198.51.100.1"},
		{"a spoofed left-most entry is never reached", tcpPeer("10.0.0.1"), lan, "127.0.0.1, 198.51.100.1", "198.51.100.1"},
		{"every entry trusted: the left-most", tcpPeer("10.0.0.1"), lan, "10.0.0.9, 10.0.0.8", "10.0.0.9"},
		{"junk stops the walk at the last address that made sense", tcpPeer("10.0.0.1"), lan, "198.51.100.1, junk, 10.0.0.2", "10.0.0.2"},
		{"junk at the right: the peer", tcpPeer("10.0.0.1"), lan, "198.51.100.1, unknown", "10.0.0.1"},
		{"empty entries and spaces are skipped", tcpPeer("10.0.0.1"), lan, " 198.51.100.1 ,, \t,10.0.0.3, ", "198.51.100.1"},
		{"IPv6 peer and entries", tcpPeer("2001:db8::1"), lan, "2001:db8:ffff::1, 2001:db8::2", "2001:db8:ffff::1"},
		{"IPv4-mapped peer is matched as IPv4", tcpPeer("::ffff:10.0.0.1"), lan, "198.51.100.1", "198.51.100.1"},
		{"IPv4-mapped entry is trusted as IPv4 and kept as written", tcpPeer("10.0.0.1"), lan, "::ffff:198.51.100.1, ::ffff:10.0.0.4", "::ffff:198.51.100.1"},
		{"a single trusted address as a /32", tcpPeer("192.0.2.10"), []string{"192.0.2.10/32"}, "198.51.100.1", "198.51.100.1"},
		{"a neighbour of a /32 is not trusted", tcpPeer("192.0.2.11"), []string{"192.0.2.10/32"}, "198.51.100.1", "192.0.2.11"},
		{"a peer that is not TCP reads as 0.0.0.0", &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}, lan, "198.51.100.1", "0.0.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendClientIP(nil, clientCtx(tc.peer, tc.xff), prefixes(t, tc.trusted...))
			if string(got) != tc.want {
				t.Fatalf("client IP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAppendClientIPAppendsAfterWhatDstHolds(t *testing.T) {
	ctx := clientCtx(tcpPeer("10.0.0.1"), "198.51.100.1, junk, 10.0.0.2")
	got := AppendClientIP([]byte("ip="), ctx, prefixes(t, "10.0.0.0/8"))
	if string(got) != "ip=10.0.0.2" {
		t.Fatalf("got %q, want %q", got, "ip=10.0.0.2")
	}
}

func TestSourceIPIsWorkedOutOncePerRequest(t *testing.T) {
	ex := &Exchange{Ctx: clientCtx(tcpPeer("10.0.0.1"), "198.51.100.1"), TrustedProxies: prefixes(t, "10.0.0.0/8")}
	if got := ex.SourceIP(); string(got) != "198.51.100.1" {
		t.Fatalf("SourceIP = %q", got)
	}
	// Later changes to the header do not move the answer within the request.
	ex.Ctx.Request.Header.Set("X-Forwarded-For", "192.0.2.1")
	if got := ex.SourceIP(); string(got) != "198.51.100.1" {
		t.Fatalf("second SourceIP = %q, want the first answer", got)
	}
	ex.Reset()
	if got := ex.SourceIP(); len(got) != 0 {
		t.Fatalf("SourceIP without a request = %q, want empty", got)
	}
	ex.Ctx = clientCtx(tcpPeer("203.0.113.5"), "")
	if got := ex.SourceIP(); string(got) != "203.0.113.5" {
		t.Fatalf("SourceIP after Reset = %q, want the new peer", got)
	}
}

func TestAppendPeerIPDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dst := make([]byte, 0, 64)
	for _, peer := range []net.Addr{tcpPeer("203.0.113.5"), tcpPeer("2001:db8::1"), tcpPeer("::ffff:10.0.0.1")} {
		if n := testing.AllocsPerRun(100, func() { dst = AppendPeerIP(dst[:0], peer) }); n != 0 {
			t.Errorf("AppendPeerIP(%v): %v allocations, want 0", peer, n)
		}
	}
}

// FuzzAppendClientIP checks AppendClientIP against the rule its comment
// states, written out plainly: the answer is the peer unless the peer is a
// trusted proxy, and then an address taken verbatim from X-Forwarded-For,
// walking right to left past trusted entries and stopping at junk. It
// never invents an address and never touches what dst already held.
func FuzzAppendClientIP(f *testing.F) {
	for _, s := range []struct{ peer, trusted, xff string }{
		{"10.0.0.1", "10.0.0.0/8", "198.51.100.1, 10.0.0.7"},
		{"203.0.113.5", "10.0.0.0/8", "198.51.100.1"},
		{"10.0.0.1", "10.0.0.0/8 2001:db8::/32", "2001:db8:ffff::1, 2001:db8::2"},
		{"10.0.0.1", "10.0.0.0/8", "198.51.100.1, junk, 10.0.0.2"},
		{"10.0.0.1", "10.0.0.0/8", " , ,10.0.0.9,"},
		{"::ffff:10.0.0.1", "10.0.0.0/8", "::ffff:10.0.0.4, fe80::1%eth0"},
		{"2001:db8::1", "::/0", "1.2.3.4,,5.6.7.8"},
		{"10.0.0.1", "", "198.51.100.1"},
		{"not-an-ip", "0.0.0.0/0", "1.1.1.1"},
	} {
		f.Add(s.peer, s.trusted, s.xff)
	}
	f.Fuzz(func(t *testing.T, peer, trustedList, xff string) {
		var trusted []netip.Prefix
		for _, s := range strings.Fields(trustedList) {
			if p, err := netip.ParsePrefix(s); err == nil {
				trusted = append(trusted, p.Masked())
			}
		}
		addr := &net.TCPAddr{IP: net.ParseIP(peer)}
		ctx := clientCtx(addr, xff)
		// Headers the request cannot carry are not set; the model reads
		// what fasthttp holds.
		xff = string(ctx.Request.Header.Peek("X-Forwarded-For"))

		const prefix = "kept:"
		out := AppendClientIP([]byte(prefix), ctx, trusted)
		if !bytes.HasPrefix(out, []byte(prefix)) {
			t.Fatalf("dst's bytes changed: %q", out)
		}
		got := string(out[len(prefix):])

		peerText := string(AppendPeerIP(nil, addr))
		if want := modelClientIP(peerText, xff, trusted); got != want {
			t.Fatalf("peer %q trusted %v xff %q: got %q, want %q", peer, trusted, xff, got, want)
		}
		if got != peerText {
			if _, err := netip.ParseAddr(got); err != nil {
				t.Fatalf("answer %q is neither the peer nor an address", got)
			}
		}
	})
}

// modelClientIP is the documented rule, written without the tricks of the
// real one (no byte scanning, no reuse of dst).
func modelClientIP(peer, xff string, trusted []netip.Prefix) string {
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer
	}
	answer := peer
	entries := strings.Split(xff, ",")
	for i := len(entries) - 1; i >= 0; i-- {
		e := strings.TrimSpace(entries[i])
		if e == "" {
			continue
		}
		if _, err := netip.ParseAddr(e); err != nil {
			break
		}
		answer = e
		if !isTrusted(e) {
			break
		}
	}
	return answer
}
