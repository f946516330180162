package exchange

import (
	"bytes"
	"net"
	"net/netip"

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
// that is not a trusted proxy.
func AppendClientIP(dst []byte, ctx *fasthttp.RequestCtx, trusted []netip.Prefix) []byte {
	start := len(dst)
	dst = AppendPeerIP(dst, ctx.RemoteAddr())
	if len(trusted) == 0 || !isTrusted(dst[start:], trusted) {
		return dst
	}
	xff := ctx.Request.Header.PeekBytes(hdrXFF)
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		entry := bytes.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		if len(entry) == 0 {
			continue
		}
		if _, err := netip.ParseAddr(string(entry)); err != nil {
			break // junk: keep the last address that made sense
		}
		dst = append(dst[:start], entry...)
		if !isTrusted(entry, trusted) || i < 0 {
			break
		}
	}
	return dst
}

func isTrusted(ip []byte, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(string(ip))
	if err != nil {
		return false
	}
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
