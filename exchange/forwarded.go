package exchange

import (
	"bytes"
	"net"
	"strconv"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/valyala/fasthttp"
)

// What a gateway tells its backend about the client's connection, the same
// for an HTTP upstream and a Lambda event: X-Forwarded-For with the peer
// appended, the listener's port, the scheme.

var (
	commaSpace            = []byte(", ")
	protoHTTP, protoHTTPS = []byte("http"), []byte("https")
)

// AppendForwardedFor appends the X-Forwarded-For value to send on: every
// line the client sent, joined in order into one list (RFC 9110 §5.3),
// then the socket peer. It allocates nothing.
func AppendForwardedFor(dst []byte, h *fasthttp.RequestHeader, peer net.Addr) []byte {
	start := len(dst)
	for k, v := range h.All() {
		if len(k) != len(hdrXFF) || !ascii.EqualFold(k, hdrXFF) {
			continue
		}
		if v = bytes.TrimSpace(v); len(v) == 0 {
			continue
		}
		if len(dst) > start {
			dst = append(dst, commaSpace...)
		}
		dst = append(dst, v...)
	}
	if len(dst) > start {
		dst = append(dst, commaSpace...)
	}
	return AppendPeerIP(dst, peer)
}

// AppendLocalPort appends the port of the listener the request came in on;
// ok is false when the listener is not TCP.
func AppendLocalPort(dst []byte, local net.Addr) (_ []byte, ok bool) {
	a, ok := local.(*net.TCPAddr)
	if !ok {
		return dst, false
	}
	return strconv.AppendInt(dst, int64(a.Port), 10), true
}

// Proto is the scheme the client used: "https" over TLS, else "http".
func Proto(ctx *fasthttp.RequestCtx) []byte {
	if ctx.IsTLS() {
		return protoHTTPS
	}
	return protoHTTP
}
