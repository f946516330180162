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

// The check is a system call, about 6% of a proxied request's CPU. Under
// load a connection is reused within microseconds of its answer (the pool
// hands the last one released to the next request), too soon for an
// origin's keep-alive timeout to have closed it. So a pool whose origin has
// shown itself well-behaved skips the check on such connections:
//
//   - a connection idle for checkAfter or longer is always checked;
//   - so is every one until trustAfter checks in a row found nothing, and
//     again from the first check that finds bytes or a close, and from the
//     first request that fails unanswered on a reused connection;
//   - a trusted pool still checks every sampleEvery-th reuse of each
//     connection, so an origin that starts misbehaving is noticed.
//
// What a skipped check could miss, an origin that closes or sends stray
// bytes within a millisecond of its answer, nginx and HAProxy miss too:
// they see an idle connection's events only on their event loop's next
// turn. An origin that does it stops being trusted at its first failure.
const (
	checkAfter  = time.Millisecond
	trustAfter  = 256
	sampleEvery = 32
)

// checked records what a check found: trustAfter clean ones in a row make
// the pool trusted; anything else ends the trust.
func (p *Pool) checked(clean bool) {
	if !clean {
		p.clean.Store(0)
		return
	}
	if p.clean.Load() < trustAfter {
		p.clean.Add(1)
	}
}

// skipCheck reports whether c, idle for the given time, may be reused
// without a check.
func (p *Pool) skipCheck(c *conn, idle time.Duration) bool {
	if idle >= checkAfter || p.clean.Load() < trustAfter {
		return false
	}
	c.reuses++
	return c.reuses%sampleEvery != 0
}

// aLongTimeAgo is a read deadline that has passed: a read then returns
// what is buffered, or a timeout at once.
var aLongTimeAgo = time.Unix(1, 0)

// usable reports whether the connection c, idle for the given time, may
// carry a request; one that may not is closed by the caller.
func (p *Pool) usable(c *conn, idle time.Duration, deadline time.Time) bool {
	if n := c.br.Buffered(); n > 0 {
		p.warnLeftover("an idle connection")
		return false
	}
	if p.skipCheck(c, idle) {
		return true
	}
	if c.tls {
		// tls.Conn may hold decrypted bytes, or whole records read from
		// the socket: a read that may not wait finds them.
		_ = c.setReadDeadline(aLongTimeAgo)
		if _, err := c.br.Peek(1); !isTimeout(err) {
			p.checked(false)
			if err == nil {
				p.warnLeftover("an idle connection")
			}
			return false
		}
		if c.setReadDeadline(deadline) != nil {
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
		if c.setReadDeadline(deadline) != nil {
			return false
		}
		if st, err = c.probe.check(); err != nil {
			return false
		}
	}
	if st == idleData {
		p.warnLeftover("an idle connection")
	}
	p.checked(st == idleEmpty)
	return st == idleEmpty
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
