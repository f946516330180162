package attack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// origin is the upstream behind frontdesk: a raw TCP server that records
// every request exactly as frontdesk framed it, parsing strictly so that
// any framing a lenient server could read two ways is noted as a flaw,
// and answers each request with the behaviour its query names (b=...).
// It does not use an HTTP library on purpose: it must be able to send
// what no library would.
type origin struct {
	addr    string
	allowed []string // path prefixes frontdesk's routes may reach
	// key is a query parameter (fk=...) every integration URL of the
	// config starts its query with. The machine is shared: a port the OS
	// hands the origin may still be in some other process's config, and
	// requests without the key are that process's, answered 404 and not
	// recorded.
	key     string
	foreign atomic.Int64

	mu        sync.Mutex
	ln        net.Listener
	reqs      []*seen
	conns     map[net.Conn]struct{}
	nextID    int
	idleClose time.Duration // close a connection idle this long (0: never)

	idleCloses atomic.Int64 // connections closed for being idle
	accepted   atomic.Int64
	open       atomic.Int64
	ended      atomic.Int64  // connections closed, by either side
	done       chan struct{} // closed at the end of the test: stop holding
	wg         sync.WaitGroup
}

// seen is one request as the origin received it.
type seen struct {
	Conn    int
	Method  string
	Target  string
	Proto   string
	Headers [][2]string // names as sent
	Body    []byte
	// Flaws are what a strict HTTP/1.1 parser objects to: ambiguous
	// framing, bare CR or LF, NUL, obs-fold, bad names.
	Flaws []string
}

// values returns the values of every line of header name (any case).
func (s *seen) values(name string) []string {
	var out []string
	for _, h := range s.Headers {
		if strings.EqualFold(h[0], name) {
			out = append(out, h[1])
		}
	}
	return out
}

func (s *seen) query() url.Values {
	_, q, _ := strings.Cut(s.Target, "?")
	v, _ := url.ParseQuery(q)
	return v
}

// The answer a misbehaving origin leaves on the connection after its
// real one. A pool that reuses the connection hands it to the next
// request, whoever sent it.
const leftover = "HTTP/1.1 200 OK\r\nX-Token: evil\r\nContent-Length: 11\r\n\r\ntoken=evil\n"

// startOrigin listens on a loopback port until the test ends.
func startOrigin(t testing.TB, allowed ...string) *origin {
	t.Helper()
	o := &origin{allowed: allowed, key: "fk=" + newToken(), conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	ln, err := listenOrigin("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.addr = ln.Addr().String()
	o.serve(ln)
	t.Cleanup(o.close)
	return o
}

// listenOrigin listens with an Ethernet-sized MSS, so that a stalled
// response holds kilobytes of kernel buffers rather than loopback's
// megabytes.
func listenOrigin(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1460)
		})
		return errors.Join(err, serr)
	}}
	return lc.Listen(context.Background(), "tcp", addr)
}

func (o *origin) serve(ln net.Listener) {
	o.mu.Lock()
	o.ln = ln
	o.mu.Unlock()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			o.nextID++
			id := o.nextID
			o.conns[c] = struct{}{}
			o.mu.Unlock()
			o.accepted.Add(1)
			o.open.Add(1)
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				o.serveConn(c, id)
				o.mu.Lock()
				delete(o.conns, c)
				o.mu.Unlock()
				c.Close()
				o.open.Add(-1)
				o.ended.Add(1)
			}()
		}
	}()
}

// kill closes the listener and every connection, as a crashed origin.
func (o *origin) kill() {
	o.mu.Lock()
	ln := o.ln
	o.ln = nil
	conns := make([]net.Conn, 0, len(o.conns))
	for c := range o.conns {
		conns = append(conns, c)
	}
	o.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
}

// restart listens again on the same address.
func (o *origin) restart(t testing.TB) {
	t.Helper()
	var ln net.Listener
	ok := waitFor(10*time.Second, func() bool {
		var err error
		ln, err = listenOrigin(o.addr)
		return err == nil
	})
	if !ok {
		t.Fatalf("origin could not listen on %s again", o.addr)
	}
	o.serve(ln)
}

func (o *origin) close() {
	o.kill()
	close(o.done)
	o.wg.Wait()
}

// setIdleClose makes the origin close connections idle for d (0: never),
// like a server with a short keep-alive timeout.
func (o *origin) setIdleClose(d time.Duration) {
	o.mu.Lock()
	o.idleClose = d
	o.mu.Unlock()
}

// mark is the number of requests seen so far; since(mark) lists the later
// ones.
func (o *origin) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.reqs)
}

func (o *origin) since(mark int) []*seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*seen(nil), o.reqs[min(mark, len(o.reqs)):]...)
}

// count is the number of requests seen whose path starts with prefix.
func (o *origin) count(prefix string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.reqs {
		if strings.HasPrefix(r.Target, prefix) {
			n++
		}
	}
	return n
}

func (o *origin) serveConn(c net.Conn, id int) {
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		o.mu.Lock()
		idle := o.idleClose
		o.mu.Unlock()
		if idle > 0 {
			_ = c.SetReadDeadline(time.Now().Add(idle))
		} else {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Minute))
		}
		if _, err := br.Peek(1); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && idle > 0 {
				o.idleCloses.Add(1)
			}
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		r, err := readRequest(br)
		if r != nil && !o.own(r) {
			o.foreign.Add(1)
			_, _ = io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			return
		}
		if r != nil {
			r.Conn = id
			o.mu.Lock()
			o.reqs = append(o.reqs, r)
			o.mu.Unlock()
		}
		if err != nil {
			return
		}
		if !o.answer(c, r) {
			return
		}
	}
}

// own reports whether r came through frontdesk's config (its query starts
// with the origin's key) and takes the key out of r.Target.
func (o *origin) own(r *seen) bool {
	i := strings.Index(r.Target, "?"+o.key)
	if i < 0 {
		return false
	}
	rest := r.Target[i+1+len(o.key):]
	switch {
	case rest == "":
		r.Target = r.Target[:i]
	case rest[0] == '&':
		r.Target = r.Target[:i+1] + rest[1:]
	default:
		return false
	}
	return true
}

// readRequest reads one request, noting every flaw a strict parser sees.
func readRequest(br *bufio.Reader) (*seen, error) {
	r := &seen{}
	line, err := readLine(br, r)
	if err != nil {
		return nil, err
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) != 3 {
		r.Flaws = append(r.Flaws, "malformed request line "+strconv.Quote(line))
		r.Target = line
		return r, errors.New("malformed request line")
	}
	r.Method, r.Target, r.Proto = parts[0], parts[1], parts[2]
	for n := 0; ; n++ {
		if n > 20000 {
			return r, errors.New("too many header lines")
		}
		l, err := readLine(br, r)
		if err != nil {
			return r, err
		}
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			r.Flaws = append(r.Flaws, "obs-fold line "+strconv.Quote(l))
			if k := len(r.Headers); k > 0 {
				r.Headers[k-1][1] += " " + strings.TrimSpace(l)
			}
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			r.Flaws = append(r.Flaws, "malformed header line "+strconv.Quote(l))
			continue
		}
		if strings.ContainsAny(value, "\x00\r\n") {
			r.Flaws = append(r.Flaws, "NUL, CR or LF in the value of "+name)
		}
		r.Headers = append(r.Headers, [2]string{name, strings.Trim(value, " \t")})
	}
	te, cl := r.values("Transfer-Encoding"), r.values("Content-Length")
	switch {
	case len(te) > 0 && len(cl) > 0:
		r.Flaws = append(r.Flaws, "both Transfer-Encoding and Content-Length")
	case len(cl) > 1:
		r.Flaws = append(r.Flaws, "Content-Length sent twice")
	}
	if len(te) > 0 {
		codings := strings.Split(strings.Join(te, ","), ",")
		if !strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked") {
			r.Flaws = append(r.Flaws, "Transfer-Encoding does not end in chunked: "+strings.Join(te, ", "))
			return r, errors.New("unframed body")
		}
		r.Body, err = readChunked(br, r)
		return r, err
	}
	if len(cl) > 0 {
		n, err := strconv.ParseUint(cl[0], 10, 31)
		if err != nil || strings.ContainsAny(cl[0], "+- ") {
			r.Flaws = append(r.Flaws, "malformed Content-Length "+strconv.Quote(cl[0]))
			return r, errors.New("bad Content-Length")
		}
		r.Body = make([]byte, n)
		_, err = io.ReadFull(br, r.Body)
		return r, err
	}
	return r, nil
}

// readLine reads a CRLF-terminated line of at most 1 MiB.
func readLine(br *bufio.Reader, r *seen) (string, error) {
	var b []byte
	for {
		frag, err := br.ReadSlice('\n')
		b = append(b, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
		if len(b) > 1<<20 {
			return "", errors.New("line too long")
		}
	}
	s := string(b[:len(b)-1])
	if !strings.HasSuffix(s, "\r") {
		r.Flaws = append(r.Flaws, "bare LF after "+strconv.Quote(trunc(s, 60)))
	} else {
		s = s[:len(s)-1]
	}
	if strings.Contains(s, "\r") {
		r.Flaws = append(r.Flaws, "bare CR in "+strconv.Quote(trunc(s, 60)))
	}
	if strings.Contains(s, "\x00") {
		r.Flaws = append(r.Flaws, "NUL in "+strconv.Quote(trunc(s, 60)))
	}
	return s, nil
}

func readChunked(br *bufio.Reader, r *seen) ([]byte, error) {
	var body []byte
	for {
		line, err := readLine(br, r)
		if err != nil {
			return body, err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseUint(strings.TrimSpace(size), 16, 31)
		if err != nil {
			r.Flaws = append(r.Flaws, "bad chunk size "+strconv.Quote(line))
			return body, err
		}
		if n == 0 {
			for {
				l, err := readLine(br, r)
				if err != nil {
					return body, err
				}
				if l == "" {
					return body, nil
				}
				r.Flaws = append(r.Flaws, "trailer field "+strconv.Quote(l))
			}
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return body, err
		}
		if string(chunk[n:]) != "\r\n" {
			r.Flaws = append(r.Flaws, "chunk data not followed by CRLF")
		}
		body = append(body, chunk[:n]...)
	}
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// token reads the request's t= parameter; anything but a plain token is
// refused, so that nothing a client sends is reflected into a header.
func tokenOf(q url.Values) string {
	t := q.Get("t")
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return "invalid"
		}
	}
	if t == "" || len(t) > 64 {
		return "none"
	}
	return t
}

// answer writes the response the request asks for (b=...) and reports
// whether the connection stays open.
func (o *origin) answer(c net.Conn, r *seen) bool {
	q := r.query()
	tok := tokenOf(q)
	head := r.Method == "HEAD"
	body := "token=" + tok + "\n"
	ct := "Content-Type: text/plain\r\n"
	if q.Get("noct") == "1" {
		ct = ""
	}
	normal := func(status string) string {
		s := "HTTP/1.1 " + status + "\r\nX-Token: " + tok + "\r\n" + ct + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
		if !head {
			s += body
		}
		return s
	}
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Minute))
	write := func(s string) bool {
		_, err := io.WriteString(c, s)
		return err == nil
	}
	switch q.Get("b") {
	case "extra": // bytes after Content-Length
		return write(normal("200 OK") + leftover)
	case "headbody": // a body on HEAD (or on anything)
		return write("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(len(leftover)) + "\r\n\r\n" + leftover)
	case "204body":
		return write("HTTP/1.1 204 No Content\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(len(leftover)) + "\r\n\r\n" + leftover)
	case "304body":
		return write("HTTP/1.1 304 Not Modified\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(len(leftover)) + "\r\n\r\n" + leftover)
	case "101": // Switching Protocols to a request that asked for none
		return write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + leftover)
	case "reset":
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return false
	case "close": // answer, then close without saying so
		write(normal("200 OK"))
		return false
	case "big", "chunkbig":
		n, _ := strconv.Atoi(q.Get("n"))
		if n <= 0 {
			n = 4 << 20
		}
		return o.writeBig(c, tok, n, q.Get("b") == "chunkbig")
	case "slow": // a body trickled over about a second
		n := 16 << 10
		if !write("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: " + strconv.Itoa(16*n) + "\r\n\r\n") {
			return false
		}
		piece := strings.Repeat("s", n)
		for range 16 {
			select {
			case <-o.done:
				return false
			case <-time.After(60 * time.Millisecond):
			}
			if !write(piece) {
				return false
			}
		}
		return true
	case "bighead": // a response head over frontdesk's 16 KiB
		return write("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nX-Big: " + strings.Repeat("h", 20<<10) + "\r\nContent-Length: 0\r\n\r\n")
	case "garbage":
		write("HTTP/1.1 two hundred\r\n\x00\x01\x02 nonsense\r\n\r\n")
		return false
	case "badchunk":
		write("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n" + leftover)
		return false
	case "both": // Content-Length and Transfer-Encoding together
		return write("HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n" + leftover)
	case "sleep":
		ms, _ := strconv.Atoi(q.Get("d"))
		select {
		case <-o.done:
			return false
		case <-time.After(time.Duration(min(max(ms, 0), 5000)) * time.Millisecond):
		}
		return write(normal("200 OK"))
	}
	return write(normal("200 OK"))
}

// bigPattern is the repeated content of large bodies.
var bigPattern = []byte(strings.Repeat("0123456789abcdef", 4096)) // 64 KiB

func (o *origin) writeBig(c net.Conn, tok string, n int, chunked bool) bool {
	h := "HTTP/1.1 200 OK\r\nX-Token: " + tok + "\r\nContent-Type: application/octet-stream\r\n"
	if chunked {
		h += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		h += "Content-Length: " + strconv.Itoa(n) + "\r\n\r\n"
	}
	if _, err := io.WriteString(c, h); err != nil {
		return false
	}
	for n > 0 {
		k := min(n, len(bigPattern))
		var err error
		if chunked {
			_, err = fmt.Fprintf(c, "%x\r\n%s\r\n", k, bigPattern[:k])
		} else {
			_, err = c.Write(bigPattern[:k])
		}
		if err != nil {
			return false
		}
		n -= k
	}
	if chunked {
		_, err := io.WriteString(c, "0\r\n\r\n")
		return err == nil
	}
	return true
}

// escapes reports a request target that leaves every allowed prefix once
// the origin decodes it as common servers do: percent-decoding (%2F and
// %5C included), backslashes as slashes, dot segments resolved.
func (o *origin) escapes(target string) bool {
	p, _, _ := strings.Cut(target, "?")
	if rest, ok := strings.CutPrefix(p, "http://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		} else {
			p = "/"
		}
	}
	dec := percentDecode(p)
	dec = strings.ReplaceAll(dec, "\\", "/")
	clean := path.Clean("/" + dec)
	for _, a := range o.allowed {
		if clean+"/" == a || strings.HasPrefix(clean, a) {
			return false
		}
	}
	return true
}

// percentDecode decodes every valid %XX and keeps the rest as it is.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// checkForwarded holds the invariants of every request frontdesk sends to
// an origin, whatever the client sent: clean framing and syntax, no
// smuggled request, a target inside the routes.
func (o *origin) checkForwarded(t testing.TB, reqs []*seen) {
	t.Helper()
	for _, r := range reqs {
		if len(r.Flaws) > 0 {
			t.Errorf("origin received a flawed request %s %s: %s", r.Method, trunc(r.Target, 80), strings.Join(r.Flaws, "; "))
		}
		if strings.Contains(strings.ToLower(r.Target), "smuggled") {
			t.Errorf("a smuggled request reached the origin: %s %s", r.Method, trunc(r.Target, 80))
		}
		if strings.ContainsFunc(r.Target, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			t.Errorf("origin received a request target with control bytes: %q", trunc(r.Target, 80))
		}
		if o.escapes(r.Target) {
			t.Errorf("a request reached the origin outside its route: %s %s", r.Method, trunc(r.Target, 80))
		}
	}
}
