package attack

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// reply is one response read off a raw connection.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// outcome is what a raw client saw: the responses, in order, and how the
// connection ended.
type outcome struct {
	Replies []reply
	// Closed: the server closed the connection (EOF or reset) after the
	// replies. Otherwise Err says what ended the reading (a timeout).
	Closed bool
	Err    error
}

func (o outcome) status() int {
	if len(o.Replies) == 0 {
		return 0
	}
	return o.Replies[0].Status
}

func (o outcome) String() string {
	var b strings.Builder
	for i, r := range o.Replies {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d %q", r.Status, trunc(string(r.Body), 80))
	}
	if len(o.Replies) == 0 {
		b.WriteString("no reply")
	}
	switch {
	case o.Closed:
		b.WriteString("; closed")
	case o.Err != nil:
		fmt.Fprintf(&b, "; %v", o.Err)
	}
	return b.String()
}

// answeredProbe reports whether the server answered the probe request
// sent after an attack on the same connection (the connection was kept
// open and parsing went on).
func (o outcome) answeredProbe() bool {
	for _, r := range o.Replies {
		if bytes.Contains(r.Body, []byte("pong")) {
			return true
		}
	}
	return false
}

// probe follows an attack on its connection: a server that keeps parsing
// answers it (the mock route /ping), and closes after it.
const probe = "GET /ping?probe=1 HTTP/1.1\r\nHost: probe.test\r\nConnection: close\r\n\r\n"

// roundTrip writes payload on a new connection and reads every response
// until the server closes the connection or timeout passes.
func roundTrip(addr, payload string, timeout time.Duration) outcome {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return outcome{Err: err}
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	// The write may fail half way when the server answers early and
	// closes; what it answered is still worth reading.
	_, werr := io.WriteString(c, payload)
	out := readReplies(c, methodOf(payload))
	if len(out.Replies) == 0 && werr != nil && out.Err == nil {
		out.Err = werr
	}
	return out
}

func methodOf(payload string) string {
	m, _, _ := strings.Cut(payload, " ")
	return m
}

// readReplies reads responses until the connection ends. method is the
// first request's (HEAD answers have no body); later ones are GETs.
func readReplies(c net.Conn, method string) outcome {
	var out outcome
	br := bufio.NewReader(c)
	for len(out.Replies) < 16 {
		req := &http.Request{Method: method}
		method = http.MethodGet
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				out.Closed = true
			} else {
				out.Err = err
			}
			return out
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != 101 {
			method = req.Method // an interim answer: the real one follows
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		out.Replies = append(out.Replies, reply{Status: resp.StatusCode, Header: resp.Header, Body: body})
		if err != nil {
			if isReset(err) || errors.Is(err, io.ErrUnexpectedEOF) {
				out.Closed = true
			} else {
				out.Err = err
			}
			return out
		}
		if resp.StatusCode == 101 {
			return out
		}
	}
	return out
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// newToken is a per-request token the origin echoes (X-Token and body), so
// a client can tell its own answer from anybody else's.
func newToken() string { return fmt.Sprintf("%016x", rand.Uint64()) }

// checkOwn verifies that r is the origin's answer to the request that
// carried tok.
func checkOwn(r reply, tok string) error {
	if r.Status != 200 {
		return fmt.Errorf("status %d %q", r.Status, trunc(string(r.Body), 120))
	}
	if got := r.Header.Get("X-Token"); got != tok {
		return fmt.Errorf("got the answer for token %q, want %q (a response went to the wrong client)", got, tok)
	}
	if string(r.Body) != "token="+tok+"\n" {
		return fmt.Errorf("body %q, want token=%s", trunc(string(r.Body), 120), tok)
	}
	return nil
}

// victim is a well-behaved request on its own connection; it must get its
// own answer, whatever happened before on other connections.
func victim(addr, method string) error {
	tok := newToken()
	req := method + " /api/victim?t=" + tok + " HTTP/1.1\r\nHost: victim.test\r\nConnection: close\r\n"
	if method == http.MethodPost {
		req += "Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
	} else {
		req += "\r\n"
	}
	out := roundTrip(addr, req, 10*time.Second)
	if len(out.Replies) != 1 {
		return fmt.Errorf("victim %s: %s", method, out)
	}
	if err := checkOwn(out.Replies[0], tok); err != nil {
		return fmt.Errorf("victim %s: %w", method, err)
	}
	return nil
}

// loadStats describe the well-behaved client's requests.
type loadStats struct {
	Total, OK int
	Latencies []time.Duration
	Errors    []string // the first few
}

func (s loadStats) p99() time.Duration {
	return percentile(append([]time.Duration(nil), s.Latencies...), 0.99)
}

// loader is a well-behaved client that keeps making requests while an
// attack runs: one worker on a keep-alive connection, one opening a new
// connection per request, each pacing itself.
type loader struct {
	addr string
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	st   loadStats
}

func startLoad(addr string) *loader {
	l := &loader{addr: addr, stop: make(chan struct{})}
	keep := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	fresh := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, c := range []*http.Client{keep, fresh} {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer c.CloseIdleConnections()
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(4 * time.Millisecond):
				}
				l.one(c)
			}
		}()
	}
	return l
}

func (l *loader) one(c *http.Client) {
	tok := newToken()
	start := time.Now()
	resp, err := c.Get("http://" + l.addr + "/api/victim?t=" + tok)
	var r reply
	if err == nil {
		r.Status, r.Header = resp.StatusCode, resp.Header
		r.Body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		err = checkOwn(r, tok)
	}
	d := time.Since(start)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.st.Total++
	if err != nil {
		if len(l.st.Errors) < 5 {
			l.st.Errors = append(l.st.Errors, err.Error())
		}
		return
	}
	l.st.OK++
	l.st.Latencies = append(l.st.Latencies, d)
}

// requests waits until the client has made n more requests, or d passed.
func (l *loader) requests(n int, d time.Duration) {
	l.mu.Lock()
	target := l.st.Total + n
	l.mu.Unlock()
	waitFor(d, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.st.Total >= target
	})
}

// take returns the figures so far and starts counting afresh.
func (l *loader) take() loadStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	l.st = loadStats{}
	return st
}

func (l *loader) close() loadStats {
	close(l.stop)
	l.wg.Wait()
	return l.take()
}

// wsConn is a raw WebSocket client: it writes any frame, valid or not.
type wsConn struct {
	c  net.Conn
	br *bufio.Reader
}

// wsDial upgrades a new connection on path.
func wsDial(addr, path string, extra string) (*wsConn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	var k [16]byte
	binary.LittleEndian.PutUint64(k[:], rand.Uint64())
	binary.LittleEndian.PutUint64(k[8:], rand.Uint64())
	key := base64.StdEncoding.EncodeToString(k[:])
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	_, err = io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n"+extra+"\r\n")
	if err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != 101 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		c.Close()
		return nil, fmt.Errorf("upgrade: %d %q", resp.StatusCode, b)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		c.Close()
		return nil, errors.New("upgrade: bad Sec-WebSocket-Accept")
	}
	_ = c.SetDeadline(time.Time{})
	return &wsConn{c: c, br: br}, nil
}

// frame writes one masked frame with opcode op.
func (w *wsConn) frame(op byte, payload []byte) error {
	var h []byte
	h = append(h, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126, byte(n>>8), byte(n))
	default:
		h = binary.BigEndian.AppendUint64(append(h, 0x80|127), uint64(n))
	}
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], rand.Uint32())
	h = append(h, mask[:]...)
	m := make([]byte, len(payload))
	for i, b := range payload {
		m[i] = b ^ mask[i%4]
	}
	_ = w.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := w.c.Write(append(h, m...))
	return err
}

// closeCode reads frames until the server's close frame and returns its
// code: 1005 when it has none, 1006 when the connection ended without
// one, 0 when it is still open after timeout.
func (w *wsConn) closeCode(timeout time.Duration) int {
	_ = w.c.SetReadDeadline(time.Now().Add(timeout))
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.br, h[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0
			}
			return 1006
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(w.br, b[:]); err != nil {
				return 1006
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(w.br, b[:]); err != nil {
				return 1006
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > 1<<20 {
			return 1006
		}
		p := make([]byte, n)
		if _, err := io.ReadFull(w.br, p); err != nil {
			return 1006
		}
		if h[0]&0x0f == 0x8 {
			if len(p) < 2 {
				return 1005
			}
			return int(binary.BigEndian.Uint16(p))
		}
	}
}

func (w *wsConn) Close() error { return w.c.Close() }
