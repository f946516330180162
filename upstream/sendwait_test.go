package upstream

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// echoServer answers every request with its body length and the length of
// its X-Pad header, over real TCP.
func echoServer(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{
		ReadBufferSize:     64 << 10,
		MaxRequestBodySize: 8 << 20,
		Handler: func(ctx *fasthttp.RequestCtx) {
			fmt.Fprintf(ctx, "%d %d", len(ctx.PostBody()), len(ctx.Request.Header.Peek("X-Pad")))
		},
	}
	go srv.Serve(ln) //nolint:errcheck
	tb.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

func TestRequestsOfEverySizeReachTheOriginWhole(t *testing.T) {
	addr := echoServer(t)
	p := New(Options{Addr: addr})
	for _, tc := range []struct {
		name      string
		pad, body int
	}{
		{"small GET, held and sent with the wait", 0, 0},
		{"3 KiB of headers, still held", 3 << 10, 0},
		{"6 KiB of headers, more than is held", 6 << 10, 0},
		{"small POST body", 0, 100},
		{"1 MiB body, written the ordinary way", 0, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 3 { // the same kept-alive connection each time
				req := fasthttp.AcquireRequest()
				defer fasthttp.ReleaseRequest(req)
				req.SetRequestURI("/x")
				req.Header.SetHost(addr)
				if tc.pad > 0 {
					req.Header.Set("X-Pad", strings.Repeat("p", tc.pad))
				}
				if tc.body > 0 {
					req.Header.SetMethod("POST")
					req.SetBody(bytes.Repeat([]byte("b"), tc.body))
				}
				resp := &fasthttp.Response{}
				if err := p.Do(req, resp, time.Now(), time.Now().Add(5*time.Second)); err != nil {
					t.Fatal(err)
				}
				if got, want := string(resp.Body()), fmt.Sprintf("%d %d", tc.body, tc.pad); got != want {
					t.Fatalf("origin saw %q, want %q", got, want)
				}
			}
		})
	}
}

// heldConn dials a loopback origin whose one connection serve handles,
// and wraps the client side as the pool does.
func heldConn(t *testing.T, serve func(net.Conn)) *sendWaitConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := newSendWaitConn(nc.(*net.TCPConn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A held request the socket cannot take at once (its send buffer is full)
// is finished with an ordinary write, and the answer still arrives.
func TestHeldRequestTheSocketTakesOnlyInPartIsFinished(t *testing.T) {
	total := make(chan int) // what the client wrote, once its buffers are full
	got := make(chan int, 1)
	c := heldConn(t, func(c net.Conn) {
		n, _ := io.CopyN(io.Discard, c, int64(<-total))
		got <- int(n)
		io.WriteString(c, "done")
	})
	if err := c.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	// Fill the socket until it refuses more, bypassing the held buffer.
	filled := 0
	chunk := make([]byte, 4096)
	if err := c.rc.Write(func(fd uintptr) bool {
		for {
			n, err := syscall.Write(int(fd), chunk)
			if n > 0 {
				filled += n
			}
			if err != nil {
				return true
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Write(bytes.Repeat([]byte("h"), holdMax)); err != nil || n != holdMax {
		t.Fatalf("held write: %d, %v", n, err)
	}
	total <- filled + holdMax
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "done" {
		t.Fatalf("read %q, %v; want the answer", buf[:n], err)
	}
	if want := filled + holdMax; <-got != want {
		t.Errorf("origin did not get all %d bytes", want)
	}
}

// BenchmarkDoLoopback is one exchange with a fasthttp origin over loopback
// TCP: held, the request written and the answer awaited in one step;
// plain, a connection from Options.Dial, which is used as it comes.
func BenchmarkDoLoopback(b *testing.B) {
	addr := echoServer(b)
	for _, bc := range []struct {
		name string
		dial func(string) (net.Conn, error)
	}{
		{"held", nil},
		{"plain", func(a string) (net.Conn, error) { return net.Dial("tcp", a) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := New(Options{Addr: addr, Dial: bc.dial})
			req := fasthttp.AcquireRequest()
			req.SetRequestURI("/x")
			req.Header.SetHost(addr)
			resp := &fasthttp.Response{}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Do(req, resp, time.Now(), time.Now().Add(5*time.Second)); err != nil {
					b.Fatal(err)
				}
				if n, _ := strconv.Atoi(string(resp.Body()[:1])); n != 0 {
					b.Fatal(string(resp.Body()))
				}
				resp.Reset()
			}
		})
	}
}

// An origin that resets a kept-alive connection instead of answering: the
// reset surfaces as a connection error, and the GET is retried on a new
// connection.
func TestResetInsteadOfAnAnswer(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	addr, _ := rawServer(t, ok, "RESET", ok)
	p := New(Options{Addr: addr})
	for i, method := range []string{"GET", "GET"} {
		if resp, err := get(t, p, method); err != nil || body(t, resp) != "ok" {
			t.Fatalf("request %d: %v", i, err)
		}
	}
}

// io.Copy through a bufio.Writer hands the copy to the connection's
// ReadFrom once the buffer is flushed; the held bytes must still come
// first.
func TestCopiesDoNotOvertakeHeldBytes(t *testing.T) {
	const size = 1 << 20
	got := make(chan []byte, 1)
	c := heldConn(t, func(c net.Conn) {
		b, _ := io.ReadAll(io.LimitReader(c, size+5))
		got <- b
		io.WriteString(c, "done")
	})
	bw := bufio.NewWriterSize(c, 4<<10)
	bw.WriteString("head:")
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if _, err := io.Copy(bw, struct{ io.Reader }{bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "done" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if b := <-got; !bytes.Equal(b, append([]byte("head:"), body...)) {
		t.Errorf("origin got %d bytes, not in the order written (starts %q)", len(b), b[:min(len(b), 16)])
	}
}
