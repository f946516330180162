package wsbridge

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/fasthttp/websocket"
)

// A close frame's payload is empty or starts with a 2-byte code (RFC 6455
// §5.5.1), so one byte is a protocol error. The WebSocket library reads
// it as "no code" (1005) and answers it like an empty close frame, before
// any hook of its runs: the two cannot be told apart above it. frameGuard
// sits between the library's reader and the socket, follows the frame
// headers going past (it keeps no bytes, only a few counters), and fails
// the read when a close frame announces a 1-byte payload, before the
// library sees it; the read loop then closes with 1002.

// errOneByteClose is what the library's reader gets instead of such a
// frame.
var errOneByteClose = errors.New("wsbridge: close frame with a 1-byte payload")

// frameGuard wraps the hijacked connection under the library's Conn. It
// lives as long as the connection: 32 bytes.
type frameGuard struct {
	net.Conn
	// handshake swallows writes while the library, used here only to
	// build its Conn, writes a handshake answer that fasthttp has already
	// sent. Set and cleared by the goroutine that upgrades, before anyone
	// else writes.
	handshake bool

	failed bool // a 1-byte close frame was seen: every read fails
	state  uint8
	opcode byte
	masked bool
	need   uint8  // header bytes still to come in this state
	length uint64 // payload length being read, then payload left
}

const (
	stOpcode = iota
	stLength
	stExtLength
	stMask
	stPayload
)

func (g *frameGuard) Read(p []byte) (int, error) {
	if g.failed {
		return 0, errOneByteClose
	}
	n, err := g.Conn.Read(p)
	if cut := g.scan(p[:n]); cut >= 0 {
		// The bytes before the frame's end go up; the library, missing
		// the rest of the frame, gets the error.
		g.failed = true
		return cut, errOneByteClose
	}
	return n, err
}

func (g *frameGuard) Write(p []byte) (int, error) {
	if g.handshake {
		return len(p), nil
	}
	return g.Conn.Write(p)
}

// UnsafeConn lets closeSocket reach the TCP connection under fasthttp's
// hijack wrapper.
func (g *frameGuard) UnsafeConn() net.Conn {
	if u, ok := g.Conn.(interface{ UnsafeConn() net.Conn }); ok {
		return u.UnsafeConn()
	}
	return g.Conn
}

// scan follows the frame headers in b, the next bytes from the client.
// It returns -1, or the length of the prefix of b to deliver when b
// completes the length of a close frame with a 1-byte payload.
func (g *frameGuard) scan(b []byte) int {
	for i := 0; i < len(b); {
		switch g.state {
		case stOpcode:
			g.opcode = b[i] & 0x0f
			g.state = stLength
			i++
		case stLength:
			g.masked = b[i]&0x80 != 0
			l := b[i] & 0x7f
			i++
			switch l {
			case 126:
				g.state, g.need, g.length = stExtLength, 2, 0
				continue
			case 127:
				g.state, g.need, g.length = stExtLength, 8, 0
				continue
			}
			g.length = uint64(l)
			if g.oneByteClose() {
				return i
			}
			g.afterLength()
		case stExtLength:
			g.length = g.length<<8 | uint64(b[i])
			i++
			if g.need--; g.need == 0 {
				if g.oneByteClose() {
					return i
				}
				g.afterLength()
			}
		case stMask:
			i++
			if g.need--; g.need == 0 {
				g.startPayload()
			}
		case stPayload:
			skip := min(uint64(len(b)-i), g.length)
			i += int(skip)
			if g.length -= skip; g.length == 0 {
				g.state = stOpcode
			}
		}
	}
	return -1
}

func (g *frameGuard) oneByteClose() bool { return g.opcode == 0x8 && g.length == 1 }

func (g *frameGuard) afterLength() {
	if g.masked {
		g.state, g.need = stMask, 4
		return
	}
	g.startPayload()
}

func (g *frameGuard) startPayload() {
	g.state = stPayload
	if g.length == 0 {
		g.state = stOpcode
	}
}

// guardedConn returns the library's Conn over nc with a frameGuard
// between them. fasthttp has answered the handshake already (through
// websocket.FastHTTPUpgrader, which checked it); the net/http Upgrader is
// the library's only way to build a server Conn on a connection of the
// caller's choosing, so it gets a minimal valid request and its own
// answer is swallowed.
func (b *Bridge) guardedConn(nc net.Conn) (*websocket.Conn, error) {
	g := &frameGuard{Conn: nc, handshake: true}
	ws, err := b.connBuilder.Upgrade(hijackedWriter{g, b.noBuffers}, b.handshakeReq, nil)
	g.handshake = false
	return ws, err
}

// newConnBuilder returns what guardedConn shares between connections, all
// of it only ever read: the request, and the empty buffers the Upgrader
// looks at (a 1-byte writer, so that its first append of the answer
// allocates rather than writes into it).
func newConnBuilder() (*http.Request, *bufio.ReadWriter) {
	req := &http.Request{
		Method: http.MethodGet,
		Header: http.Header{
			"Connection":            {"Upgrade"},
			"Upgrade":               {"websocket"},
			"Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		},
	}
	return req, bufio.NewReadWriter(bufio.NewReaderSize(nil, 16), bufio.NewWriterSize(nil, 1))
}

// hijackedWriter is the http.ResponseWriter the net/http Upgrader
// hijacks: the connection, with nothing read ahead.
type hijackedWriter struct {
	nc  net.Conn
	brw *bufio.ReadWriter
}

func (w hijackedWriter) Header() http.Header       { return http.Header{} }
func (w hijackedWriter) Write([]byte) (int, error) { return 0, http.ErrHijacked }
func (w hijackedWriter) WriteHeader(int)           {}
func (w hijackedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.nc, w.brw, nil
}
