package server

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

func testClock(tb testing.TB) *coarseClock {
	c := startClock()
	tb.Cleanup(c.close)
	return c
}

func TestASlowReaderThatKeepsReadingOutlastsTheSendTimeout(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	c := &clientConn{Conn: server, sendTimeout: int64(time.Second), clock: testClock(t)}
	defer c.Close()
	// Reading 64 KiB every 200 ms, 1 MiB takes over three send timeouts.
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := io.ReadFull(client, buf); err != nil {
				done <- err
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	if n, err := c.Write(make([]byte, 1<<20)); err != nil || n != 1<<20 {
		t.Fatalf("Write = %d, %v; want the whole 1 MiB", n, err)
	}
	c.Close()
	<-done
}

func TestAReaderThatStopsFailsTheWrite(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	c := &clientConn{Conn: server, sendTimeout: int64(time.Second), clock: testClock(t)}
	defer c.Close()
	if _, err := c.Write([]byte("nobody reads this")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %v, want a deadline error", err)
	}
}

func TestTheSendTimeoutNeverExtendsADeadlineSetByTheUser(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	c := &clientConn{Conn: server, sendTimeout: int64(time.Hour), clock: testClock(t)}
	defer c.Close()
	if err := c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write = %v, want the user's deadline to hold", err)
	}
	// Clearing it gives the send timeout back.
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.ReadFull(client, make([]byte, 1)) }()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("Write after clearing the deadline = %v", err)
	}
}

// BenchmarkWrite is what the send timeout adds to a write: plain is the
// connection alone.
func BenchmarkWrite(b *testing.B) {
	p := make([]byte, 1024)
	for _, bc := range []struct {
		name string
		c    net.Conn
	}{
		{"plain", &pipeConn{}},
		{"send-timeout", &clientConn{Conn: &pipeConn{}, sendTimeout: int64(time.Minute), clock: testClock(b)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.c.Write(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
