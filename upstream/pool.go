// Package upstream keeps keep-alive connection pools to upstream origins and
// runs one HTTP/1.1 exchange over them. Small responses are read whole into
// the response; large or unsized ones are handed to the caller as a stream
// that returns the connection to the pool when it is closed, so a body of
// many MiB never sits whole in memory.
//
// Hot path: Pool.Do with an idle connection and a sized response below the
// stream threshold; it allocates nothing in steady state.
package upstream

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Errors Do returns, so callers can answer in their own words.
var (
	// ErrTimeout: the upstream did not answer before the deadline.
	ErrTimeout = errors.New("upstream: timeout")
	// ErrNoConns: every connection of the pool stayed busy until the
	// deadline.
	ErrNoConns = errors.New("upstream: no free connection")
)

// Options configure a Pool.
type Options struct {
	// Addr is host:port to dial.
	Addr string
	// TLS, when set, wraps each connection (https origins).
	TLS *tls.Config
	// MaxConns bounds open connections (default 1024).
	MaxConns int
	// IdleTimeout closes connections idle for longer (default 30 s, below
	// the keep-alive timeout of common servers so that a request rarely
	// meets a connection the server is closing).
	IdleTimeout time.Duration
	// StreamAbove is the largest response body read whole; bigger or
	// unsized bodies stream (default 256 KiB).
	StreamAbove int
	// ReadBufferSize bounds the response header size (default 16 KiB).
	ReadBufferSize int
	// Dial replaces TCP dialing (tests and benchmarks).
	Dial func(addr string) (net.Conn, error)
}

// Pool is a bounded set of keep-alive connections to one origin, with the
// origin's health: passive (marked down for a back-off after a connection
// failure) and active (the result of the last health check).
type Pool struct {
	o       Options
	sem     chan struct{}
	mu      sync.Mutex
	idle    []*conn
	retired bool // guarded by mu: connections are closed, not kept idle

	downUntil atomic.Int64 // unix nanos; passive health
	unhealthy atomic.Bool  // active health check result
	inflight  atomic.Int64 // exchanges in progress, for least_conn
	check     *checker     // guarded by mu
}

type conn struct {
	nc            net.Conn
	br            *bufio.Reader
	bw            *bufio.Writer
	lastUse       time.Time
	writeDeadline bool // a write deadline is set on nc
}

// New returns an empty pool.
func New(o Options) *Pool {
	if o.MaxConns <= 0 {
		o.MaxConns = 1024
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 30 * time.Second
	}
	if o.StreamAbove <= 0 {
		o.StreamAbove = 256 << 10
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 16 << 10
	}
	return &Pool{o: o, sem: make(chan struct{}, o.MaxConns)}
}

// Addr is the origin's address.
func (p *Pool) Addr() string { return p.o.Addr }

// Do sends req and reads the response head into resp before deadline. The
// body is either read into resp or set as resp's body stream; the server
// closes that stream after writing it, which releases the connection.
//
// A request that fails on a reused connection before any response byte
// arrived is retried once on a new connection when its method is
// idempotent: the upstream may have closed the idle connection.
func (p *Pool) Do(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	p.inflight.Add(1)
	streaming := false
	defer func() {
		if !streaming {
			p.inflight.Add(-1)
		}
	}()
	for attempt := 0; ; attempt++ {
		c, reused, err := p.acquire(deadline)
		if err != nil {
			return classify(err)
		}
		err = p.exchange(c, req, resp, deadline)
		if err == nil {
			streaming = resp.IsBodyStream()
			return nil
		}
		p.closeConn(c)
		err = classify(err)
		if reused && attempt == 0 && unanswered(err) && isIdempotent(req) {
			resp.Reset()
			continue
		}
		return err
	}
}

// DialError is a failure to connect: the request reached nothing, so it is
// safe to send to another origin.
type DialError struct {
	Addr string
	Err  error
}

func (e *DialError) Error() string { return fmt.Sprintf("dial %s: %v", e.Addr, e.Err) }
func (e *DialError) Unwrap() error { return e.Err }

// Available reports whether the origin may take requests: not in a passive
// back-off and not failing its active health check.
func (p *Pool) Available(now int64) bool {
	return !p.unhealthy.Load() && p.downUntil.Load() <= now
}

// MarkDown takes the origin out of rotation for d.
func (p *Pool) MarkDown(d time.Duration) {
	p.downUntil.Store(time.Now().Add(d).UnixNano())
}

// InFlight is the number of exchanges in progress.
func (p *Pool) InFlight() int64 { return p.inflight.Load() }

// retryable wraps an error that happened before any response byte.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// unanswered reports a failure before any response byte that was not a
// timeout: an idempotent request may be sent again.
func unanswered(err error) bool {
	var r retryable
	return errors.As(err, &r) && !errors.Is(err, ErrTimeout)
}

func classify(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}

func isIdempotent(req *fasthttp.Request) bool {
	h := &req.Header
	return h.IsGet() || h.IsHead() || h.IsPut() || h.IsDelete() || h.IsOptions() || h.IsTrace()
}

func (p *Pool) exchange(c *conn, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	// The read deadline bounds the wait for the answer. Writes only need
	// one when the body may not fit the socket buffers; setting fewer
	// timers per request is measurably cheaper.
	if err := c.nc.SetReadDeadline(deadline); err != nil {
		return retryable{err}
	}
	if big := len(req.Body()) > 64<<10; big || c.writeDeadline {
		wd := time.Time{}
		if big {
			wd = deadline
		}
		if err := c.nc.SetWriteDeadline(wd); err != nil {
			return retryable{err}
		}
		c.writeDeadline = big
	}
	if err := req.Write(c.bw); err != nil {
		return retryable{err}
	}
	if err := c.bw.Flush(); err != nil {
		return retryable{err}
	}
	if _, err := c.br.Peek(1); err != nil {
		return retryable{err}
	}
	for {
		if err := resp.Header.Read(c.br); err != nil {
			return err
		}
		// 1xx answers other than 101 precede the real one.
		if s := resp.Header.StatusCode(); s >= 200 || s == 101 {
			break
		}
		resp.Header.Reset()
	}
	if req.Header.IsHead() || !bodyAllowed(resp.Header.StatusCode()) {
		resp.SkipBody = req.Header.IsHead()
		p.release(c, resp)
		return nil
	}
	n := resp.Header.ContentLength()
	if n >= 0 && n <= p.o.StreamAbove {
		if err := readBody(c.br, resp, n); err != nil {
			return err
		}
		p.release(c, resp)
		return nil
	}
	size := n
	if size < 0 {
		size = -1 // unknown: the client gets it chunked
	}
	resp.SetBodyStream(p.newStream(c, resp, n), size)
	return nil
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != 204 && status != 304
}

// readBody copies exactly n bytes from br into resp without allocating.
func readBody(br *bufio.Reader, resp *fasthttp.Response, n int) error {
	resp.ResetBody()
	for n > 0 {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				return err
			}
		}
		k := min(br.Buffered(), n)
		b, _ := br.Peek(k)
		resp.AppendBody(b)
		_, _ = br.Discard(k)
		n -= k
	}
	return nil
}

func (p *Pool) acquire(deadline time.Time) (*conn, bool, error) {
	now := time.Now()
	p.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(c.lastUse) < p.o.IdleTimeout {
			p.mu.Unlock()
			return c, true, nil
		}
		p.mu.Unlock()
		p.closeConn(c)
		p.mu.Lock()
	}
	p.mu.Unlock()

	select {
	case p.sem <- struct{}{}:
	default:
		t := time.NewTimer(time.Until(deadline))
		select {
		case p.sem <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, false, ErrNoConns
		}
	}
	nc, err := p.dial(deadline)
	if err != nil {
		<-p.sem
		return nil, false, err
	}
	return &conn{
		nc: nc,
		br: bufio.NewReaderSize(nc, p.o.ReadBufferSize),
		bw: bufio.NewWriterSize(nc, 4<<10),
	}, false, nil
}

func (p *Pool) dial(deadline time.Time) (net.Conn, error) {
	var nc net.Conn
	var err error
	if p.o.Dial != nil {
		nc, err = p.o.Dial(p.o.Addr)
	} else {
		d := net.Dialer{Deadline: deadline}
		nc, err = d.Dial("tcp", p.o.Addr)
	}
	if err != nil {
		return nil, &DialError{Addr: p.o.Addr, Err: err}
	}
	// Connections from Options.Dial are used as they come.
	if tcp, ok := nc.(*net.TCPConn); ok && p.o.TLS == nil && p.o.Dial == nil {
		sw, err := newSendWaitConn(tcp)
		if err != nil {
			nc.Close()
			return nil, &DialError{Addr: p.o.Addr, Err: err}
		}
		return sw, nil
	}
	if p.o.TLS != nil {
		tc := tls.Client(nc, p.o.TLS)
		_ = tc.SetDeadline(deadline)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, &DialError{Addr: p.o.Addr, Err: fmt.Errorf("tls handshake: %w", err)}
		}
		nc = tc
	}
	return nc, nil
}

// release returns c to the pool, or closes it when the upstream asked to.
func (p *Pool) release(c *conn, resp *fasthttp.Response) {
	if resp.ConnectionClose() {
		p.closeConn(c)
		return
	}
	p.putIdle(c)
}

func (p *Pool) putIdle(c *conn) {
	c.lastUse = time.Now()
	p.mu.Lock()
	if p.retired {
		p.mu.Unlock()
		p.closeConn(c)
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *Pool) closeConn(c *conn) {
	c.nc.Close()
	<-p.sem
}

// Retire is for an origin that left the config: it stops the active
// check, closes the idle connections, and closes the others as their
// exchanges end. Requests still reaching the pool (from a snapshot in
// flight) are served, on connections it closes after them.
func (p *Pool) Retire() {
	p.StopHealthCheck()
	p.mu.Lock()
	p.retired = true
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, c := range idle {
		p.closeConn(c)
	}
}

// stream hands a large or unsized body to the client as it arrives.
type stream struct {
	p       *Pool
	c       *conn
	r       io.Reader
	left    int  // bytes left when sized, -1 otherwise
	chunked bool // r decodes chunks; the trailer is read at the end
	closeC  bool // the upstream closes after this response
	done    bool
	// release, when set, is given slot back once the stream closes
	// (ReleaseOnClose).
	release Releaser
	slot    uint64
}

func (p *Pool) newStream(c *conn, resp *fasthttp.Response, n int) *stream {
	s := &stream{p: p, c: c, left: n, closeC: resp.ConnectionClose()}
	switch {
	case n >= 0:
		s.r = c.br
	case n == -1: // chunked
		s.r = newChunkedReader(c.br)
		s.chunked = true
	default: // body until the upstream closes
		s.r = c.br
		s.closeC = true
	}
	// The deadline covered the wait for the answer; while the body
	// streams each read gets its own.
	_ = c.nc.SetDeadline(time.Time{})
	return s
}

func (s *stream) Read(b []byte) (int, error) {
	if s.done {
		return 0, io.EOF
	}
	if s.left == 0 {
		s.done = true
		return 0, io.EOF
	}
	if s.left > 0 && len(b) > s.left {
		b = b[:s.left]
	}
	_ = s.c.nc.SetReadDeadline(time.Now().Add(s.p.o.IdleTimeout))
	n, err := s.r.Read(b)
	if s.left > 0 {
		s.left -= n
	}
	if err == io.EOF {
		s.done = true
		if s.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		if s.chunked && skipTrailer(s.c.br) != nil {
			s.closeC = true
		}
	}
	return n, err
}

// skipTrailer reads the trailer section after the last chunk, up to the
// empty line, so the connection is positioned at the next response.
func skipTrailer(br *bufio.Reader) error {
	for i := 0; i < 64; i++ {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			return nil
		}
	}
	return errors.New("upstream: trailer too long")
}

// Close releases the connection: back to the pool when the body was read
// to its end and the upstream keeps it alive, closed otherwise.
func (s *stream) Close() error {
	if s.c == nil {
		return nil
	}
	s.p.inflight.Add(-1)
	if (s.done || s.left == 0) && !s.closeC {
		_ = s.c.nc.SetDeadline(time.Time{})
		s.p.putIdle(s.c)
	} else {
		s.p.closeConn(s.c)
	}
	s.c = nil
	if s.release != nil {
		s.release.Release(s.slot)
		s.release = nil
	}
	return nil
}
