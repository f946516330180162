package wsbridge

import (
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/valyala/fasthttp"
	"time"
)

// Remote reaches the connections other instances own, in cluster mode:
// the bridge tells it which connections live here, and asks it to run an
// @connections call it cannot serve locally on the owning instance. The
// WebSocket data path never calls it; only connects, disconnects and
// @connections calls for ids this instance does not hold do.
type Remote interface {
	// Owned records that connection id lives on this instance, with what
	// GetConnection tells of it (so another instance can describe it when
	// this one is slow to answer); Released that it ended.
	Owned(id string, connectedAt time.Time, sourceIP, userAgent string)
	Released(id string)
	// Forward runs method on connection id on the instance that owns it
	// and returns that instance's answer. found is false when no live
	// instance owns id (the caller answers 410 Gone).
	Forward(method, stage, id string, body []byte) (status int, contentType string, respBody []byte, found bool)
}

// SetRemote plugs the cluster in (nil unplugs). Call it before the
// bridge serves.
func (b *Bridge) SetRemote(r Remote) { b.remote = r }

// ServeForwarded runs an @connections call forwarded by another instance
// (already authorized there) against a connection of this one, and
// returns the answer to send back.
func (b *Bridge) ServeForwarded(method, stage, id string, body []byte) (status int, contentType string, respBody []byte) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetBody(body)
	b.manageLocal(&ctx, stage, id)
	return ctx.Response.StatusCode(), string(ctx.Response.Header.ContentType()), append([]byte(nil), ctx.Response.Body()...)
}

// forward answers an @connections call for an id not held here by asking
// the instance that holds it; 410 Gone when none does.
func (b *Bridge) forward(ctx *fasthttp.RequestCtx, stage, id string) {
	var rid [requestIDLen]byte
	ctx.Response.Header.SetBytesV("x-amzn-RequestId", appendRequestID(rid[:0]))
	status, ct, body, found := b.remote.Forward(string(ctx.Method()), stage, id, ctx.Request.Body())
	if !found {
		fail(ctx, apierror.ConnectionGone)
		return
	}
	ctx.SetStatusCode(status)
	if ct != "" {
		ctx.SetContentType(ct)
	}
	ctx.SetBody(body)
}
