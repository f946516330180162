package upstream

import (
	"errors"
	"net"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// An idle connection is checked before it carries a request. The origin
// may have closed it (keep-alive timeouts of a few seconds are common): a
// request sent on it fails, and one that is not idempotent cannot be sent
// again. Or bytes may have arrived that no request asked for: they would be
// read as the answer to the next request, possibly another client's.

// idleState is what a check found on an idle connection's socket.
type idleState uint8

const (
	idleEmpty  idleState = iota // nothing to read: usable
	idleData                    // bytes no request asked for
	idleClosed                  // FIN or reset from the origin
)

// prober peeks at a socket without waiting and without consuming what it
// finds: one recv(MSG_PEEK|MSG_DONTWAIT) inside syscall.RawConn.Read,
// whose callback reports done at once. The callback is a method value
// made once per connection, so a check allocates nothing.
type prober struct {
	rc    syscall.RawConn
	step  func(fd uintptr) bool
	buf   [1]byte
	state idleState
}

// newProber returns nil for connections without a socket of their own
// (in-memory ones in tests and benchmarks).
func newProber(nc net.Conn) *prober {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	pr := &prober{rc: rc}
	pr.step = pr.peek
	return pr
}

// check fails only when the connection's read deadline has passed or it
// is closed; RawConn.Read refuses to run the callback then.
func (pr *prober) check() (idleState, error) {
	pr.state = idleClosed
	if err := pr.rc.Read(pr.step); err != nil {
		return idleClosed, err
	}
	return pr.state, nil
}

// peek calls recvfrom(2) itself: unix.Recvfrom returns the sender's
// address, for which it allocates on every call.
func (pr *prober) peek(fd uintptr) bool {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&pr.buf[0])), uintptr(len(pr.buf)),
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN:
			pr.state = idleEmpty
		case errno != 0:
			pr.state = idleClosed // reset
		case n > 0:
			pr.state = idleData
		default:
			pr.state = idleClosed // EOF
		}
		return true
	}
}

// aLongTimeAgo is a read deadline that has passed: a read then returns
// what is buffered, or a timeout at once.
var aLongTimeAgo = time.Unix(1, 0)

// usable reports whether the idle connection c may carry a request; one
// that may not is closed by the caller.
func (p *Pool) usable(c *conn, deadline time.Time) bool {
	if n := c.br.Buffered(); n > 0 {
		p.warnLeftover("an idle connection")
		return false
	}
	if c.tls {
		// tls.Conn may hold decrypted bytes, or whole records read from
		// the socket: a read that may not wait finds them.
		c.readArmed = 0
		_ = c.nc.SetReadDeadline(aLongTimeAgo)
		if _, err := c.br.Peek(1); !isTimeout(err) {
			if err == nil {
				p.warnLeftover("an idle connection")
			}
			return false
		}
		if c.nc.SetReadDeadline(deadline) != nil {
			return false
		}
	}
	if c.probe == nil {
		return true
	}
	st, err := c.probe.check()
	if err != nil {
		// The last exchange's read deadline has passed; the next one's
		// is set now, as the exchange would.
		if c.nc.SetReadDeadline(deadline) != nil {
			return false
		}
		if st, err = c.probe.check(); err != nil {
			return false
		}
	}
	if st == idleData {
		p.warnLeftover("an idle connection")
	}
	return st == idleEmpty
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
