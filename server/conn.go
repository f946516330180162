package server

import (
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/frontdeskgw/frontdesk/exchange"
)

// A write deadline is set again at most this often: setting one re-arms a
// runtime timer, which costs more than the check.
const deadlineRefresh = time.Second

// The coarse clock's resolution.
const clockTick = 500 * time.Millisecond

// coarseClock is the time to within a tick, read with one atomic load:
// time.Now costs 20 ns with a vDSO clock and 200 ns without one, and a
// write looks at the clock every time.
type coarseClock struct {
	now  atomic.Int64 // Unix nanoseconds
	stop chan struct{}
	once sync.Once
}

// startClock starts the clock; every tick, after the clock moves, it
// calls each of onTick with the new time (Unix nanoseconds).
func startClock(onTick ...func(now int64)) *coarseClock {
	c := &coarseClock{stop: make(chan struct{})}
	c.now.Store(time.Now().UnixNano())
	go func() {
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				ns := now.UnixNano()
				c.now.Store(ns)
				for _, f := range onTick {
					f(ns)
				}
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

func (c *coarseClock) close() { c.once.Do(func() { close(c.stop) }) }

// The largest piece of one Write given to the socket under one deadline:
// a large write goes out in pieces, so a slow client that keeps reading
// makes progress within the send timeout however large the write.
const maxSendPiece = 64 << 10

// connTimeouts are a client connection's time limits.
type connTimeouts struct {
	send time.Duration // server.send_timeout
	read time.Duration // server.read_timeout; 0: none
	idle time.Duration // server.idle_timeout; 0: read
}

// listener gives its connections a send timeout and keeps their read
// deadlines (readdeadline.go), read_timeout and idle_timeout included.
// Its clock runs until it is closed (fasthttp closes it on shutdown).
type listener struct {
	net.Listener
	timeouts connTimeouts
	clock    *coarseClock
	reads    *readDeadlines
}

func newListener(ln net.Listener, timeouts connTimeouts) *listener {
	if timeouts.idle == 0 {
		timeouts.idle = timeouts.read
	}
	reads := newReadDeadlines()
	return &listener{Listener: ln, timeouts: timeouts, reads: reads, clock: startClock(reads.sweep)}
}

func (l *listener) Close() error {
	l.clock.close()
	return l.Listener.Close()
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &clientConn{Conn: c, sendTimeout: int64(l.timeouts.send), clock: l.clock, reads: l.reads,
		requestTimeouts: requestTimeouts{
			auto:        l.timeouts.read > 0 || l.timeouts.idle > 0,
			readTimeout: int64(l.timeouts.read),
			idleTimeout: int64(l.timeouts.idle),
		}}
	cc.keepText()
	l.reads.add(cc)
	// A new connection's first request, TLS handshake included, has
	// read_timeout from now.
	cc.autoReadDeadline(cc.readTimeout)
	if tc, ok := c.(*tls.Conn); ok {
		// fasthttp recognises a TLS connection by these methods.
		return &tlsClientConn{clientConn: cc, tls: tc}, nil
	}
	return cc, nil
}

// clientConn is a client connection whose writes wait at most the send
// timeout for the client to read: like nginx's send_timeout, the bound is
// on each wait between two successive writes making progress, not on the
// whole response, so large responses stream to slow clients that read.
//
// Its state is atomic because a hijacked connection (a WebSocket) may be
// written by one goroutine while another sets a deadline.
type clientConn struct {
	net.Conn
	sendTimeout int64 // nanoseconds
	clock       *coarseClock
	// reads keeps the read deadline when set (nil: the runtime does).
	reads *readDeadlines
	readDeadlineState

	// refreshed is when the write deadline was last set here (Unix
	// nanoseconds; 0: set it before the next write).
	refreshed atomic.Int64
	// While a chunked body is read, reads may take at most readLeft more
	// bytes from the socket (see bodies.framing). Only the connection's
	// serving goroutine uses these.
	readLimited bool
	readLeft    int
	requestTimeouts

	// The peer's IP and the listener's port as text (exchange.ConnText),
	// worked out once: every proxied request sends them on.
	peerIP    [48]byte
	peerIPLen uint8
	localPort [8]byte
	portLen   uint8

	// fixed is a write deadline set through SetWriteDeadline or
	// SetDeadline (fasthttp's write_timeout, a WebSocket's own), as Unix
	// nanoseconds; 0 when none. The send timeout never extends it.
	fixed atomic.Int64
}

// keepText formats the connection's peer IP and local port.
func (c *clientConn) keepText() {
	c.peerIPLen = uint8(len(exchange.AppendPeerIP(c.peerIP[:0], c.RemoteAddr())))
	port, _ := exchange.AppendAddrPort(c.localPort[:0], c.LocalAddr())
	c.portLen = uint8(len(port))
}

// PeerIPText is the peer's IP as text (exchange.ConnText).
func (c *clientConn) PeerIPText() []byte { return c.peerIP[:c.peerIPLen] }

// LocalPortText is the listener's port as text; empty when not TCP.
func (c *clientConn) LocalPortText() []byte { return c.localPort[:c.portLen] }

func (c *clientConn) Read(p []byte) (int, error) {
	n, err := c.read(p)
	if n > 0 && c.awaiting {
		c.requestStarted()
	}
	return n, err
}

func (c *clientConn) read(p []byte) (int, error) {
	if !c.readLimited {
		return c.Conn.Read(p)
	}
	if c.readLeft <= 0 {
		return 0, errChunkedFraming
	}
	if len(p) > c.readLeft {
		p = p[:c.readLeft]
	}
	n, err := c.Conn.Read(p)
	c.readLeft -= n
	return n, err
}

// limitRead lets the next reads take n bytes from the socket at most. A
// nil c, a connection not from the listener, limits nothing.
func (c *clientConn) limitRead(n int) {
	if c != nil {
		c.readLimited, c.readLeft = true, n
	}
}

func (c *clientConn) unlimitRead() {
	if c != nil {
		c.readLimited = false
	}
}

// clientConnOf is ctx's connection, or nil when it is not the listener's.
func clientConnOf(ctx *fasthttp.RequestCtx) *clientConn {
	switch c := ctx.Conn().(type) {
	case *clientConn:
		return c
	case *tlsClientConn:
		return c.clientConn
	}
	return nil
}

func (c *clientConn) Write(p []byte) (int, error) {
	if c.auto {
		c.answering()
	}
	written := 0
	for {
		piece := p
		if len(piece) > maxSendPiece {
			piece = piece[:maxSendPiece]
		}
		if err := c.refresh(); err != nil {
			return written, err
		}
		n, err := c.Conn.Write(piece)
		written += n
		p = p[n:]
		if err != nil || len(p) == 0 {
			return written, err
		}
	}
}

// refresh moves the write deadline to a send timeout from now, unless it
// was moved less than a second ago. The deadline is a second and a clock
// tick further, so that a write starting just before the next refresh, by
// a clock a tick late, still has the whole send timeout: a write that
// makes no progress fails after the send timeout plus up to 1.5 s.
func (c *clientConn) refresh() error {
	now := c.clock.now.Load()
	if now-c.refreshed.Load() < int64(deadlineRefresh) {
		return nil
	}
	c.refreshed.Store(now)
	d := now + c.sendTimeout + int64(deadlineRefresh+clockTick)
	if f := c.fixed.Load(); f != 0 && f < d {
		d = f
	}
	return c.Conn.SetWriteDeadline(time.Unix(0, d))
}

func (c *clientConn) SetWriteDeadline(t time.Time) error {
	c.fix(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *clientConn) SetDeadline(t time.Time) error {
	c.fix(t)
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// fix records a write deadline set by the connection's user; the next
// write combines it with the send timeout.
func (c *clientConn) fix(t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	c.fixed.Store(ns)
	c.refreshed.Store(0)
}

// tlsClientConn is a clientConn over TLS.
type tlsClientConn struct {
	*clientConn
	tls *tls.Conn
}

func (c *tlsClientConn) Handshake() error                     { return c.tls.Handshake() }
func (c *tlsClientConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }
