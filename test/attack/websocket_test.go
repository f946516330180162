package attack

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type wsCase struct {
	name string
	// send writes the attack on an open connection.
	send func(w *wsConn) error
	want int // the close code frontdesk must send
}

func wsCases() []wsCase {
	text := func(p []byte) func(w *wsConn) error { return func(w *wsConn) error { return w.frame(0x1, p) } }
	raw := func(b []byte) func(w *wsConn) error {
		return func(w *wsConn) error {
			_, err := w.c.Write(b)
			return err
		}
	}
	return []wsCase{
		{name: "invalid UTF-8 text frame", send: text([]byte{'h', 0xff, 0xfe, 'i'}), want: 1007},
		{name: "truncated UTF-8 text frame", send: text([]byte{'h', 0xe2, 0x82}), want: 1007},
		{name: "1-byte close payload", send: func(w *wsConn) error { return w.frame(0x8, []byte{0x03}) }, want: 1002},
		{name: "close code 1005 on the wire", send: func(w *wsConn) error { return w.frame(0x8, []byte{0x03, 0xed}) }, want: 1002},
		{name: "close code 999", send: func(w *wsConn) error { return w.frame(0x8, []byte{0x03, 0xe7}) }, want: 1002},
		{name: "unmasked frame", send: raw([]byte{0x81, 0x02, 'h', 'i'}), want: 1002},
		{name: "fragmented ping", send: raw([]byte{0x09, 0x80, 0, 0, 0, 0}), want: 1002},
		{name: "ping over 125 bytes", send: func(w *wsConn) error { return w.frame(0x9, make([]byte, 126)) }, want: 1002},
		{name: "reserved opcode", send: func(w *wsConn) error { return w.frame(0x3, []byte("x")) }, want: 1002},
		{name: "RSV bits without an extension", send: raw([]byte{0xc1, 0x80, 0, 0, 0, 0}), want: 1002},
		{name: "binary message", send: func(w *wsConn) error { return w.frame(0x2, []byte{1, 2, 3}) }, want: 1003},
		{name: "message over max_message_bytes", send: text([]byte(strings.Repeat("m", 17<<10))), want: 1009},
	}
}

func TestWebSocket(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{})
	const class = "websocket"
	for _, c := range wsCases() {
		f.run(t, class, c.name, func(t *testing.T) {
			w, err := wsDial(f.fd.Addr, "/ws/prod", "")
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if err := c.send(w); err != nil {
				t.Fatal(err)
			}
			if got := w.closeCode(3 * time.Second); got != c.want {
				t.Errorf("want close code %d, got %d (0: still open, 1005: a close frame without a code, 1006: dropped without a close frame)", c.want, got)
			}
		})
	}

	f.run(t, class, "@connections POST over max_message_bytes", func(t *testing.T) {
		out, _ := f.do("POST /ws/prod/@connections/AAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: a.example\r\nContent-Length: 17408\r\nConnection: close\r\n\r\n" +
			strings.Repeat("m", 17<<10))
		if out.status() != 413 {
			t.Errorf("want 413, got %s", out)
		}
	})

	n := load.WSDisconnects
	f.run(t, class, "simultaneous disconnects all reach the backend", func(t *testing.T) {
		before := f.up.count("/wsb/disconnect")
		conns := make([]*wsConn, n)
		var next, failed atomic.Int64
		var wg sync.WaitGroup
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(n) {
						return
					}
					w, err := wsDial(f.fd.Addr, "/ws/prod", "")
					if err != nil {
						failed.Add(1)
						continue
					}
					conns[i] = w
				}
			}()
		}
		wg.Wait()
		opened := 0
		for _, w := range conns {
			if w != nil {
				opened++
			}
		}
		if failed.Load() > 0 {
			t.Errorf("%d of %d WebSocket connections could not be opened", failed.Load(), n)
		}
		for _, w := range conns {
			if w != nil {
				w.Close()
			}
		}
		// The $disconnect backend answers after 300 ms, so the calls
		// overlap: every one of them must still arrive.
		got := 0
		ok := waitProgress(load.Deadline, 3*time.Second, func() (int, bool) {
			got = f.up.count("/wsb/disconnect") - before
			return got, got >= opened
		})
		if !ok {
			t.Errorf("%d clients went away at once; the $disconnect backend got %d calls", opened, got)
		}
	})
}
