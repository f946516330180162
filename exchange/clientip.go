package exchange

import (
	"bytes"
	"net"
	"net/netip"
	"unsafe"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/valyala/fasthttp"
)

var hdrXFF = []byte("X-Forwarded-For")

// SourceIP is the client address as text, worked out once per request
// (see AppendClientIP).
func (ex *Exchange) SourceIP() []byte {
	if len(ex.sourceIP) > 0 || ex.Ctx == nil {
		return ex.sourceIP
	}
	ex.sourceIP = AppendClientIP(ex.sourceIP[:0], ex.Ctx, ex.TrustedProxies)
	return ex.sourceIP
}

// AppendClientIP appends the client address of ctx: the socket peer, or,
// when the peer is a trusted proxy, the right-most X-Forwarded-For entry
// that is not a trusted proxy. Every X-Forwarded-For line counts, joined
// in order (RFC 9110 §5.3): a proxy such as HAProxy adds its own line
// after the ones the client sent, so reading the first line alone would
// believe the client. An entry that is not an address ends the walk from
// the right: the last address before it stands.
func AppendClientIP(dst []byte, ctx *fasthttp.RequestCtx, trusted []netip.Prefix) []byte {
	start := len(dst)
	dst = AppendPeer(dst, ctx)
	if len(trusted) == 0 || !isTrusted(dst[start:], trusted) {
		return dst
	}
	// One pass left to right keeps what the walk from the right would
	// stop at: an untrusted address replaces the candidate, a trusted one
	// becomes it only when there is none (the list so far was empty or
	// ended in junk), junk clears it.
	var client []byte
	for k, v := range ctx.Request.Header.All() {
		if len(k) != len(hdrXFF) || !ascii.EqualFold(k, hdrXFF) {
			continue
		}
		for len(v) > 0 {
			var entry []byte
			if i := bytes.IndexByte(v, ','); i >= 0 {
				entry, v = v[:i], v[i+1:]
			} else {
				entry, v = v, nil
			}
			entry = bytes.TrimSpace(entry)
			if len(entry) == 0 {
				continue
			}
			a, ok := parseAddr(entry)
			switch {
			case !ok:
				client = nil
			case !trustedAddr(a, trusted) || client == nil:
				client = entry
			}
		}
	}
	if client != nil {
		dst = append(dst[:start], client...)
	}
	return dst
}

// parseAddr parses an address without copying b into a string: the
// string only lives for the call.
func parseAddr(b []byte) (netip.Addr, bool) {
	if len(b) == 0 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(b), len(b)))
	return a, err == nil
}

func isTrusted(ip []byte, trusted []netip.Prefix) bool {
	a, ok := parseAddr(ip)
	return ok && trustedAddr(a, trusted)
}

func trustedAddr(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// AppendPeerIP writes the socket peer's IP without allocating.
func AppendPeerIP(dst []byte, addr net.Addr) []byte {
	switch a := addr.(type) {
	case *net.TCPAddr:
		if ip4 := a.IP.To4(); ip4 != nil {
			return fasthttp.AppendIPv4(dst, ip4)
		}
		if ap, ok := netip.AddrFromSlice(a.IP); ok {
			return ap.AppendTo(dst)
		}
	}
	return append(dst, "0.0.0.0"...)
}
