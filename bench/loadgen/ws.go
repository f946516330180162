package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// WebSocket load: what RunWS drives. The message protocol is the suite's
// own and small, so that a gateway and a plain server can both serve it:
//
//   - Echo: every connection sends EchoMessage and waits for one text
//     message back (whatever its content), then sends the next.
//   - Broadcast: every receiving connection first sends WhoAmIMessage and
//     takes the text message it gets back as its connection id; then
//     Posters keep-alive HTTP clients POST {path}/@connections/{id} for
//     every id in turn, each body carrying the time it was sent, and the
//     receivers count the deliveries and their latency.
const (
	ModeEcho      = "echo"
	ModeBroadcast = "broadcast"

	EchoMessage   = `{"action":"echo","data":"frontdesk benchmark message"}`
	WhoAmIMessage = `{"action":"whoami"}`

	// MaxWSConns bounds the connections of one run: each costs a
	// goroutine and buffers in the generator, and a file descriptor on
	// both sides.
	MaxWSConns = 10000
	// MaxPosters bounds the @connections senders of a broadcast run.
	MaxPosters = 256
	// latencyShards spreads the broadcast receivers' latency recording
	// over a few locked histograms rather than one per connection (a
	// histogram is ~100 KiB; a thousand of them would be the generator's
	// main cost).
	latencyShards = 16
)

// WSConfig describes one WebSocket load run.
type WSConfig struct {
	Addr  string // host:port
	Path  string // the WebSocket URL's path (a stage, e.g. /prod)
	Mode  string // ModeEcho or ModeBroadcast
	Conns int    // WebSocket connections (≤ MaxWSConns)
	// Posters is the number of @connections senders (broadcast only,
	// ≤ MaxPosters).
	Posters int
	// MaxMessages, when positive, stops sending after that many messages
	// (echo) or POSTs (broadcast), window or not.
	MaxMessages int64
	Warmup      time.Duration
	Duration    time.Duration
	Timeout     time.Duration // per exchange; 10s when zero
	OnMeasure   func()
	OnStop      func()
}

func (c *WSConfig) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("loadgen ws: no address")
	case c.Mode != ModeEcho && c.Mode != ModeBroadcast:
		return fmt.Errorf("loadgen ws: mode %q: want %s or %s", c.Mode, ModeEcho, ModeBroadcast)
	case c.Conns < 1 || c.Conns > MaxWSConns:
		return fmt.Errorf("loadgen ws: conns must be 1..%d, got %d", MaxWSConns, c.Conns)
	case c.Mode == ModeBroadcast && (c.Posters < 1 || c.Posters > MaxPosters):
		return fmt.Errorf("loadgen ws: posters must be 1..%d, got %d", MaxPosters, c.Posters)
	case c.Duration <= 0 || c.Warmup < 0:
		return fmt.Errorf("loadgen ws: need duration > 0 and warm-up ≥ 0, got %s and %s", c.Duration, c.Warmup)
	}
	return nil
}

// wsCounts is what one goroutine counted inside the window.
type wsCounts struct {
	sent, received, non2xx int64
	errs                   [numErrorKinds]int64
}

func (c *wsCounts) add(o *wsCounts) {
	c.sent += o.sent
	c.received += o.received
	c.non2xx += o.non2xx
	for i := range c.errs {
		c.errs[i] += o.errs[i]
	}
}

// RunWS drives the WebSocket load of c and returns what was measured:
// Responses are the messages received in the window (echo replies or
// broadcast deliveries), all counted as 2xx; Non2xx are error frames
// (echo) or @connections answers outside 2xx (broadcast); latencies are
// the echo round trip or the time from a POST's start to its delivery.
func RunWS(c WSConfig) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	url := "ws://" + c.Addr + c.Path
	conns, err := dialAll(url, c.Conns, c.Timeout)
	if err != nil {
		return nil, err
	}
	var recv sync.WaitGroup // the broadcast receivers, ended by closing their connections
	var closeOnce sync.Once
	closeAll := func() {
		closeOnce.Do(func() {
			for _, ws := range conns {
				_ = ws.Close()
			}
			recv.Wait()
		})
	}
	defer closeAll()
	start := time.Now()
	winStart := start.Add(c.Warmup)
	winEnd := winStart.Add(c.Duration)
	var budget atomic.Int64 // messages left when MaxMessages bounds the run
	budget.Store(c.MaxMessages)
	take := func() bool { return c.MaxMessages <= 0 || budget.Add(-1) >= 0 }

	var counts []*wsCounts
	var hists []*hdrhistogram.Histogram
	var wg sync.WaitGroup
	switch c.Mode {
	case ModeEcho:
		for _, ws := range conns {
			n, h := &wsCounts{}, hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
			counts, hists = append(counts, n), append(hists, h)
			wg.Add(1)
			go func() {
				defer wg.Done()
				echoLoop(ws, winStart, winEnd, c.Timeout, take, n, h)
			}()
		}
	case ModeBroadcast:
		ids, err := whoAmI(conns, c.Timeout)
		if err != nil {
			return nil, err
		}
		shards := make([]latencyShard, latencyShards)
		for i := range shards {
			shards[i].h = hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
			hists = append(hists, shards[i].h)
		}
		for i, ws := range conns {
			n := &wsCounts{}
			counts = append(counts, n)
			recv.Add(1)
			go func() {
				defer recv.Done()
				receiveLoop(ws, winStart, winEnd, n, &shards[i%latencyShards])
			}()
		}
		for p := 0; p < c.Posters; p++ {
			n := &wsCounts{}
			counts = append(counts, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				postLoop(c.Addr, c.Path, ids, p, c.Posters, winStart, winEnd, c.Timeout, take, n)
			}()
		}
	}
	notify(winStart, c.OnMeasure)
	notify(winEnd, c.OnStop)
	wg.Wait()
	closeAll() // the receivers' counts are read next

	var total wsCounts
	for _, n := range counts {
		total.add(n)
	}
	r := &Result{Conns: c.Conns, Seconds: c.Duration.Seconds(), Sent: total.sent, Responses: total.received,
		Status2xx: total.received, Non2xx: total.non2xx, Statuses: map[int]int64{}, Errors: map[string]int64{}}
	for k, n := range total.errs {
		if n > 0 {
			r.Errors[ErrorKind(k).String()] += n
		}
	}
	r.RPS = float64(r.Responses) / r.Seconds
	all := hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
	for _, h := range hists {
		all.Merge(h)
	}
	if all.TotalCount() > 0 {
		r.P50Us, r.P99Us, r.P999Us = all.ValueAtQuantile(50), all.ValueAtQuantile(99), all.ValueAtQuantile(99.9)
		r.MaxUs, r.MeanUs = all.Max(), all.Mean()
	}
	return r, nil
}

// dialAll opens n connections, a few at a time so that a gateway's
// accept queue is not flooded.
func dialAll(url string, n int, timeout time.Duration) ([]*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: timeout, ReadBufferSize: 4096, WriteBufferSize: 4096}
	conns := make([]*websocket.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	const parallel = 16
	for g := 0; g < parallel; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += parallel {
				ws, _, err := d.Dial(url, nil)
				conns[i], errs[i] = ws, err
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, ws := range conns {
			if ws != nil {
				_ = ws.Close()
			}
		}
		return nil, fmt.Errorf("loadgen ws: dial %s: %w", url, err)
	}
	return conns, nil
}

// whoAmI asks every connection for its id.
func whoAmI(conns []*websocket.Conn, timeout time.Duration) ([]string, error) {
	ids := make([]string, len(conns))
	for i, ws := range conns {
		_ = ws.SetWriteDeadline(time.Now().Add(timeout))
		_ = ws.SetReadDeadline(time.Now().Add(timeout))
		if err := ws.WriteMessage(websocket.TextMessage, []byte(WhoAmIMessage)); err != nil {
			return nil, fmt.Errorf("loadgen ws: whoami on connection %d: %w", i, err)
		}
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("loadgen ws: whoami on connection %d: %w", i, err)
		}
		id := string(bytes.Trim(bytes.TrimSpace(msg), `"`))
		if id == "" || bytes.ContainsAny(msg, "{}/ ") {
			return nil, fmt.Errorf("loadgen ws: whoami on connection %d: answer %q is no connection id", i, msg)
		}
		ids[i] = id
	}
	for _, ws := range conns {
		_ = ws.SetReadDeadline(time.Time{})
	}
	return ids, nil
}

func inWindow(t, winStart, winEnd time.Time) bool { return !t.Before(winStart) && t.Before(winEnd) }

// echoLoop sends a message and reads one back until the window ends.
func echoLoop(ws *websocket.Conn, winStart, winEnd time.Time, timeout time.Duration, take func() bool, n *wsCounts, h *hdrhistogram.Histogram) {
	msg := []byte(EchoMessage)
	var buf bytes.Buffer
	for {
		now := time.Now()
		if !now.Before(winEnd) || !take() {
			return
		}
		deadline := earlier(now.Add(timeout), winEnd)
		_ = ws.SetWriteDeadline(deadline)
		_ = ws.SetReadDeadline(deadline)
		if err := ws.WriteMessage(websocket.TextMessage, msg); err != nil {
			if inWindow(time.Now(), winStart, winEnd) {
				n.sent++
				n.errs[classify(err, ErrWrite)]++
			}
			return
		}
		reply, err := readMessage(ws, &buf)
		done := time.Now()
		if !inWindow(done, winStart, winEnd) {
			if err != nil {
				return
			}
			continue
		}
		n.sent++
		if err != nil {
			n.errs[classify(err, ErrRead)]++
			return
		}
		if bytes.Contains(reply, []byte(`"message":"Internal server error"`)) || bytes.Contains(reply, []byte(`"message":"Forbidden"`)) {
			n.non2xx++
			continue
		}
		n.received++
		recordMicros(h, done.Sub(now))
	}
}

// readMessage reads the next message into buf, reused from one message to
// the next so that the generator's receiving loops do not allocate a
// message each (ReadMessage would).
func readMessage(ws *websocket.Conn, buf *bytes.Buffer) ([]byte, error) {
	_, r, err := ws.NextReader()
	if err != nil {
		return nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// latencyShard is a histogram shared by a slice of the receivers.
type latencyShard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

// receiveLoop counts the messages delivered to one connection until it is
// closed, with their latency from the send time they carry.
func receiveLoop(ws *websocket.Conn, winStart, winEnd time.Time, n *wsCounts, shard *latencyShard) {
	var buf bytes.Buffer
	for {
		msg, err := readMessage(ws, &buf)
		if err != nil {
			return
		}
		now := time.Now()
		if !inWindow(now, winStart, winEnd) {
			continue
		}
		n.received++
		if sent, ok := sentAt(msg); ok {
			shard.mu.Lock()
			recordMicros(shard.h, now.Sub(sent))
			shard.mu.Unlock()
		}
	}
}

// BroadcastBody is the @connections payload sent at t.
func BroadcastBody(dst []byte, t time.Time) []byte {
	dst = append(dst, `{"msg":"frontdesk benchmark broadcast","t":`...)
	dst = strconv.AppendInt(dst, t.UnixNano(), 10)
	return append(dst, '}')
}

// sentAt reads the send time out of a BroadcastBody.
func sentAt(msg []byte) (time.Time, bool) {
	i := bytes.LastIndex(msg, []byte(`"t":`))
	if i < 0 {
		return time.Time{}, false
	}
	v, err := strconv.ParseInt(string(bytes.TrimRight(msg[i+4:], "}")), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, v), true
}

// postLoop POSTs to the ids p, p+step, ... in turn until the window ends.
func postLoop(addr, path string, ids []string, p, step int, winStart, winEnd time.Time, timeout time.Duration, take func() bool, n *wsCounts) {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 1, ReadTimeout: timeout, WriteTimeout: timeout,
		Dial: func(a string) (net.Conn, error) { return net.DialTimeout("tcp", a, timeout) }}
	defer hc.CloseIdleConnections()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	var body []byte
	uri := make([]byte, 0, 128)
	for i := p % len(ids); ; i = (i + step) % len(ids) {
		now := time.Now()
		if !now.Before(winEnd) || !take() {
			return
		}
		uri = append(append(append(append(uri[:0], "http://"...), addr...), path...), "/@connections/"...)
		uri = append(uri, ids[i]...)
		req.SetRequestURIBytes(uri)
		body = BroadcastBody(body[:0], now)
		req.SetBodyRaw(body)
		err := hc.DoDeadline(req, resp, now.Add(timeout))
		if !inWindow(time.Now(), winStart, winEnd) {
			continue
		}
		n.sent++
		switch {
		case err != nil:
			n.errs[classify(err, ErrRead)]++
			time.Sleep(10 * time.Millisecond) // a failing server must not turn this into a spin
		case resp.StatusCode()/100 != 2:
			n.non2xx++
		}
	}
}

func recordMicros(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(d.Microseconds(), histMinMicros), histMaxMicros))
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
