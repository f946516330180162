package wsbridge

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/frontdeskgw/frontdesk/lambda"
)

// Close codes and reasons the bridge uses (RFC 6455 §7.4.1).
const (
	reasonNormal      = "Connection Closed Normally" // @connections DELETE
	reasonGoingAway   = "Going away"                 // shutdown
	reasonIdle        = "Idle timeout"
	reasonMaxAge      = "Maximum connection duration exceeded"
	reasonBinary      = "Binary frames are not supported"
	reasonTooBig      = "Message too big"
	reasonWriteFailed = "Write to client failed"
	reasonBadUTF8     = "Invalid UTF-8 in text message"
	reasonProtocol    = "Protocol error"
)

// closeGrace is how long the bridge waits for the client to answer its
// close frame before dropping the TCP connection.
const closeGrace = 2 * time.Second

// controlWait bounds the write of a control frame from the read side.
const controlWait = time.Second

var (
	errGone      = errors.New("wsbridge: connection gone")
	errQueueFull = errors.New("wsbridge: send queue full")
)

// conn is one client connection. Its reader goroutine is the fasthttp
// hijack goroutine (it reads frames and calls backends in order); a writer
// goroutine is started only while frames are queued, so an idle
// connection costs one goroutine and a few hundred bytes here.
type conn struct {
	id    string
	idb   []byte // id again, as events take bytes
	stage string
	// stageVars are the stage's variables, shared with every other
	// connection of the stage.
	stageVars []lambda.Param
	// Request details repeated in every event, kept as bytes for the
	// event builder.
	host        []byte
	sourceIP    []byte
	userAgent   []byte
	connectedAt int64 // unix ns
	// authorizer is the $connect authorizer's context, sent in every
	// event of the connection (nil: none).
	authorizer []byte
	lastActive atomic.Int64
	ws         *websocket.Conn

	mu sync.Mutex
	// queue holds text messages for the writer, at most settings.queueLen
	// of them. nil when empty, so idle connections hold no array.
	queue   [][]byte
	writing bool // a drain goroutine is running
	// closeCode != 0 once the connection is being closed; the reason goes
	// to $disconnect. Set by the bridge (DELETE, shutdown, write failure)
	// or by the reader when it stops.
	closeCode   int
	closeReason string
	closeQueued bool // the drain sends the close frame after the queue
	done        bool // the reader has finished: nothing may touch ws
	wake        chan struct{}
}

// signal wakes whoever waits for queue space or for the writer to stop.
// Callers hold c.mu.
func (c *conn) signal() {
	if c.wake != nil {
		close(c.wake)
		c.wake = nil
	}
}

// waitLocked releases c.mu until the next signal, then reacquires it.
func (c *conn) waitLocked() {
	if c.wake == nil {
		c.wake = make(chan struct{})
	}
	ch := c.wake
	c.mu.Unlock()
	<-ch
	c.mu.Lock()
}

// send queues a text message. With wait, used for replies from the reader
// goroutine, it waits for room (the client's own input is then held
// back); without, used by @connections, a full queue is an error.
func (c *conn) send(s *settings, st *stats, msg []byte, wait bool) error {
	c.mu.Lock()
	for {
		if c.done || c.closeCode != 0 {
			c.mu.Unlock()
			return errGone
		}
		if len(c.queue) < s.queueLen {
			break
		}
		if !wait {
			c.mu.Unlock()
			return errQueueFull
		}
		c.waitLocked()
	}
	c.queue = append(c.queue, msg)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.drain(s, st)
	}
	return nil
}

// closeWith starts a close initiated by the bridge: the close frame
// follows the queued messages. It reports false when the connection is
// already closing.
func (c *conn) closeWith(s *settings, st *stats, code int, reason string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done || c.closeCode != 0 {
		return false
	}
	c.closeCode, c.closeReason = code, reason
	c.closeQueued = true
	c.signal()
	if !c.writing {
		c.writing = true
		go c.drain(s, st)
	}
	return true
}

// drain writes queued messages, then the close frame if one is due, and
// exits when there is nothing left: the next send starts a new drain.
func (c *conn) drain(s *settings, st *stats) {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			if c.closeQueued && !c.done {
				c.closeQueued = false
				code, reason := c.closeCode, c.closeReason
				c.mu.Unlock()
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(s.writeTimeout))
				c.mu.Lock()
				if !c.done {
					// Wake the reader if the client never answers.
					_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
				}
			}
			c.writing = false
			c.signal()
			c.mu.Unlock()
			return
		}
		msg := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil
		}
		c.signal()
		c.mu.Unlock()

		_ = c.ws.SetWriteDeadline(time.Now().Add(s.writeTimeout))
		if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			c.mu.Lock()
			// After a close frame went out (ErrCloseSent) the reader is
			// already settling how the connection ended.
			if !c.done && !errors.Is(err, websocket.ErrCloseSent) {
				s.log.Debug("websocket write failed", "connectionId", c.id, "err", err)
				if c.closeCode == 0 {
					c.closeCode = websocket.CloseAbnormalClosure
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						c.closeReason = reasonWriteFailed // the client stopped reading
					}
				}
				_ = c.ws.SetReadDeadline(time.Now()) // wake the reader
			}
			c.queue = nil
			c.closeQueued = false
			c.writing = false
			c.signal()
			c.mu.Unlock()
			return
		}
		st.messagesOut.Add(1)
	}
}

// refreshDeadline moves the read deadline to the idle limit, capped by the
// connection's maximum age. A closing connection keeps the deadline its
// close set.
func (c *conn) refreshDeadline(s *settings, now time.Time) {
	d := now.Add(s.idle)
	if maxAt := time.Unix(0, c.connectedAt).Add(s.maxAge); maxAt.Before(d) {
		d = maxAt
	}
	c.mu.Lock()
	if c.closeCode == 0 {
		_ = c.ws.SetReadDeadline(d)
	}
	c.mu.Unlock()
}

// touch records activity from the client.
func (c *conn) touch(s *settings) {
	now := time.Now()
	c.lastActive.Store(now.UnixNano())
	c.refreshDeadline(s, now)
}

// stopReading settles why the connection ended after the read side failed
// with err, sends the close frame the client is owed, and returns the
// code and reason for $disconnect.
func (c *conn) stopReading(s *settings, err error) (int, string) {
	c.mu.Lock()
	code, reason := c.closeCode, c.closeReason
	send := false
	if code == 0 {
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
			code, reason = ce.Code, ce.Text // already answered by the close handler
		case errors.Is(err, websocket.ErrReadLimit):
			code, reason = websocket.CloseMessageTooBig, reasonTooBig // the library sent the close frame
		case errors.Is(err, errOneByteClose):
			code, reason, send = websocket.CloseProtocolError, reasonProtocol, true
		case errors.As(err, &ne) && ne.Timeout():
			code, reason, send = websocket.CloseGoingAway, reasonIdle, true
			if !time.Now().Before(time.Unix(0, c.connectedAt).Add(s.maxAge)) {
				reason = reasonMaxAge
			}
		default: // the peer vanished without a close frame
			code, reason = websocket.CloseAbnormalClosure, ""
		}
		c.closeCode, c.closeReason = code, reason
	}
	c.mu.Unlock()
	if send {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(controlWait))
	}
	return code, reason
}

// abort closes the connection from the read side at once, with code.
func (c *conn) abort(code int, reason string) (int, string) {
	c.mu.Lock()
	if c.closeCode == 0 {
		c.closeCode, c.closeReason = code, reason
	} else {
		code, reason = c.closeCode, c.closeReason
	}
	c.mu.Unlock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(controlWait))
	return code, reason
}

// finish ends the connection once the reader has stopped: it drops what
// is queued, closes the socket (which fails a blocked write at once) and
// waits for the writer, since the library's connection must not be used
// after the hijack handler returns.
func (c *conn) finish() {
	c.mu.Lock()
	c.done = true
	c.queue = nil
	c.closeQueued = false
	closeSocket(c.ws.NetConn())
	for c.writing {
		c.waitLocked()
	}
	// Nothing touches ws once done is set and the writer is gone; a
	// $disconnect event waiting in the queue then keeps c, not the
	// library's connection and buffers.
	c.ws = nil
	c.signal()
	c.mu.Unlock()
}

// closeSocket closes the TCP connection under fasthttp's hijacked
// wrapper, whose own Close is a no-op until the hijack handler returns.
func closeSocket(nc net.Conn) {
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	_ = nc.Close()
}

// readMessage appends the rest of a message to buf.
func readMessage(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
