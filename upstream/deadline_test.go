package upstream

import (
	"net"
	"testing"
	"time"
)

// deadlineConn records the read deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

func TestReadDeadlineIsKeptAcrossBackToBackExchangesNeverEarly(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	const timeout = 1600 * time.Millisecond // slack: 100 ms
	for _, tc := range []struct {
		name   string
		after  time.Duration // second exchange's start after the first's
		second time.Duration // its timeout
		rearm  bool
	}{
		{"same instant", 0, timeout, false},
		{"within the slack", 99 * time.Millisecond, timeout, false},
		{"at the slack", 100 * time.Millisecond, timeout, false},
		{"past the slack", 101 * time.Millisecond, timeout, true},
		// Armed 150 ms after this one's deadline, over its 1/16 (97 ms).
		{"a shorter timeout on the same connection", 0, 1550 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := &deadlineConn{}
			c := &conn{nc: nc}
			if err := c.armReadDeadline(base, base.Add(timeout)); err != nil {
				t.Fatal(err)
			}
			now := base.Add(tc.after)
			want := now.Add(tc.second)
			if err := c.armReadDeadline(now, want); err != nil {
				t.Fatal(err)
			}
			if got := len(nc.set) == 2; got != tc.rearm {
				t.Fatalf("re-armed: %v, want %v (deadlines set: %v)", got, tc.rearm, nc.set)
			}
			armed := nc.set[len(nc.set)-1]
			if armed.Before(want) {
				t.Fatalf("armed %v, %v before the deadline asked for", armed, want.Sub(armed))
			}
			if late := armed.Sub(want); late > tc.second/16 {
				t.Fatalf("armed %v late, more than 1/16 of the timeout", late)
			}
		})
	}
}

func TestAnotherDeadlineMakesTheNextExchangeArmItsOwn(t *testing.T) {
	base := time.Unix(1_000_000, 0)
	nc := &deadlineConn{}
	c := &conn{nc: nc}
	if err := c.armReadDeadline(base, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// A streamed body's reads set their own deadlines.
	s := &stream{c: c, p: New(Options{Addr: "127.0.0.1:9"}), r: emptyReader{}, left: 1}
	_, _ = s.Read(make([]byte, 1))
	if err := c.armReadDeadline(base, base.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(nc.set); n != 3 {
		t.Fatalf("%d deadlines set, want 3: the exchange after the stream arms its own", n)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }
