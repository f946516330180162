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

// ConnText is a connection that keeps its peer's IP and its listener's
// port as text, worked out once when it was accepted (the server's
// listener does), so that no request formats them again.
type ConnText interface {
	PeerIPText() []byte    // the socket peer's IP, as AppendPeerIP writes it
	LocalPortText() []byte // the listener's port; empty when it is not TCP
}

// AppendPeer appends the IP of ctx's socket peer.
func AppendPeer(dst []byte, ctx *fasthttp.RequestCtx) []byte {
	if c, ok := ctx.Conn().(ConnText); ok {
		return append(dst, c.PeerIPText()...)
	}
	return AppendPeerIP(dst, ctx.RemoteAddr())
}

// AppendForwardedFor appends the X-Forwarded-For value to send on: every
// line the client sent, joined in order into one list (RFC 9110 §5.3),
// then the socket peer. It allocates nothing.
func AppendForwardedFor(dst []byte, ctx *fasthttp.RequestCtx) []byte {
	start := len(dst)
	for k, v := range ctx.Request.Header.All() {
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
	return AppendPeer(dst, ctx)
}

// AppendLocalPort appends the port of the listener ctx's request came in
// on; ok is false when the listener is not TCP.
func AppendLocalPort(dst []byte, ctx *fasthttp.RequestCtx) (_ []byte, ok bool) {
	if c, ok := ctx.Conn().(ConnText); ok {
		p := c.LocalPortText()
		return append(dst, p...), len(p) > 0
	}
	return AppendAddrPort(dst, ctx.LocalAddr())
}

// AppendAddrPort appends local's port; ok is false when it is not TCP.
func AppendAddrPort(dst []byte, local net.Addr) (_ []byte, ok bool) {
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
