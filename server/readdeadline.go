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

// Close stops watching the connection's deadline.
func (c *clientConn) Close() error {
	if c.reads != nil {
		c.reads.remove(c)
	}
	return c.Conn.Close()
}
