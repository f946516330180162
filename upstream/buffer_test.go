package upstream

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// sizedOrigin answers every request with a body of n bytes.
func sizedOrigin(t *testing.T, n int) *origin {
	t.Helper()
	a := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", n, strings.Repeat("x", n))
	return startOrigin(t, func(_ int, c net.Conn, _ *fasthttp.Request) bool {
		_, err := c.Write([]byte(a))
		return err == nil
	})
}

// doWithin sends a GET that gives up on a free connection after d.
func doWithin(p *Pool, d time.Duration) (*fasthttp.Response, error) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("/x")
	req.Header.SetHost(p.Addr())
	resp := &fasthttp.Response{}
	return resp, p.Do(req, resp, time.Now(), time.Now().Add(d))
}

// A client that does not read its response must not hold the upstream
// connection when the response is of moderate size: it is read whole and
// the connection serves the next request. Larger ones stream and hold it.
func TestModerateResponsesReleaseTheConnectionBeforeTheClientReads(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		released bool
	}{
		{"512 KiB, read whole", 512 << 10, true},
		{"1 MiB, the default limit, read whole", 1 << 20, true},
		{"over 1 MiB, streamed", 1<<20 + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := sizedOrigin(t, tc.size)
			budget := NewBudget(DefaultMaxBuffered)
			p := New(Options{Addr: o.addr, MaxConns: 1, Budget: budget})
			slow, err := doWithin(p, 2*time.Second) // its client reads nothing yet
			if err != nil {
				t.Fatal(err)
			}
			if got, want := p.InFlight(), map[bool]int64{true: 0, false: 1}[tc.released]; got != want {
				t.Errorf("in flight %d, want %d", got, want)
			}
			next, err := doWithin(p, 200*time.Millisecond)
			if tc.released {
				if err != nil {
					t.Fatalf("next request while the first response is unread: %v", err)
				}
				if got := budget.InUse(); got != int64(2*tc.size) {
					t.Errorf("budget in use %d, want %d", got, 2*tc.size)
				}
				if got := body(t, next); len(got) != tc.size {
					t.Errorf("next body %d bytes, want %d", len(got), tc.size)
				}
			} else if !errors.Is(err, ErrNoConns) {
				t.Fatalf("next request: %v, want ErrNoConns while the stream holds the one connection", err)
			}
			if got := body(t, slow); len(got) != tc.size {
				t.Errorf("first body %d bytes, want %d", len(got), tc.size)
			}
			if got := budget.InUse(); got != 0 {
				t.Errorf("budget in use %d after the bodies were written, want 0", got)
			}
		})
	}
}

// The budget is shared by every pool given it; once used up, responses
// stream as they would above the size limit.
func TestResponsesStreamWhenTheSharedBudgetIsUsedUp(t *testing.T) {
	const size = 512 << 10
	budget := NewBudget(size + size/2)
	a := New(Options{Addr: sizedOrigin(t, size).addr, MaxConns: 1, Budget: budget})
	b := New(Options{Addr: sizedOrigin(t, size).addr, MaxConns: 1, Budget: budget})
	ra, err := doWithin(a, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := doWithin(b, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := budget.InUse(); got != size {
		t.Fatalf("budget in use %d, want %d (the second response streams)", got, size)
	}
	if _, err := doWithin(b, 100*time.Millisecond); !errors.Is(err, ErrNoConns) {
		t.Fatalf("origin b: %v, want ErrNoConns while its response streams", err)
	}
	third, err := doWithin(a, 2*time.Second)
	if err != nil {
		t.Fatalf("origin a, its connection released: %v", err)
	}
	third.CloseBodyStream() //nolint:errcheck // unread: closes the connection
	for _, r := range []*fasthttp.Response{ra, rb} {
		if got := body(t, r); len(got) != size {
			t.Errorf("body %d bytes, want %d", len(got), size)
		}
	}
	if got := budget.InUse(); got != 0 {
		t.Errorf("budget in use %d after the bodies were written, want 0", got)
	}
}

// An upstream that closes before the whole body arrived is an error, and
// the bytes it took from the budget are given back.
func TestTruncatedBufferedBodyIsAnErrorAndReturnsItsBudget(t *testing.T) {
	o := startOrigin(t, func(_ int, c net.Conn, _ *fasthttp.Request) bool {
		_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n" + strings.Repeat("x", 1000)))
		return false
	})
	budget := NewBudget(DefaultMaxBuffered)
	p := New(Options{Addr: o.addr, Budget: budget})
	if _, err := doWithin(p, 2*time.Second); err == nil {
		t.Fatal("truncated body accepted")
	}
	if got := budget.InUse(); got != 0 {
		t.Errorf("budget in use %d, want 0", got)
	}
	if n := len(p.sem); n != 0 {
		t.Errorf("%d connections open, want 0", n)
	}
}

func TestBufferDefaults(t *testing.T) {
	o := New(Options{}).o
	if o.BufferResponses != DefaultBufferResponses || DefaultBufferResponses != 1<<20 {
		t.Errorf("BufferResponses %d, want 1 MiB", o.BufferResponses)
	}
	if o.MaxConns != DefaultMaxConns || o.Budget == nil || o.Budget.max != DefaultMaxBuffered || DefaultMaxBuffered != 64<<20 {
		t.Errorf("MaxConns %d, budget %+v", o.MaxConns, o.Budget)
	}
}
