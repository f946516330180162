// Package wsbridge serves Amazon API Gateway-style WebSocket APIs: it
// holds client connections and turns connect, message and disconnect into
// calls to stateless backends, which push messages back through the
// @connections management API (POST, GET and DELETE on a connection id).
//
// The gateway matches host, base path and stage, then hands the request
// to ServeUpgrade or ServeManagement. Each connection has one reader
// goroutine, which selects a route for every text message and calls its
// backend in order, and a writer goroutine that exists only while a
// bounded send queue has something in it; slow clients therefore never
// block @connections callers or each other. DISCONNECT events go through a
// bounded queue of their own and are retried, since a burst of them is
// the normal way clients leave.
//
// Hot path: a message's route selection scans the JSON without decoding
// it, and its event is appended into pooled buffers; an @connections POST
// is a registry look-up, one copy of the body and a queue append.
package wsbridge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/apierror"
	"github.com/frontdeskgw/frontdesk/auth/sigv4"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/frontdeskgw/frontdesk/internal/jsonstr"
	"github.com/frontdeskgw/frontdesk/lambda"
	"github.com/valyala/fasthttp"
)

// I/O buffer sizes per connection. fasthttp's own read buffer
// (Server.ReadBufferSize) stays under a hijacked connection and absorbs
// the reads, so the library's reader only needs room for a frame header
// and a control frame (125 bytes). Write buffers come from a pool and are
// held only while a message is being written.
const (
	readBufferSize  = 256
	writeBufferSize = 4 << 10
)

// Bridge is one WebSocket API.
type Bridge struct {
	s        *settings
	st       stats
	reg      *registry
	upgrader websocket.FastHTTPUpgrader
	// connBuilder makes the library's Conn over a frameGuard (see
	// guardedConn); upgrader checks and answers the handshake.
	connBuilder  websocket.Upgrader
	handshakeReq *http.Request
	noBuffers    *bufio.ReadWriter
	bufs         sync.Pool // *[]byte for messages and events
	signer       *sigv4.Verifier
	dq           disconnectQueue
	remote       Remote // nil on a single instance

	mu     sync.RWMutex // closed and the start of wg.Add against Close
	closed bool
	wg     sync.WaitGroup // live connections and $disconnect events not yet settled
}

// New validates opts and returns a Bridge.
func New(opts Options) (*Bridge, error) {
	s, err := opts.settings()
	if err != nil {
		return nil, fmt.Errorf("wsbridge: api %q: %w", opts.APIID, err)
	}
	b := &Bridge{
		s:      s,
		reg:    newRegistry(),
		signer: sigv4.NewVerifier(s.secrets, s.region, "execute-api"),
		dq:     disconnectQueue{stop: make(chan struct{})},
	}
	b.bufs.New = func() any {
		buf := make([]byte, 0, 4<<10)
		return &buf
	}
	writeBuffers := &sync.Pool{}
	b.upgrader = websocket.FastHTTPUpgrader{
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: writeBuffers,
		// API Gateway does not check Origin; a $connect backend can.
		CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
		Error: func(ctx *fasthttp.RequestCtx, status int, _ error) {
			apierror.WriteStatus(&ctx.Response, status)
		},
	}
	b.connBuilder = websocket.Upgrader{
		ReadBufferSize:  readBufferSize,
		WriteBufferSize: writeBufferSize,
		WriteBufferPool: writeBuffers,
		CheckOrigin:     func(*http.Request) bool { return true },
		Error:           func(http.ResponseWriter, *http.Request, int, error) {},
	}
	b.handshakeReq, b.noBuffers = newConnBuilder()
	return b, nil
}

// ServeUpgrade handles a WebSocket upgrade request for stage: it asks gate
// (nil: none) to admit it, runs the $connect route, then upgrades and
// serves the connection. A non-2xx $connect reply rejects the upgrade
// with that status; a failing backend rejects it with 500.
func (b *Bridge) ServeUpgrade(ctx *fasthttp.RequestCtx, stage string, gate Gate) {
	st, ok := b.s.stage(stage)
	if !ok {
		fail(ctx, apierror.Forbidden)
		return
	}
	if b.isClosed() {
		fail(ctx, apierror.NoHealthyUpstream)
		return
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		ctx.Response.Header.Set("Upgrade", "websocket")
		fail(ctx, apierror.UpgradeRequired)
		return
	}
	now := time.Now()
	id := newConnectionID()
	c := &conn{
		id:          id,
		idb:         []byte(id),
		stage:       st,
		stageVars:   b.s.stageVars[st],
		host:        b.s.domainName(ctx),
		sourceIP:    []byte(b.s.clientIP(ctx)),
		userAgent:   bytes.Clone(ctx.UserAgent()),
		connectedAt: now.UnixNano(),
	}
	c.lastActive.Store(c.connectedAt)

	if gate != nil {
		authz, ok := gate.Admit(ctx, stage)
		if !ok {
			b.st.connectsRejected.Add(1)
			return
		}
		c.authorizer = authz
	}
	if r := b.s.connect; r != nil && !b.runConnect(ctx, c, r, now) {
		b.st.connectsRejected.Add(1)
		return
	}
	if err := b.upgrader.Upgrade(ctx, func(*websocket.Conn) {}); err != nil {
		b.st.connectsRejected.Add(1)
		b.s.log.Debug("websocket upgrade refused", "connectionId", c.id, "err", err)
		return
	}
	// The upgrader has checked the handshake and set the 101 answer;
	// the connection is served over a frameGuard instead of the
	// upgrader's own hijack handler.
	ctx.Hijack(func(nc net.Conn) {
		ws, err := b.guardedConn(nc)
		if err != nil {
			b.s.log.Error("websocket connection setup failed", "connectionId", c.id, "err", err)
			return
		}
		b.serve(c, ws)
	})
}

// event returns the event fields every event of c shares.
func (b *Bridge) event(c *conn, typ lambda.WSEventType, routeKey string, requestID []byte, now time.Time) lambda.WSEventInput {
	return lambda.WSEventInput{
		EventType:      typ,
		RouteKey:       routeKey,
		Stage:          c.stage,
		APIID:          b.s.apiID,
		DomainName:     c.host,
		ConnectionID:   c.idb,
		ConnectedAt:    time.Unix(0, c.connectedAt),
		RequestID:      requestID,
		Time:           now,
		SourceIP:       c.sourceIP,
		UserAgent:      c.userAgent,
		StageVariables: c.stageVars,
		Authorizer:     c.authorizer,
	}
}

// runConnect calls the $connect backend and reports whether the upgrade
// may go on; when not, the response has been written.
func (b *Bridge) runConnect(ctx *fasthttp.RequestCtx, c *conn, r *routeEntry, now time.Time) bool {
	var rid [requestIDLen]byte
	in := b.event(c, lambda.WSConnect, RouteConnect, appendRequestID(rid[:0]), now)
	in.Req = &ctx.Request
	reply, err := b.call(r.Backend, &in, c.id)
	if err != nil {
		b.s.log.Warn("$connect backend failed", "connectionId", c.id, "err", err)
		fail(ctx, apierror.InternalError)
		return false
	}
	reply = unwrapLambda(reply)
	if reply.Status < 200 || reply.Status > 299 {
		ctx.SetStatusCode(reply.Status)
		for _, h := range reply.Headers {
			if ascii.EqualFold(h[0], "Content-Type") {
				ctx.SetContentType(h[1])
			}
		}
		ctx.SetBody(reply.Body)
		return false
	}
	for _, h := range reply.Headers {
		if allowedOnUpgrade(h[0]) {
			ctx.Response.Header.Add(h[0], h[1])
		}
	}
	return true
}

// allowedOnUpgrade filters $connect reply headers: the handshake headers
// belong to the bridge, anything else (Sec-WebSocket-Protocol,
// Set-Cookie, ...) goes on the 101.
func allowedOnUpgrade(name string) bool {
	for _, h := range [...]string{
		"Content-Length", "Content-Type", "Connection", "Upgrade", "Transfer-Encoding",
		"Sec-WebSocket-Accept", "Sec-WebSocket-Extensions", "Sec-WebSocket-Version",
	} {
		if ascii.EqualFold(name, h) {
			return false
		}
	}
	return true
}

// serve runs in the hijack goroutine for the life of the connection.
func (b *Bridge) serve(c *conn, ws *websocket.Conn) {
	c.ws = ws
	ws.SetReadLimit(int64(b.s.maxMessage))
	ws.SetPingHandler(func(data string) error {
		c.touch(b.s)
		err := ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(controlWait))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || errors.As(err, &ne) {
			return nil
		}
		return err
	})
	ws.SetPongHandler(func(string) error {
		c.touch(b.s)
		return nil
	})

	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		code, reason := c.abort(websocket.CloseGoingAway, reasonGoingAway)
		c.finish()
		b.disconnectNow(c, code, reason)
		return
	}
	if !b.reg.add(c) {
		b.mu.RUnlock()
		b.s.log.Error("connection id collision", "connectionId", c.id)
		c.abort(websocket.CloseInternalServerErr, "")
		c.finish()
		return
	}
	b.wg.Add(1)
	b.mu.RUnlock()
	if b.remote != nil {
		b.remote.Owned(c.id, time.Unix(0, c.connectedAt), string(c.sourceIP), string(c.userAgent))
	}
	b.st.open.Add(1)
	b.st.connects.Add(1)

	code, reason := b.readLoop(c)

	b.reg.remove(c.id)
	if b.remote != nil {
		b.remote.Released(c.id)
	}
	c.finish()
	b.st.open.Add(-1)
	b.st.disconnects.Add(1)
	// $disconnect runs on its own so that fasthttp closes the socket now.
	b.queueDisconnect(c, code, reason)
}

// readLoop reads messages until the connection ends and returns the
// close code and reason for $disconnect.
func (b *Bridge) readLoop(c *conn) (int, string) {
	c.refreshDeadline(b.s, time.Now())
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			return c.stopReading(b.s, err)
		}
		c.lastActive.Store(time.Now().UnixNano())
		if mt != websocket.TextMessage {
			return c.abort(websocket.CloseUnsupportedData, reasonBinary)
		}
		buf := b.bufs.Get().(*[]byte)
		msg, err := readMessage((*buf)[:0], r)
		if err != nil {
			*buf = msg[:0]
			b.bufs.Put(buf)
			return c.stopReading(b.s, err)
		}
		// The library does not check text for UTF-8 (RFC 6455 §8.1:
		// fail the connection); a fragment may end inside a character,
		// so the whole message is what is checked.
		if !utf8.Valid(msg) {
			*buf = msg[:0]
			b.bufs.Put(buf)
			return c.abort(websocket.CloseInvalidFramePayloadData, reasonBadUTF8)
		}
		b.handleMessage(c, msg)
		*buf = msg[:0]
		b.bufs.Put(buf)
		c.refreshDeadline(b.s, time.Now())
	}
}

// handleMessage routes one text message and calls its backend.
func (b *Bridge) handleMessage(c *conn, msg []byte) {
	b.st.messagesIn.Add(1)
	var keyBuf [64]byte
	route := b.s.fallback
	if key, isJSON := b.s.selector.eval(keyBuf[:0], msg); isJSON && len(key) > 0 && key[0] != '$' {
		if r, ok := b.s.routes[string(key)]; ok {
			route = r
		}
	}
	var rid, mid [requestIDLen]byte
	requestID := appendRequestID(rid[:0])
	if route == nil {
		b.sendError(c, "Forbidden", requestID)
		return
	}
	in := b.event(c, lambda.WSMessage, route.key, requestID, time.Now())
	in.MessageID = appendRequestID(mid[:0])
	in.Body = msg
	reply, err := b.call(route.Backend, &in, c.id)
	if err == nil && reply.Status >= 500 {
		err = fmt.Errorf("backend answered %d", reply.Status)
	}
	if err != nil {
		b.s.log.Warn("websocket route backend failed", "route", route.key, "connectionId", c.id, "requestId", string(requestID), "err", err)
		b.sendError(c, "Internal server error", requestID)
		return
	}
	if route.Reply {
		if body := unwrapLambda(reply).Body; len(body) > 0 {
			_ = c.send(b.s, &b.st, body, true)
		}
	}
}

// sendError sends API Gateway's error frame to the caller.
func (b *Bridge) sendError(c *conn, message string, requestID []byte) {
	f := make([]byte, 0, 96)
	f = append(f, `{"message":`...)
	f = jsonstr.Append(f, message)
	f = append(f, `,"connectionId":`...)
	f = jsonstr.Append(f, c.id)
	f = append(f, `,"requestId":`...)
	f = jsonstr.Append(f, requestID)
	f = append(f, '}')
	_ = c.send(b.s, &b.st, f, true)
}

// disconnectNow makes one $disconnect call for a connection that met a
// closing bridge, which no longer takes queued events.
func (b *Bridge) disconnectNow(c *conn, code int, reason string) {
	b.st.disconnects.Add(1)
	if b.s.disconnect == nil {
		return
	}
	j := disconnectJob{c: c, code: code, reason: reason, at: time.Now()}
	appendRequestID(j.rid[:0])
	if err := b.callDisconnect(&j); err != nil {
		b.st.disconnectsDropped.Add(1)
		b.s.log.Warn("$disconnect backend failed", "connectionId", c.id, "err", err)
	}
}

// call invokes a backend with in's event, built in a pooled buffer, and
// accounts for it.
func (b *Bridge) call(be Backend, in *lambda.WSEventInput, connectionID string) (Reply, error) {
	buf := b.bufs.Get().(*[]byte)
	defer b.bufs.Put(buf)
	*buf = lambda.AppendWebSocketEvent((*buf)[:0], in)
	ctx := context.Background()
	if b.s.backendTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.s.backendTimeout)
		defer cancel()
	}
	start := time.Now()
	r, err := be.Call(ctx, *buf, connectionID)
	b.st.backendNanos.Add(int64(time.Since(start)))
	b.st.backendCalls.Add(1)
	if err != nil {
		b.st.backendErrors.Add(1)
		return r, err
	}
	if r.Status == 0 {
		r.Status = fasthttp.StatusOK
	}
	return r, nil
}

func (b *Bridge) isClosed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.closed
}

// Close closes every connection with 1001 "Going away" (after the messages
// already queued for it), waits for the clients to answer or for the
// close grace to pass, and returns once every $disconnect event has been
// delivered or given up: disconnectDrain after Close started, queued
// events are dropped and failed calls no longer retried, so Close returns
// within that plus one backend timeout. Upgrades arriving afterwards get
// 503.
func (b *Bridge) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.reg.each(func(c *conn) {
		c.closeWith(b.s, &b.st, websocket.CloseGoingAway, reasonGoingAway)
	})
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(b.s.disconnectDrain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		close(b.dq.stop)
		<-done
	}
	return nil
}

// Stats are the bridge's counters since New.
type Stats struct {
	OpenConnections  int64
	Connects         uint64 // connections established
	ConnectsRejected uint64 // upgrades refused by $connect or the handshake
	Disconnects      uint64
	MessagesIn       uint64 // text messages from clients
	MessagesOut      uint64 // text messages written to clients
	QueueFull        uint64 // @connections POSTs refused with 429
	// DisconnectsDropped counts DISCONNECT events that never reached the
	// backend: the $disconnect queue was full, or every attempt failed.
	DisconnectsDropped uint64
	BackendCalls       uint64
	BackendErrors      uint64
	BackendLatency     time.Duration // sum over BackendCalls
}

type stats struct {
	open               atomic.Int64
	connects           atomic.Uint64
	connectsRejected   atomic.Uint64
	disconnects        atomic.Uint64
	messagesIn         atomic.Uint64
	messagesOut        atomic.Uint64
	queueFull          atomic.Uint64
	disconnectsDropped atomic.Uint64
	backendCalls       atomic.Uint64
	backendErrors      atomic.Uint64
	backendNanos       atomic.Int64
}

// Stats returns a snapshot of the counters.
func (b *Bridge) Stats() Stats {
	return Stats{
		OpenConnections:    b.st.open.Load(),
		Connects:           b.st.connects.Load(),
		ConnectsRejected:   b.st.connectsRejected.Load(),
		Disconnects:        b.st.disconnects.Load(),
		MessagesIn:         b.st.messagesIn.Load(),
		MessagesOut:        b.st.messagesOut.Load(),
		QueueFull:          b.st.queueFull.Load(),
		DisconnectsDropped: b.st.disconnectsDropped.Load(),
		BackendCalls:       b.st.backendCalls.Load(),
		BackendErrors:      b.st.backendErrors.Load(),
		BackendLatency:     time.Duration(b.st.backendNanos.Load()),
	}
}
