package wsbridge

import (
	"bytes"
	"net/netip"
	"sort"
	"strconv"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
	"github.com/valyala/fasthttp"
)

// isoMillis is the timestamp layout of GetConnection.
const isoMillis = "2006-01-02T15:04:05.000Z"

// ServeManagement serves the @connections API for one connection of
// stage: POST sends the body as a text message, GET describes the
// connection, DELETE closes it. Callers must be SigV4-signed with a
// configured credential (service execute-api), or, with no credentials
// configured, come from a loopback address, as must the client a trusted
// proxy forwards for (Options.ClientIP).
func (b *Bridge) ServeManagement(ctx *fasthttp.RequestCtx, stage, connectionID string) {
	if !b.authorized(ctx) {
		fail(ctx, apierror.ConnectionForbidden)
		return
	}
	b.manage(ctx, stage, connectionID)
}

// ServeAdminManagement is ServeManagement for the admin listener, which
// authenticates callers itself: no SigV4, and any stage's connection.
func (b *Bridge) ServeAdminManagement(ctx *fasthttp.RequestCtx, connectionID string) {
	b.manage(ctx, "", connectionID)
}

func (b *Bridge) authorized(ctx *fasthttp.RequestCtx) bool {
	if len(b.s.secrets) == 0 {
		// The socket says where the request came from, the client
		// address where it started: behind a reverse proxy on this host
		// every socket is loopback, but the client the trusted proxy
		// forwards for (ClientIP) need not be.
		if !ctx.RemoteIP().IsLoopback() {
			return false
		}
		if !b.s.ownClientIP {
			return true // the client is the peer
		}
		client, err := netip.ParseAddr(b.s.clientIP(ctx))
		if err != nil || !client.IsLoopback() {
			b.s.log.Info("@connections call refused: no credentials configured and the client is not local", "remote", ctx.RemoteIP().String(), "client", client.String())
			return false
		}
		return true
	}
	if err := b.signer.Verify(&ctx.Request, ctx.IsTLS(), time.Now()); err != nil {
		b.s.log.Info("@connections call refused", "remote", ctx.RemoteIP().String(), "err", err)
		return false
	}
	return true
}

// manage runs one @connections operation; stage "" matches any stage. A
// connection another instance holds (cluster mode) is reached through it.
func (b *Bridge) manage(ctx *fasthttp.RequestCtx, stage, connectionID string) {
	if b.remote != nil && b.reg.get(connectionID) == nil {
		m := string(ctx.Method())
		if m == fasthttp.MethodPost && len(ctx.Request.Body()) > b.s.maxMessage {
			fail(ctx, apierror.MessageTooLarge)
			return
		}
		if m == fasthttp.MethodPost || m == fasthttp.MethodGet || m == fasthttp.MethodDelete {
			b.forward(ctx, stage, connectionID)
			return
		}
	}
	b.manageLocal(ctx, stage, connectionID)
}

// manageLocal runs one @connections operation on this instance's
// connections.
func (b *Bridge) manageLocal(ctx *fasthttp.RequestCtx, stage, connectionID string) {
	var rid [requestIDLen]byte
	ctx.Response.Header.SetBytesV("x-amzn-RequestId", appendRequestID(rid[:0]))
	method := ctx.Method()
	if string(method) == fasthttp.MethodPost && len(ctx.Request.Body()) > b.s.maxMessage {
		fail(ctx, apierror.MessageTooLarge)
		return
	}
	c := b.reg.get(connectionID)
	if c == nil || (stage != "" && c.stage != stage) {
		fail(ctx, apierror.ConnectionGone)
		return
	}
	switch string(method) {
	case fasthttp.MethodPost:
		switch err := c.send(b.s, &b.st, bytes.Clone(ctx.Request.Body()), false); err {
		case nil:
			ctx.SetStatusCode(fasthttp.StatusOK)
		case errQueueFull:
			b.st.queueFull.Add(1)
			fail(ctx, apierror.SendQueueFull)
		default:
			fail(ctx, apierror.ConnectionGone)
		}
	case fasthttp.MethodGet:
		out := make([]byte, 0, 160)
		out = append(out, '{')
		out = appendConnectionFields(out, c.info())
		out = append(out, '}')
		ctx.SetContentType("application/json")
		ctx.SetBody(out)
	case fasthttp.MethodDelete:
		if !c.closeWith(b.s, &b.st, websocket.CloseNormalClosure, reasonNormal) {
			fail(ctx, apierror.ConnectionGone)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	default:
		ctx.Response.Header.Set("Allow", "GET, POST, DELETE")
		fail(ctx, apierror.MethodNotAllowed)
	}
}

// ConnectionInfo describes one open connection.
type ConnectionInfo struct {
	ID           string
	Stage        string
	ConnectedAt  time.Time
	LastActiveAt time.Time // last frame from the client
	SourceIP     string
	UserAgent    string
	Queued       int // messages waiting to be written
}

// MarshalJSON writes the names and timestamp layout of API Gateway's
// GetConnection answer (connectionId, connectedAt, identity.sourceIp,
// identity.userAgent, lastActiveAt), so the admin listener's /connections
// reads like @connections; stage and queued are frontdesk's own.
func (ci ConnectionInfo) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 192)
	out = append(out, `{"connectionId":`...)
	out = jsonstr.Append(out, ci.ID)
	out = append(out, `,"stage":`...)
	out = jsonstr.Append(out, ci.Stage)
	out = append(out, ',')
	out = appendConnectionFields(out, ci)
	out = append(out, `,"queued":`...)
	out = strconv.AppendInt(out, int64(ci.Queued), 10)
	out = append(out, '}')
	return out, nil
}

// appendConnectionFields appends the fields of GetConnection's answer:
// connectedAt, identity (sourceIp, userAgent) and lastActiveAt.
func appendConnectionFields(out []byte, ci ConnectionInfo) []byte {
	out = append(out, `"connectedAt":"`...)
	out = ci.ConnectedAt.UTC().AppendFormat(out, isoMillis)
	out = append(out, `","identity":{"sourceIp":`...)
	out = jsonstr.Append(out, ci.SourceIP)
	out = append(out, `,"userAgent":`...)
	out = jsonstr.Append(out, ci.UserAgent)
	out = append(out, `},"lastActiveAt":"`...)
	out = ci.LastActiveAt.UTC().AppendFormat(out, isoMillis)
	return append(out, '"')
}

func (c *conn) info() ConnectionInfo {
	c.mu.Lock()
	queued := len(c.queue)
	c.mu.Unlock()
	return ConnectionInfo{
		ID:           c.id,
		Stage:        c.stage,
		ConnectedAt:  time.Unix(0, c.connectedAt),
		LastActiveAt: time.Unix(0, c.lastActive.Load()),
		SourceIP:     string(c.sourceIP),
		UserAgent:    string(c.userAgent),
		Queued:       queued,
	}
}

// ListConnections returns the open connections, oldest first.
func (b *Bridge) ListConnections() []ConnectionInfo {
	var out []ConnectionInfo
	b.reg.each(func(c *conn) { out = append(out, c.info()) })
	sort.Slice(out, func(i, j int) bool { return out[i].ConnectedAt.Before(out[j].ConnectedAt) })
	return out
}

// fail answers with the gateway response c of WebSocket APIs, written by
// apierror like every response frontdesk makes itself.
func fail(ctx *fasthttp.RequestCtx, c apierror.Code) {
	apierror.Write(&ctx.Response, apierror.WebSocket, c)
}
