package bench

import (
	"bytes"
	"fmt"
	"net"

	"github.com/valyala/fasthttp"
)

// UpstreamHandler answers every path with SmallBody, except LargePath,
// which answers LargeSize bytes. Bodies are built once, so the upstream
// spends its CPU on HTTP alone.
func UpstreamHandler() fasthttp.RequestHandler {
	small := []byte(SmallBody)
	large := bytes.Repeat([]byte("frontdesk-bench-"), LargeSize/16)
	return func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == LargePath {
			ctx.SetContentType("application/octet-stream")
			ctx.SetBody(large)
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(small)
	}
}

// NewUpstream returns the upstream's server, bound to nothing yet.
func NewUpstream() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               UpstreamHandler(),
		Name:                  "bench-upstream",
		NoDefaultServerHeader: true,
		// The suite's connections are few and long-lived; nothing to bound.
		Concurrency: 4096,
	}
}

// ListenLoopback binds 127.0.0.1 on a port the OS picks.
func ListenLoopback() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	return ln, nil
}
