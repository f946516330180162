package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/frontdeskgw/frontdesk/gateway"
	"github.com/frontdeskgw/frontdesk/internal/ascii"
	"github.com/valyala/fasthttp"
)

// Request bodies are read here, before the gateway sees the request: the
// integrations read ctx.Request.Body(), so a body must be whole before the
// route's pipeline runs. fasthttp streams bodies to this code
// (StreamRequestBody) instead of reading them itself, because it reserves
// a body's declared Content-Length before the first byte arrives: a client
// declaring 10 MB and sending a byte now and then held 10 MB of the
// gateway for read_timeout. Here a body is held in a buffer that grows
// with what has arrived, and all bodies being read share one budget.
const (
	// fasthttp reads up to this much of a body along with the request
	// head, before the handler runs (readBodyWithStreaming): a body that
	// fits arrived whole with the head, waits for nothing and takes no
	// budget.
	headBodyBytes = 8 << 10
	// A body buffer starts at this capacity and doubles as bytes arrive,
	// up to the declared length or max_body_bytes.
	firstBodyCap = 8 << 10
	// Buffers up to this capacity go back to the pool; larger ones are
	// left to the collector, so a burst of large bodies is not kept.
	pooledBodyCap = 64 << 10
	// The most one read of a body takes: of a fixed-length body, and of a
	// chunked one, whose reads are smaller so that the bound on chunk
	// framing below stays close to maxChunkLine.
	bodyStep        = 64 << 10
	chunkedBodyStep = 4 << 10
	// Go's net/http limit on a chunk-size line, chunk extensions included.
	maxChunkLine = 4 << 10
)

var (
	errNULInPath        = errors.New("server: NUL in the request path")
	errChunkedFraming   = errors.New("server: chunk-size line too long")
	errTransferEncoding = errors.New("server: a Transfer-Encoding other than chunked")
)

// bodies reads request bodies under a budget shared by every connection.
type bodies struct {
	max     int   // server.max_body_bytes
	budget  int64 // server.max_inflight_body_bytes
	readBuf int   // the connection read buffer (server.max_header_bytes)
	inUse   atomic.Int64
	pool    sync.Pool // *bodyBuf
}

// bodyBuf holds one request's body.
type bodyBuf struct {
	b     []byte
	held  int64   // bytes of the budget it holds
	probe [1]byte // to see whether a chunked body at the limit ends there
}

// held is the budget in use: the capacity of the buffers of the bodies
// being read or served, small bodies apart.
func (bs *bodies) held() int64 { return bs.inUse.Load() }

func (bs *bodies) get() *bodyBuf {
	if bb, ok := bs.pool.Get().(*bodyBuf); ok {
		return bb
	}
	return &bodyBuf{b: make([]byte, 0, firstBodyCap)}
}

// done ends the use of bb as ctx's request body.
func (bs *bodies) done(ctx *fasthttp.RequestCtx, bb *bodyBuf) {
	ctx.Request.SetBodyRaw(nil)
	bs.put(bb)
}

// put returns bb's budget, and bb to the pool unless it grew large.
func (bs *bodies) put(bb *bodyBuf) {
	if bb.held > 0 {
		bs.inUse.Add(-bb.held)
		bb.held = 0
	}
	if cap(bb.b) > pooledBodyCap {
		return
	}
	bb.b = bb.b[:0]
	bs.pool.Put(bb)
}

// take adds n bytes to bb's share of the budget, if the budget has them.
func (bs *bodies) take(bb *bodyBuf, n int64) bool {
	if bs.inUse.Add(n) > bs.budget {
		bs.inUse.Add(-n)
		return false
	}
	bb.held += n
	return true
}

// grow doubles bb's capacity, up to limit, taking the budget it adds when
// the body counts against the budget.
func (bs *bodies) grow(bb *bodyBuf, limit int, counted bool) error {
	n := min(max(2*cap(bb.b), firstBodyCap), limit)
	if counted && !bs.take(bb, int64(n-cap(bb.b))) {
		return gateway.ErrOverloaded
	}
	b := make([]byte, len(bb.b), n)
	copy(b, bb.b)
	bb.b = b
	return nil
}

// read reads the body stream of ctx's request into a buffer and makes it
// the request's body. The caller puts the buffer back (also on error) once
// the request is answered.
func (bs *bodies) read(ctx *fasthttp.RequestCtx) (*bodyBuf, error) {
	req := &ctx.Request
	declared := req.Header.ContentLength() // -1: chunked
	if declared > bs.max {
		return nil, fasthttp.ErrBodyTooLarge
	}
	bb := bs.get()
	limit, step := declared, bodyStep
	var cc *clientConn
	if declared < 0 {
		limit, step = bs.max, chunkedBodyStep
		cc = clientConnOf(ctx)
		defer cc.unlimitRead()
	}
	counted := declared < 0 || declared > headBodyBytes
	if counted && !bs.take(bb, int64(cap(bb.b))) {
		return bb, gateway.ErrOverloaded
	}
	r := req.BodyStream()
	for {
		if len(bb.b) == cap(bb.b) {
			if len(bb.b) < limit {
				if err := bs.grow(bb, limit, counted); err != nil {
					return bb, err
				}
			} else if declared >= 0 {
				break // every declared byte is in
			} else {
				// A chunked body at the limit must end here.
				cc.limitRead(len(bb.probe) + bs.framing())
				n, err := r.Read(bb.probe[:])
				if n > 0 {
					return bb, fasthttp.ErrBodyTooLarge
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return bb, fmt.Errorf("read body: %w", err)
				}
				continue
			}
		}
		end := min(cap(bb.b), len(bb.b)+step)
		cc.limitRead(end - len(bb.b) + bs.framing())
		n, err := r.Read(bb.b[len(bb.b):end])
		bb.b = bb.b[:len(bb.b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return bb, fmt.Errorf("read body: %w", err)
		}
	}
	req.SetBodyRaw(bb.b)
	if declared < 0 && len(bb.b) == 0 {
		req.Header.SetContentLength(0) // as fasthttp does for an empty chunked body
	}
	return bb, nil
}

// framing is what one read of a chunked body may take from the socket on
// top of the data it returns: a chunk-size line of up to maxChunkLine,
// the CRLF after the data, the trailer section at the end (bounded by the
// read buffer), and one read buffer that fasthttp may fill ahead.
func (bs *bodies) framing() int { return maxChunkLine + 2 + 2*bs.readBuf }

// handle is the data plane's request handler: it refuses a path with a
// NUL, reads the body, then hands the request to the gateway.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if ctx.Request.Header.ContentLength() != -1 && hasTransferEncoding(ctx.Request.Header.RawHeaders()) {
		// fasthttp frames a body by Content-Length when Transfer-Encoding
		// is "identity", and forgets it; RFC 9112 §6.3 says such a
		// request is a 400 and the connection is closed.
		s.refuse(ctx, errTransferEncoding)
		return
	}
	// A head over max_body_bytes whose first body bytes had come with it
	// reaches here; bodies.read answers it 413.
	s.oversized.take(&ctx.Request.Header)
	if path := ctx.Request.URI().PathOriginal(); bytes.Contains(path, nulEscape) || bytes.IndexByte(path, 0) >= 0 {
		s.refuse(ctx, errNULInPath)
		return
	}
	if !ctx.Request.Header.IsHTTP11() {
		// fasthttp ignores Expect in HTTP/1.0 requests, as RFC 9110 says
		// a server must; the upstream is not to be asked either.
		ctx.Request.Header.Del(fasthttp.HeaderExpect)
	}
	if ctx.Request.IsBodyStream() {
		bb, err := s.bodies.read(ctx)
		if bb != nil {
			defer s.bodies.done(ctx, bb)
		}
		if err != nil {
			s.refuse(ctx, err)
			return
		}
	}
	s.gw.Handle(ctx)
	if ctx.Hijacked() {
		clientConnOf(ctx).ownDeadlines()
	}
}

var nulEscape = []byte("%00")

// expect answers a request's Expect: 100-continue: 413 at once for a body
// declared over max_body_bytes, so the client does not send it; otherwise
// fasthttp sends 100 Continue. The header is then answered, and removed so
// that no upstream answers it again.
func (s *Server) expect(ctx *fasthttp.RequestCtx) int {
	ctx.Request.Header.Del(fasthttp.HeaderExpect)
	if ctx.Request.Header.ContentLength() > s.bodies.max {
		s.refuse(ctx, fasthttp.ErrBodyTooLarge)
		return fasthttp.StatusRequestEntityTooLarge
	}
	clientConnOf(ctx).continueExpected()
	return fasthttp.StatusContinue
}

var transferEncodingColon = []byte("transfer-encoding:")

// hasTransferEncoding reports a Transfer-Encoding line in raw, the request
// head as it came. fasthttp refuses every coding but chunked and identity,
// and a chunked request never gets here (its Content-Length is -1), so a
// line found here is one fasthttp dropped. One pass over the line starts.
func hasTransferEncoding(raw []byte) bool {
	for len(raw) > 0 {
		if len(raw) >= len(transferEncodingColon) && (raw[0] == 't' || raw[0] == 'T') &&
			ascii.EqualFold(raw[:len(transferEncodingColon)], transferEncodingColon) {
			return true
		}
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			return false
		}
		raw = raw[i+1:]
	}
	return false
}
