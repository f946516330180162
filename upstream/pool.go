// Package upstream keeps keep-alive connection pools to upstream origins and
// runs one HTTP/1.1 exchange over them. Small responses are read whole into
// the response. Moderate ones with a known length are read whole too, so
// that a client that reads slowly does not hold the connection, within a
// byte budget shared by the pools; larger or unsized ones, or any once the
// budget is spent, are handed to the caller as a stream that returns the
// connection to the pool when it is closed, so a body of many MiB never
// sits whole in memory.
//
// A connection goes back to the pool only when nothing is left unread
// after its response, and an idle connection is checked before reuse: one
// the origin has closed, or on which bytes arrived that no request asked
// for, is closed instead. Otherwise those bytes would answer the next
// request, which may be another client's.
//
// Hot path: Pool.Do with an idle connection and a sized response of up to
// 64 KiB; it allocates nothing in steady state.
package upstream

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	// ErrUnexpectedUpgrade: the upstream answered 101 Switching Protocols
	// to a request that asked for no upgrade. What follows on the
	// connection is not HTTP/1.1 answers; the connection is closed.
	ErrUnexpectedUpgrade = errors.New("upstream: 101 Switching Protocols to a request without Upgrade")
)

// Defaults of Options.
const (
	DefaultMaxConns = 1024
	// DefaultIdleTimeout is below the keep-alive timeout of common
	// servers (Node and Apache 5 s; gunicorn's 2 s is caught by the check
	// before reuse), so that a request rarely meets a connection the server
	// is closing.
	DefaultIdleTimeout       = 4 * time.Second
	DefaultBufferResponses   = 1 << 20
	DefaultMaxBuffered       = 64 << 20
	DefaultStreamReadTimeout = 30 * time.Second
)

// inlineMax is the largest body copied into the response itself, outside
// the budget: most API answers are smaller, and they cost no allocation.
const inlineMax = 64 << 10

// Options configure a Pool.
type Options struct {
	// Addr is host:port to dial.
	Addr string
	// TLS, when set, wraps each connection (https origins).
	TLS *tls.Config
	// MaxConns bounds open connections (DefaultMaxConns).
	MaxConns int
	// IdleTimeout closes connections idle for longer (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// BufferResponses is the largest response body read whole before Do
	// returns, which frees the connection however slowly the client reads
	// (DefaultBufferResponses). Bodies over 64 KiB take their size from
	// Budget while they wait to be written. Bigger or unsized bodies
	// stream.
	BufferResponses int
	// Budget bounds the bytes of bodies read whole and not yet written
	// (above 64 KiB each); share one among all pools to bound the process.
	// When it is spent, responses stream. Nil: the pool has its own of
	// DefaultMaxBuffered.
	Budget *Budget
	// StreamReadTimeout bounds each wait for more of a streamed body
	// (DefaultStreamReadTimeout).
	StreamReadTimeout time.Duration
	// ReadBufferSize bounds the response header size (default 16 KiB).
	ReadBufferSize int
	// Log gets rate-limited warnings about misbehaving origins (default
	// slog.Default()).
	Log *slog.Logger
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
	warned    atomic.Int64 // unix nanos of the last leftover-bytes warning
	clean     atomic.Int32 // idle checks in a row that found nothing, up to trustAfter
}

type conn struct {
	nc            net.Conn
	br            *bufio.Reader
	bw            *bufio.Writer
	probe         *prober // nil when nc has no socket of its own
	tls           bool    // nc buffers decrypted bytes of its own
	lastUse       time.Time
	began         time.Time // the current exchange's start, as the caller read it
	writeDeadline bool      // a write deadline is set on nc
	reuses        uint32    // reuses without a check, for sampleEvery
	// readArmed is the read deadline armReadDeadline set on nc (Unix
	// nanoseconds); 0 when it set none or another was set since.
	readArmed int64
}

// armReadDeadline gives the exchange starting at now a read deadline no
// earlier than deadline and at most 1/16 of the timeout (and at most a
// second) later. Setting a deadline re-arms a runtime timer, a lock and a
// heap update costing about as much as the rest of the pool's work for a
// small exchange; a connection busy with back-to-back exchanges keeps the
// deadline it has for as long as it stays within those bounds, so an
// upstream timeout fires up to 1/16 late, never early.
func (c *conn) armReadDeadline(now, deadline time.Time) error {
	d := deadline.UnixNano()
	slack := min(deadline.Sub(now)/16, time.Second)
	if a := c.readArmed; a >= d && a-d <= int64(slack) {
		return nil
	}
	if err := c.setReadDeadline(deadline.Add(slack)); err != nil {
		return err
	}
	c.readArmed = d + int64(slack)
	return nil
}

// setReadDeadline sets a read deadline on nc, which armReadDeadline then
// no longer counts as its own.
func (c *conn) setReadDeadline(t time.Time) error {
	c.readArmed = 0
	return c.nc.SetReadDeadline(t)
}

// clearDeadlines removes nc's read and write deadlines.
func (c *conn) clearDeadlines() {
	c.readArmed = 0
	_ = c.nc.SetDeadline(time.Time{})
}

// New returns an empty pool.
func New(o Options) *Pool {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.BufferResponses <= 0 {
		o.BufferResponses = DefaultBufferResponses
	}
	if o.Budget == nil {
		o.Budget = NewBudget(DefaultMaxBuffered)
	}
	if o.StreamReadTimeout <= 0 {
		o.StreamReadTimeout = DefaultStreamReadTimeout
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 16 << 10
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Pool{o: o, sem: make(chan struct{}, o.MaxConns)}
}

// Addr is the origin's address.
func (p *Pool) Addr() string { return p.o.Addr }

// Do sends req and reads the response head into resp before deadline. The
// body is either read into resp or set as resp's body stream; the server
// closes that stream after writing it, which releases the connection.
// start is the caller's reading of the clock as the exchange begins (it
// has one already, to time the call).
//
// A request that fails on a reused connection before any response byte
// arrived is retried once on a new connection when its method is
// idempotent: the upstream may have closed the idle connection.
func (p *Pool) Do(req *fasthttp.Request, resp *fasthttp.Response, start, deadline time.Time) error {
	p.inflight.Add(1)
	streaming := false
	defer func() {
		if !streaming {
			p.inflight.Add(-1)
		}
	}()
	for attempt := 0; ; attempt++ {
		c, reused, err := p.acquire(start, deadline)
		if err != nil {
			return classify(err)
		}
		err = p.exchange(c, req, resp, start, deadline)
		if err == nil {
			// A stream holds the connection, and counts as in flight,
			// until it is closed; a body read whole does not.
			_, streaming = resp.BodyStream().(*stream)
			return nil
		}
		p.closeConn(c)
		err = classify(err)
		if reused && unanswered(err) {
			p.checked(false) // the origin closed it: check again
			if attempt == 0 && isIdempotent(req) {
				resetKeepingNames(resp)
				continue
			}
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

func (p *Pool) exchange(c *conn, req *fasthttp.Request, resp *fasthttp.Response, now, deadline time.Time) error {
	c.began = now
	// The read deadline bounds the wait for the answer. Writes only need
	// one when the body may not fit the socket buffers; setting fewer
	// timers per request is measurably cheaper.
	if err := c.armReadDeadline(now, deadline); err != nil {
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
		keep := resp.Header.DisableNormalizing()
		resp.Header.Reset()
		if keep {
			resp.Header.DisableNormalizing()
		}
	}
	if resp.Header.StatusCode() == 101 {
		// The connection now speaks another protocol: never pooled.
		if len(req.Header.Peek("Upgrade")) == 0 {
			return ErrUnexpectedUpgrade
		}
		p.closeConn(c)
		return nil
	}
	if req.Header.IsHead() || !bodyAllowed(resp.Header.StatusCode()) {
		resp.SkipBody = req.Header.IsHead()
		p.release(c, !resp.ConnectionClose(), "a response without a body")
		return nil
	}
	n := resp.Header.ContentLength()
	if n >= 0 && n <= min(inlineMax, p.o.BufferResponses) {
		if err := readBody(c.br, resp, n); err != nil {
			return err
		}
		p.release(c, !resp.ConnectionClose(), "a sized body")
		return nil
	}
	if n >= 0 && n <= p.o.BufferResponses && p.o.Budget.take(int64(n)) {
		h := &heldBody{budget: p.o.Budget, buf: make([]byte, n)}
		if _, err := io.ReadFull(c.br, h.buf); err != nil {
			h.Close() //nolint:errcheck // gives the budget back
			return err
		}
		p.release(c, !resp.ConnectionClose(), "a sized body")
		resp.SetBodyStream(h, n)
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

func (p *Pool) acquire(now, deadline time.Time) (*conn, bool, error) {
	for {
		p.mu.Lock()
		if len(p.idle) == 0 {
			p.mu.Unlock()
			break
		}
		c := p.idle[len(p.idle)-1]
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
		if idle := now.Sub(c.lastUse); idle < p.o.IdleTimeout && p.usable(c, idle, deadline) {
			return c, true, nil
		}
		p.closeConn(c)
	}

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
	c := &conn{
		nc: nc,
		br: bufio.NewReaderSize(nc, p.o.ReadBufferSize),
		bw: bufio.NewWriterSize(nc, 4<<10),
	}
	if tc, ok := nc.(*tls.Conn); ok {
		c.tls = true
		c.probe = newProber(tc.NetConn())
	} else {
		c.probe = newProber(nc)
	}
	return c, false, nil
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

// release returns c to the pool after the response it read (after names
// it), or closes it when it may not be kept alive or the upstream sent more
// than the response: those bytes would be taken for the answer to the next
// request.
func (p *Pool) release(c *conn, keepAlive bool, after string) {
	switch {
	case !keepAlive:
		p.closeConn(c)
	case c.br.Buffered() > 0:
		p.warnLeftover(after)
		p.closeConn(c)
	default:
		p.putIdle(c)
	}
}

// warnLeftover logs, at most once a minute per origin, that an origin sent
// bytes no request asked for. The bytes themselves are never logged: they
// may be another client's data.
func (p *Pool) warnLeftover(after string) {
	now := time.Now().UnixNano()
	last := p.warned.Load()
	if last != 0 && now-last < int64(time.Minute) || !p.warned.CompareAndSwap(last, now) {
		return
	}
	p.o.Log.Warn("upstream sent more data than its response; connection closed",
		"origin", p.o.Addr, "after", after)
}

func (p *Pool) putIdle(c *conn) {
	// From the exchange's start on the monotonic clock: one clock read
	// where time.Now takes two (wall and monotonic).
	c.lastUse = c.began.Add(time.Since(c.began))
	p.mu.Lock()
	if p.retired {
		p.mu.Unlock()
		p.closeConn(c)
		return
	}
	p.idle = append(p.idle, c)
	// Reuse takes the most recent connection, so the oldest would stay
	// open past the idle timeout while traffic is light: each release
	// closes at most one of those.
	var old *conn
	if len(p.idle) > 1 && c.lastUse.Sub(p.idle[0].lastUse) >= p.o.IdleTimeout {
		old = p.idle[0]
		copy(p.idle, p.idle[1:])
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
	}
	p.mu.Unlock()
	if old != nil {
		p.closeConn(old)
	}
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
	c.clearDeadlines()
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
	_ = s.c.setReadDeadline(time.Now().Add(s.p.o.StreamReadTimeout))
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
// to its end, nothing follows it, and the upstream keeps it alive; closed
// otherwise.
func (s *stream) Close() error {
	if s.c == nil {
		return nil
	}
	s.p.inflight.Add(-1)
	s.c.clearDeadlines()
	s.p.release(s.c, (s.done || s.left == 0) && !s.closeC, "a streamed body")
	s.c = nil
	if s.release != nil {
		s.release.Release(s.slot)
		s.release = nil
	}
	return nil
}

// resetKeepingNames resets resp for another attempt, keeping the caller's
// choice to leave header names as the origin spells them.
func resetKeepingNames(resp *fasthttp.Response) {
	keep := resp.Header.DisableNormalizing()
	resp.Reset()
	if keep {
		resp.Header.DisableNormalizing()
	}
}
