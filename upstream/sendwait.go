package upstream

import (
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// sendWaitConn is a plain TCP connection to an origin that saves one system
// call per exchange. Go's net poller always tries a read before it waits,
// and the first read after a request is sent finds nothing: the origin
// has not answered yet. So a small request is not written when the pool
// flushes it but kept until the first read of the answer, which writes it
// and then waits for the socket to become readable, inside one
// syscall.RawConn.Read.
//
// The write happens after RawConn.Read has armed the wait, so the
// readiness the answer brings cannot be missed: nothing else is expected
// on an upstream connection between a request and its answer. A request
// that does not fit the held buffer, or that the socket takes only in
// part, is written the ordinary way.
//
// One exchange at a time uses a connection (the pool's rule), so the
// fields need no lock. The callback given to RawConn.Read is a method
// value made once, and its state lives here, so an exchange allocates
// nothing.
type sendWaitConn struct {
	*net.TCPConn
	rc      syscall.RawConn
	pending []byte // request bytes written by the pool and not yet sent; capacity fixed
	step    func(fd uintptr) bool

	// State of one Read through step.
	buf     []byte
	sent, n int
	err     error
	partial bool
}

// holdMax bounds the request bytes held back: a request line and headers.
const holdMax = 4 << 10

func newSendWaitConn(tc *net.TCPConn) (*sendWaitConn, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("raw conn: %w", err)
	}
	c := &sendWaitConn{TCPConn: tc, rc: rc, pending: make([]byte, 0, holdMax)}
	c.step = c.sendThenRead
	return c, nil
}

// Write holds p when it fits the buffer, else sends what is held and p.
func (c *sendWaitConn) Write(p []byte) (int, error) {
	if len(c.pending)+len(p) <= cap(c.pending) {
		c.pending = append(c.pending, p...)
		return len(p), nil
	}
	if err := c.sendHeld(); err != nil {
		return 0, err
	}
	return c.TCPConn.Write(p)
}

// ReadFrom sends what is held first: bufio.Writer hands large copies to
// the connection's own ReadFrom, which must not overtake held bytes.
func (c *sendWaitConn) ReadFrom(r io.Reader) (int64, error) {
	if err := c.sendHeld(); err != nil {
		return 0, err
	}
	return c.TCPConn.ReadFrom(r)
}

// WriteTo sends what is held first, for the same reason on the reading
// side (bufio.Reader.WriteTo).
func (c *sendWaitConn) WriteTo(w io.Writer) (int64, error) {
	if err := c.sendHeld(); err != nil {
		return 0, err
	}
	return c.TCPConn.WriteTo(w)
}

// sendHeld writes the held bytes the ordinary way.
func (c *sendWaitConn) sendHeld() error {
	if len(c.pending) == 0 {
		return nil
	}
	_, err := c.TCPConn.Write(c.pending)
	c.pending = c.pending[:0]
	return err
}

// Read sends held request bytes, then waits for the answer and reads it.
func (c *sendWaitConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		return c.TCPConn.Read(p)
	}
	c.buf, c.sent, c.n, c.err, c.partial = p, 0, 0, nil, false
	err := c.rc.Read(c.step)
	rest := c.pending[c.sent:]
	n, rerr, partial := c.n, c.err, c.partial
	c.pending, c.buf, c.err = c.pending[:0], nil, nil
	switch {
	case err != nil: // the deadline passed or the connection was closed
		return 0, err
	case rerr != nil:
		return 0, rerr
	case partial:
		if _, err := c.TCPConn.Write(rest); err != nil {
			return 0, err
		}
		return c.TCPConn.Read(p)
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

// sendThenRead is the RawConn.Read callback: write what is held, then
// report "not ready" so that the poller waits; once woken, read.
func (c *sendWaitConn) sendThenRead(fd uintptr) bool {
	if c.sent < len(c.pending) {
		w, err := ignoringEINTR(syscall.Write, int(fd), c.pending[c.sent:])
		if w > 0 {
			c.sent += w
		}
		switch {
		case err == syscall.EAGAIN || (err == nil && c.sent < len(c.pending)):
			c.partial = true // the rest goes the ordinary way, which waits for room
			return true
		case err != nil:
			c.err = c.opError("write", err)
			return true
		}
		return false // sent: wait for the answer without a read that finds nothing
	}
	n, err := ignoringEINTR(syscall.Read, int(fd), c.buf)
	switch {
	case err == syscall.EAGAIN:
		return false
	case err != nil:
		c.err = c.opError("read", err)
	default:
		c.n = n
	}
	return true
}

func (c *sendWaitConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError(op, err)}
}

func ignoringEINTR(f func(int, []byte) (int, error), fd int, b []byte) (int, error) {
	for {
		n, err := f(fd, b)
		if err != syscall.EINTR {
			return n, err
		}
	}
}
