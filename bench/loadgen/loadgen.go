// Package loadgen is the benchmark suite's load generator (HTTP/1.1 here;
// WebSocket echo and @connections broadcast in ws.go, RunWS): a closed
// loop over N keep-alive connections, one goroutine per connection sending
// a request and reading its response before sending the next, for a fixed
// warm-up and measurement window. Latencies go into HDR histograms. With
// Config.TLS it speaks TLS (counting handshakes and resumed sessions), and
// with Config.NewConnPerRequest it opens a connection per request, for
// measuring handshakes rather than exchanges.
//
// Hot path: Worker.roundTrip. The request is rendered once with
// fasthttp.Request and written as the same bytes every time; the response
// is read into one reused fasthttp.Response through one reused bufio.Reader;
// latencies and counts go into per-connection histograms and arrays, merged
// only when the run ends. Nothing on that path allocates (see
// BenchmarkRoundTrip), so the generator does not add garbage-collection
// work to the machine it shares with the upstream.
package loadgen

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Histogram bounds, in microseconds: 1 µs to 60 s with three significant
// digits keeps each per-connection histogram near 100 KiB.
const (
	histMinMicros = 1
	histMaxMicros = 60_000_000
	histSigFigs   = 3
)

// ErrorKind classifies a failed request.
type ErrorKind int

// The kinds of failure; a response with a status outside 2xx is not an
// error here: it is counted in Result.Non2xx.
const (
	ErrConnect ErrorKind = iota // dialing the server failed
	ErrWrite                    // writing the request failed
	ErrTimeout                  // no complete response within Config.Timeout
	ErrClosed                   // the server closed the connection before answering
	ErrRead                     // reading or parsing the response failed
	numErrorKinds
)

var errorKindNames = [numErrorKinds]string{"connect", "write", "timeout", "closed", "read"}

func (k ErrorKind) String() string {
	if k < 0 || k >= numErrorKinds {
		return fmt.Sprintf("ErrorKind(%d)", int(k))
	}
	return errorKindNames[k]
}

// Header is one request header.
type Header struct{ Name, Value string }

// Config describes one load run.
type Config struct {
	Addr     string        // host:port to connect to
	Host     string        // Host header; Addr when empty
	Method   string        // GET when empty
	Path     string        // request URI, "/" when empty
	Headers  []Header      // extra request headers
	Body     []byte        // request body, sent with Content-Length
	Conns    int           // concurrent connections, one goroutine each
	Warmup   time.Duration // load before the measured window, not counted
	Duration time.Duration // the measured window
	Timeout  time.Duration // per request; 10s when zero
	// OnMeasure and OnStop, when set, are called as the measured window
	// opens and closes, so a caller can sample a server's CPU time over
	// exactly that window.
	OnMeasure func()
	OnStop    func()
	// TLS, when set, makes every connection a TLS client with this
	// configuration; give it a ClientSessionCache (NewSessionCache) for
	// session resumption.
	TLS *tls.Config
	// NewConnPerRequest opens a new connection for every request (which
	// asks the server to close it: Connection: close) instead of keeping
	// connections alive; the latency then includes connecting and, with
	// TLS, the handshake.
	NewConnPerRequest bool
}

// NewSessionCache is the client session cache a TLS run shares between
// its connections: bounded to conns entries (one per server name is what
// a run uses), so resumption does not grow memory.
func NewSessionCache(conns int) tls.ClientSessionCache {
	return tls.NewLRUClientSessionCache(max(conns, 1))
}

// Result is what one run measured inside its window.
type Result struct {
	Conns     int              `json:"conns"`
	Seconds   float64          `json:"seconds"`    // length of the measured window
	Sent      int64            `json:"sent"`       // requests that completed or failed in the window
	Responses int64            `json:"responses"`  // complete responses, any status
	Status2xx int64            `json:"status_2xx"` // responses with a 2xx status
	Non2xx    int64            `json:"non_2xx"`    // responses with any other status
	Statuses  map[int]int64    `json:"statuses,omitempty"`
	Errors    map[string]int64 `json:"errors,omitempty"` // failures by ErrorKind name
	Reconnect int64            `json:"reconnects"`       // connections the server closed after a response
	RPS       float64          `json:"rps"`              // Responses per second of window
	P50Us     int64            `json:"p50_us"`
	P99Us     int64            `json:"p99_us"`
	P999Us    int64            `json:"p999_us"`
	MaxUs     int64            `json:"max_us"`
	MeanUs    float64          `json:"mean_us"`
	BodyBytes int64            `json:"body_bytes"` // response body bytes read in the window
	// TLS handshakes completed in the window, those of them that resumed
	// a session, and handshakes per second of window.
	Handshakes     int64   `json:"handshakes,omitempty"`
	Resumed        int64   `json:"resumed,omitempty"`
	HandshakesPerS float64 `json:"handshakes_per_s,omitempty"`
}

// ErrorCount is the number of failed requests of every kind.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

func (c *Config) validate() error {
	if c.Addr == "" {
		return errors.New("loadgen: no address")
	}
	if c.Conns < 1 {
		return fmt.Errorf("loadgen: conns must be at least 1, got %d", c.Conns)
	}
	if c.Duration <= 0 {
		return fmt.Errorf("loadgen: duration must be positive, got %s", c.Duration)
	}
	if c.Warmup < 0 {
		return fmt.Errorf("loadgen: warm-up must not be negative, got %s", c.Warmup)
	}
	return nil
}

// RenderRequest returns the request of c as the bytes sent on the wire.
func RenderRequest(c *Config) ([]byte, error) {
	var req fasthttp.Request
	method := c.Method
	if method == "" {
		method = fasthttp.MethodGet
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	host := c.Host
	if host == "" {
		host = c.Addr
	}
	req.Header.SetMethod(method)
	req.SetRequestURI(path)
	req.Header.SetHost(host)
	for _, h := range c.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	if len(c.Body) > 0 {
		req.SetBody(c.Body)
	}
	if c.NewConnPerRequest {
		req.Header.SetConnectionClose()
	}
	var buf bytes.Buffer
	if _, err := req.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("loadgen: render request: %w", err)
	}
	return buf.Bytes(), nil
}

// Run drives the load described by c and returns what was measured. It
// returns once the window has closed and every connection is done.
func Run(c Config) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	raw, err := RenderRequest(&c)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// The window is fixed before any connection starts, so every worker
	// judges with its own clock reading whether a response counts, without
	// any shared state on the request path.
	start := time.Now()
	winStart := start.Add(c.Warmup)
	winEnd := winStart.Add(c.Duration)

	workers := make([]*Worker, c.Conns)
	for i := range workers {
		workers[i] = NewWorker(c.Addr, raw, timeout)
		workers[i].tlsConf = c.TLS
		workers[i].newConn = c.NewConnPerRequest
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(winStart, winEnd)
		}()
	}
	notify(winStart, c.OnMeasure)
	notify(winEnd, c.OnStop)
	wg.Wait()
	return Merge(workers, winEnd.Sub(winStart)), nil
}

// notify sleeps until t and calls fn, if there is one.
func notify(t time.Time, fn func()) {
	time.Sleep(time.Until(t))
	if fn != nil {
		fn()
	}
}

// Worker is one connection of the closed loop. It is not safe for
// concurrent use: each worker belongs to one goroutine.
type Worker struct {
	addr    string
	raw     []byte
	timeout time.Duration
	tlsConf *tls.Config // nil: plain TCP
	newConn bool        // a new connection per request

	conn     net.Conn
	br       *bufio.Reader
	resp     fasthttp.Response
	deadline time.Time // the connection's current deadline

	hist       *hdrhistogram.Histogram
	sent       int64
	responses  int64
	status2xx  int64
	non2xx     int64
	statuses   [600]int64 // non-2xx responses by status code; others in statuses[0]
	errs       [numErrorKinds]int64
	reconnect  int64
	bodyBytes  int64
	handshakes int64
	resumed    int64
}

// NewWorker prepares a worker that sends raw to addr.
func NewWorker(addr string, raw []byte, timeout time.Duration) *Worker {
	return &Worker{
		addr:    addr,
		raw:     raw,
		timeout: timeout,
		hist:    hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs),
	}
}

// Run loops until winEnd, counting what completes inside
// [winStart, winEnd). A request still in flight at winEnd is cut short by
// its deadline and not counted.
func (w *Worker) Run(winStart, winEnd time.Time) {
	defer w.close()
	for {
		now := time.Now()
		if !now.Before(winEnd) {
			return
		}
		start := now
		if w.conn == nil {
			resumed, err := w.dial(winEnd)
			if err != nil {
				if t := time.Now(); !t.Before(winStart) && t.Before(winEnd) {
					w.sent++
					w.errs[ErrConnect]++
				}
				// A refused dial returns at once; pausing keeps a dead
				// server from turning the loop into a busy spin.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			now = time.Now()
			if w.tlsConf != nil && !now.Before(winStart) && now.Before(winEnd) {
				w.handshakes++
				if resumed {
					w.resumed++
				}
			}
			if !w.newConn {
				// Kept-alive connections: a request's latency is its
				// exchange, not the connection's set-up.
				start = now
			}
		}
		deadline := now.Add(w.timeout)
		if deadline.After(winEnd) {
			deadline = winEnd
		}
		lat, kind, ok := w.roundTrip(now, deadline)
		if w.newConn {
			w.close()
		}
		lat += now.Sub(start)
		done := start.Add(lat)
		if done.Before(winStart) || !done.Before(winEnd) {
			continue
		}
		w.sent++
		if !ok {
			w.errs[kind]++
			continue
		}
		w.record(lat)
	}
}

// roundTrip sends one request and reads its response. On failure it closes
// the connection and reports the kind of error.
func (w *Worker) roundTrip(start, deadline time.Time) (time.Duration, ErrorKind, bool) {
	// With a timeout longer than what is left of the window the deadline
	// is the window's end for every request: setting it once per
	// connection spares the runtime a timer update per request.
	if !deadline.Equal(w.deadline) {
		if err := w.conn.SetDeadline(deadline); err != nil {
			w.close()
			return time.Since(start), ErrWrite, false
		}
		w.deadline = deadline
	}
	if _, err := w.conn.Write(w.raw); err != nil {
		w.close()
		return time.Since(start), classify(err, ErrWrite), false
	}
	if err := w.resp.Read(w.br); err != nil {
		w.close()
		return time.Since(start), classify(err, ErrRead), false
	}
	lat := time.Since(start)
	if w.resp.ConnectionClose() {
		w.close()
		if !w.newConn {
			w.reconnect++
		}
	}
	return lat, 0, true
}

// record counts one complete response read in the window.
func (w *Worker) record(lat time.Duration) {
	w.responses++
	w.bodyBytes += int64(len(w.resp.Body()))
	code := w.resp.StatusCode()
	switch {
	case code >= 200 && code < 300:
		w.status2xx++
	case code > 0 && code < len(w.statuses):
		w.non2xx++
		w.statuses[code]++
	default:
		w.non2xx++
		w.statuses[0]++
	}
	us := lat.Microseconds()
	if us < histMinMicros {
		us = histMinMicros
	} else if us > histMaxMicros {
		us = histMaxMicros
	}
	// In range by construction, so RecordValue cannot fail.
	_ = w.hist.RecordValue(us)
}

// dial connects, and with TLS completes the handshake; resumed says
// whether the handshake resumed a cached session.
func (w *Worker) dial(winEnd time.Time) (resumed bool, err error) {
	d := net.Dialer{Timeout: w.timeout}
	if left := time.Until(winEnd); left < d.Timeout {
		d.Timeout = left
	}
	conn, err := d.Dial("tcp", w.addr)
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", w.addr, err)
	}
	if w.tlsConf != nil {
		tc := tls.Client(conn, w.tlsConf)
		if err := tc.SetDeadline(time.Now().Add(d.Timeout)); err != nil {
			_ = conn.Close()
			return false, fmt.Errorf("tls deadline: %w", err)
		}
		if err := tc.Handshake(); err != nil {
			_ = conn.Close()
			return false, fmt.Errorf("tls handshake with %s: %w", w.addr, err)
		}
		resumed = tc.ConnectionState().DidResume
		conn = tc
	}
	w.conn = conn
	w.deadline = time.Time{}
	if w.br == nil {
		w.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		w.br.Reset(conn)
	}
	return resumed, nil
}

func (w *Worker) close() {
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

func classify(err error, fallback ErrorKind) ErrorKind {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return ErrClosed
	}
	return fallback
}

// Merge adds up the workers' counts and histograms into one Result over a
// window of the given length.
func Merge(workers []*Worker, window time.Duration) *Result {
	r := &Result{Conns: len(workers), Seconds: window.Seconds(), Statuses: map[int]int64{}, Errors: map[string]int64{}}
	all := hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
	for _, w := range workers {
		all.Merge(w.hist)
		r.Sent += w.sent
		r.Responses += w.responses
		r.Status2xx += w.status2xx
		r.Non2xx += w.non2xx
		r.Reconnect += w.reconnect
		r.BodyBytes += w.bodyBytes
		r.Handshakes += w.handshakes
		r.Resumed += w.resumed
		for code, n := range w.statuses {
			if n > 0 {
				r.Statuses[code] += n
			}
		}
		for k, n := range w.errs {
			if n > 0 {
				r.Errors[ErrorKind(k).String()] += n
			}
		}
	}
	if r.Seconds > 0 {
		r.RPS = float64(r.Responses) / r.Seconds
		r.HandshakesPerS = float64(r.Handshakes) / r.Seconds
	}
	if all.TotalCount() > 0 {
		r.P50Us = all.ValueAtQuantile(50)
		r.P99Us = all.ValueAtQuantile(99)
		r.P999Us = all.ValueAtQuantile(99.9)
		r.MaxUs = all.Max()
		r.MeanUs = all.Mean()
	}
	return r
}
