package server

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/exchange"
)

// acceptPair returns a client connection and the listener's side of it.
func acceptPair(t *testing.T) (*listener, *clientConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newListener(ln, connTimeouts{send: time.Minute})
	t.Cleanup(func() { l.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return l, c.(*clientConn), client
}

func TestReadDeadlineKeptByTheListenerEndsAWaitingReadNeverEarly(t *testing.T) {
	_, c, _ := acceptPair(t)
	d := time.Now().Add(3 * clockTick)
	if err := c.SetReadDeadline(d); err != nil {
		t.Fatal(err)
	}
	if got := c.readDeadline.Load(); got != d.UnixNano() {
		t.Fatalf("deadline %v went to the runtime, want it kept by the listener", time.Duration(got))
	}
	_, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a deadline error", err)
	}
	if now := time.Now(); now.Before(d) {
		t.Fatalf("the deadline fired %v early", d.Sub(now))
	}
}

func TestANewReadDeadlineAfterOneFiredLetsReadsGoOn(t *testing.T) {
	_, c, client := acceptPair(t)
	if err := c.SetReadDeadline(time.Now().Add(2 * clockTick)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %v, want a deadline error", err)
	}
	for _, next := range []time.Time{time.Now().Add(time.Hour), {}} {
		if err := c.SetReadDeadline(next); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Fatalf("Read after a new deadline %v = %d, %v", next, n, err)
		}
	}
}

func TestADeadlineDueNowWakesTheReaderAtOnce(t *testing.T) {
	_, c, _ := acceptPair(t)
	if err := c.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	// The reader may or may not be waiting yet; either way it must end.
	if err := c.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was not woken")
	}
}

func TestClosedConnectionsAreNoLongerWatched(t *testing.T) {
	l, c, _ := acceptPair(t)
	size := func() int {
		l.reads.mu.Lock()
		defer l.reads.mu.Unlock()
		return len(l.reads.conns)
	}
	if n := size(); n != 1 {
		t.Fatalf("%d connections watched, want 1", n)
	}
	c.Close()
	if n := size(); n != 0 {
		t.Fatalf("%d connections watched after Close, want 0", n)
	}
}

// BenchmarkSetReadDeadline is what fasthttp's two read deadlines per
// keep-alive request cost: runtime is the runtime's timer, listener the
// deadline kept by the listener.
func BenchmarkSetReadDeadline(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l := newListener(ln, connTimeouts{send: time.Minute})
	defer l.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	nc, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	c := nc.(*clientConn)
	for _, bc := range []struct {
		name string
		set  func(time.Time) error
	}{{"runtime", c.Conn.SetReadDeadline}, {"listener", c.SetReadDeadline}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now()
				_ = bc.set(now.Add(60 * time.Second))
				_ = bc.set(now.Add(30 * time.Second))
			}
		})
	}
}

// addrConn is a connection with given addresses and nothing else.
type addrConn struct {
	net.Conn
	remote, local net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }
func (c addrConn) LocalAddr() net.Addr  { return c.local }

// A connection formats its peer IP and listener port once, as the
// per-request code would (exchange.AppendPeerIP, exchange.AppendAddrPort).
func TestConnectionsKeepTheirPeerAndPortAsText(t *testing.T) {
	long := net.ParseIP("2001:db8:1234:5678:9abc:def0:1234:5678")
	for _, tc := range []struct {
		name          string
		remote, local net.Addr
		peer, port    string
	}{
		{"IPv4", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 50000}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}, "192.0.2.7", "8443"},
		{"IPv6 at its longest", &net.TCPAddr{IP: long, Port: 1}, &net.TCPAddr{IP: net.IPv6loopback, Port: 65535}, "2001:db8:1234:5678:9abc:def0:1234:5678", "65535"},
		{"not TCP", &net.UnixAddr{Name: "@x", Net: "unix"}, &net.UnixAddr{Name: "@y", Net: "unix"}, "0.0.0.0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &clientConn{Conn: addrConn{remote: tc.remote, local: tc.local}}
			c.keepText()
			if string(c.PeerIPText()) != tc.peer || string(c.LocalPortText()) != tc.port {
				t.Errorf("peer %q port %q, want %q %q", c.PeerIPText(), c.LocalPortText(), tc.peer, tc.port)
			}
			if want := string(exchange.AppendPeerIP(nil, tc.remote)); string(c.PeerIPText()) != want {
				t.Errorf("peer %q, AppendPeerIP says %q", c.PeerIPText(), want)
			}
		})
	}
	_, c, client := acceptPair(t)
	if got, want := string(c.PeerIPText()), "127.0.0.1"; got != want {
		t.Errorf("accepted connection's peer %q, want %q", got, want)
	}
	if _, port, _ := net.SplitHostPort(client.RemoteAddr().String()); string(c.LocalPortText()) != port {
		t.Errorf("accepted connection's port %q, want %q", c.LocalPortText(), port)
	}
}
