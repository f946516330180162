package server

import (
	"sync"
	"sync/atomic"
	"time"
)

// Read deadlines on client connections are kept by the listener instead
// of the runtime. fasthttp sets one twice per keep-alive request (the idle
// timeout before the next request, the read timeout once it starts), and
// each re-arms a runtime timer: a lock, a heap update and a clock read,
// about 3% of a proxied request's CPU. Here setting a future deadline is
// one atomic store; the listener's clock goroutine looks at every
// connection each tick and, for one whose deadline has passed, sets a
// past runtime deadline, which ends a waiting Read with
// os.ErrDeadlineExceeded as the runtime's own timer would. A deadline
// therefore fires up to one tick (clockTick) late, never early. nginx
// keeps its timers the same way, to within timer_resolution.
//
// A deadline due within a tick when it is set (time.Now(), the idiom for
// waking a reader at once, or a short wait) goes to the runtime directly,
// and is exact.

// deadlineFired marks a connection whose deadline the sweep has applied.
const deadlineFired = -1

// readDeadlines is the set of a listener's live connections with read
// deadlines to watch. Its size is bounded by the listener's connections
// (server.max_conns).
type readDeadlines struct {
	mu    sync.Mutex
	conns map[*clientConn]struct{}
}

func newReadDeadlines() *readDeadlines {
	return &readDeadlines{conns: make(map[*clientConn]struct{})}
}

func (r *readDeadlines) add(c *clientConn) {
	r.mu.Lock()
	r.conns[c] = struct{}{}
	r.mu.Unlock()
}

func (r *readDeadlines) remove(c *clientConn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// sweep fires every deadline at or before now (Unix nanoseconds).
func (r *readDeadlines) sweep(now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		if d := c.readDeadline.Load(); d > 0 && d <= now {
			c.fireReadDeadline(d)
		}
	}
}

// readDeadlineState is a clientConn's part: the deadline it asked for
// (Unix nanoseconds; 0 none; deadlineFired once the runtime holds one),
// and a lock that orders the sweep's past deadline against a new one
// clearing it.
type readDeadlineState struct {
	readDeadline atomic.Int64
	fireMu       sync.Mutex
}

// aLongTimeAgo is a deadline in the past: set, it ends a waiting Read.
var aLongTimeAgo = time.Unix(1, 0)

func (c *clientConn) fireReadDeadline(d int64) {
	c.fireMu.Lock()
	if c.readDeadline.CompareAndSwap(d, deadlineFired) {
		_ = c.Conn.SetReadDeadline(aLongTimeAgo)
	}
	c.fireMu.Unlock()
}

// SetReadDeadline keeps a future deadline for the sweep; see above.
func (c *clientConn) SetReadDeadline(t time.Time) error {
	if c.reads == nil {
		return c.Conn.SetReadDeadline(t)
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
		if ns <= c.clock.now.Load()+int64(clockTick) {
			// Due already, or within the clock's tick (the coarse clock
			// lags by up to one): the runtime keeps this one, exactly.
			c.fireMu.Lock()
			c.readDeadline.Store(deadlineFired)
			err := c.Conn.SetReadDeadline(t)
			c.fireMu.Unlock()
			return err
		}
	}
	return c.keepReadDeadline(ns)
}

// keepReadDeadline hands the sweep a deadline (Unix nanoseconds; 0: none)
// due more than a tick from now.
func (c *clientConn) keepReadDeadline(ns int64) error {
	if c.readDeadline.Swap(ns) != deadlineFired {
		return nil
	}
	// The runtime holds the last deadline: it must go, unless the sweep
	// fired the new one meanwhile.
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	if c.readDeadline.Load() == deadlineFired {
		return nil
	}
	return c.Conn.SetReadDeadline(time.Time{})
}

// requestTimeouts keeps server.read_timeout and server.idle_timeout for
// the connection, in place of fasthttp, which would read the clock twice
// per keep-alive request to set them (about 1% of a proxied request's
// CPU). The connection sees the requests' boundaries in its own reads and
// writes: a write is an answer going out, after which the connection
// waits for the next request under idle_timeout; the first byte read
// after it starts a request, which has read_timeout to arrive whole, as
// fasthttp counts it. The deadlines are set from the coarse clock plus a
// tick, so they fire up to two ticks (1 s) late, never early.
//
// Only the connection's serving goroutine uses these fields; a hijacked
// connection (a WebSocket) keeps its own deadlines (ownDeadlines), and
// the hijacking goroutine starts after that.
type requestTimeouts struct {
	auto        bool  // the timeouts are kept here
	awaiting    bool  // an answer went out; the next byte starts a request
	continuing  bool  // the next write is a 100 Continue, within the request
	readTimeout int64 // nanoseconds; 0: none
	idleTimeout int64
}

// autoReadDeadline sets the read deadline timeout from now; a deadline
// already there within the clock's resolution stays.
func (c *clientConn) autoReadDeadline(timeout int64) {
	if !c.auto || c.reads == nil {
		return
	}
	var ns int64
	if timeout > 0 {
		ns = c.clock.now.Load() + timeout + int64(clockTick)
	}
	if c.readDeadline.Load() != ns {
		_ = c.keepReadDeadline(ns)
	}
}

// requestStarted is the first byte of a request after an answer.
func (c *clientConn) requestStarted() {
	c.awaiting = false
	c.autoReadDeadline(c.readTimeout)
}

// answering is a write: the connection waits for the next request from
// now. Every write of a long answer moves the idle deadline on.
func (c *clientConn) answering() {
	if c.continuing {
		c.continuing = false
		return
	}
	c.awaiting = true
	c.autoReadDeadline(c.idleTimeout)
}

// continueExpected says the next write is a 100 Continue: the body that
// follows is the same request, under the read_timeout it started with.
func (c *clientConn) continueExpected() {
	if c != nil {
		c.continuing = c.auto
	}
}

// ownDeadlines hands the deadlines to the connection's new owner (a
// hijacking WebSocket), which sets its own. A nil c, a connection not
// from the listener, has nothing to hand.
func (c *clientConn) ownDeadlines() {
	if c != nil {
		c.auto, c.awaiting, c.continuing = false, false, false
	}
}

// Close stops watching the connection's deadline.
func (c *clientConn) Close() error {
	if c.reads != nil {
		c.reads.remove(c)
	}
	return c.Conn.Close()
}
