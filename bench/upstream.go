package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"

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

// ServeLoopback serves srv on 127.0.0.1, on a port the OS picks, for the
// suite's serving subcommands: it says "listening ADDR" on stdout once
// bound, and when ctx ends shuts srv down, letting requests in flight
// finish for up to 2 s. Errors are name's.
func ServeLoopback(ctx context.Context, name string, srv *fasthttp.Server, stdout io.Writer) error {
	ln, err := ListenLoopback()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	select {
	case err := <-done:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("%s shutdown: %w", name, err)
	}
	return nil
}
