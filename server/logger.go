package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// fasthttp's line for the error that ended a connection. For a request it
// could not parse, the error quotes the request (a header value, the
// request line), so such lines are never logged as they are.
const connErrorFormat = "error when serving connection %q<->%q: %v"

// fasthttp's other lines whose arguments carry no request data (a count,
// an accept error, a client address). Lines in any other format are
// logged without their arguments.
var safeFormats = map[string]bool{
	"Timeout error when accepting new connections: %v":           true,
	"Permanent error when accepting new connections: %v":         true,
	"The number of connections from %s exceeds MaxConnsPerIP=%d": true,
	"The incoming connection cannot be served, because %d concurrent connections are served. " +
		"Try increasing Server.Concurrency": true,
}

// slogPrinter routes fasthttp's own log lines to slog.
//
// A connection's error is a client's doing, and a client can cause one per
// connection: the request it belongs to was already answered and counted
// (frontdesk_bad_requests_total), so it is logged at debug, with the
// client's address and the kind of error only. fasthttp's other lines
// (the connection limit reached, accept errors) are the operator's
// business and are logged at warn, at most one a second: under a flood
// each refused connection would write one.
type slogPrinter struct {
	log        *slog.Logger
	last       atomic.Int64 // Unix second of the last warning written
	suppressed atomic.Int64 // warnings dropped since
}

func newSlogPrinter(log *slog.Logger) *slogPrinter { return &slogPrinter{log: log} }

func (p *slogPrinter) Printf(format string, args ...any) {
	if format == connErrorFormat && len(args) == 3 {
		if p.log.Enabled(context.Background(), slog.LevelDebug) {
			err, _ := args[2].(error)
			p.log.Debug("connection ended by a request error", "component", "fasthttp",
				"remote", fmt.Sprint(args[1]), "error", errorKind(err))
		}
		return
	}
	now := time.Now().Unix()
	last := p.last.Load()
	if last == now || !p.last.CompareAndSwap(last, now) {
		p.suppressed.Add(1)
		return
	}
	attrs := []any{"component", "fasthttp"}
	if n := p.suppressed.Swap(0); n > 0 {
		attrs = append(attrs, "suppressed", n)
	}
	msg := format
	if safeFormats[format] {
		msg = fmt.Sprintf(format, args...)
	}
	p.log.Warn(msg, attrs...)
}

// errorKind names the kind of a connection's error without its text, which
// may quote the request.
func errorKind(err error) string {
	var small *fasthttp.ErrSmallBuffer
	var broken fasthttp.ErrBrokenChunk
	var ne net.Error
	switch {
	case err == nil:
		return "unknown"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return "body too large"
	case errors.As(err, &small):
		return "head too large"
	case errors.As(err, &broken):
		return "malformed chunked body"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "malformed request"
}
