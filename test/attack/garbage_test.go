package attack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// garbageConns sends n connections of random bytes to addr, 16 at a time.
// Each sends 512 seeded random bytes (every other one ending in an empty
// line, so the server parses what it got), then hangs up its side and
// reads until the server closes. It returns the answers' status counts.
func garbageConns(t *testing.T, addr string, n int, seed uint64) map[int]int {
	t.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				r := rand.New(rand.NewPCG(seed, uint64(i)))
				b := make([]byte, 512)
				for j := range b {
					b[j] = byte(r.Uint32())
				}
				if i%2 == 0 {
					b = append(b, "\r\n\r\n"...)
				}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					continue
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write(b)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
				out := readReplies(c, "GET")
				c.Close()
				mu.Lock()
				statuses[out.status()]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return statuses
}

func TestGarbage(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{})
	const class = "garbage"
	for _, l := range []struct{ name, addr string }{{"data plane", f.fd.Addr}, {"admin listener", f.fd.Admin}} {
		f.run(t, class, fmt.Sprintf("%d random connections at the %s", load.GarbageConns, l.name), func(t *testing.T) {
			st := garbageConns(t, l.addr, load.GarbageConns, 42)
			t.Logf("answers by status: %v", st)
			for s, k := range st {
				if s >= 500 {
					t.Errorf("%d garbage connections got %d", k, s)
				}
			}
		})
	}

	for _, c := range []struct {
		name    string
		payload string
		want    []int // 0: closed without an answer
	}{
		{"TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + strings.Repeat("\x00", 32) + "\x00\x00\x02\x13\x01\x01\x00\r\n\r\n", []int{0, 400}},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []int{0, 400, 505}},
		{"64 KiB request line", "GET /" + strings.Repeat("a", 64<<10) + " HTTP/1.1\r\nHost: a.example\r\n\r\n", []int{400, 414, 431}},
		{"64 KiB without a line end", strings.Repeat("x", 64<<10), []int{0, 400, 431}},
		{"10,000 empty lines", strings.Repeat("\r\n", 10000) + "GET /api/x HTTP/1.1\r\nHost: a.example\r\n\r\n", []int{0, 200, 400}},
		{"unknown HTTP version", "GET /api/x HTTP/9.9\r\nHost: a.example\r\nConnection: close\r\n\r\n", []int{200, 400, 505}},
	} {
		f.run(t, class, c.name, func(t *testing.T) {
			out := roundTrip(f.fd.Addr, c.payload, 5*time.Second)
			got := out.status()
			ok := false
			for _, w := range c.want {
				ok = ok || got == w
			}
			if !ok || (!out.Closed && got != 200) {
				t.Errorf("want one of %v and the connection closed, got %s", c.want, out)
			}
		})
	}

	f.run(t, class, "garbage after a valid request on a kept-alive connection", func(t *testing.T) {
		tok := newToken()
		out := roundTrip(f.fd.Addr, "GET /api/ka?t="+tok+" HTTP/1.1\r\nHost: a.example\r\n\r\n\x00\x01garbage\xff\r\n\r\n", 5*time.Second)
		if len(out.Replies) != 2 || checkOwn(out.Replies[0], tok) != nil || out.Replies[1].Status != 400 || !out.Closed {
			t.Errorf("want the origin's answer, then 400 and the connection closed; got %s", out)
		}
	})

	f.run(t, class, "malformed requests keep their secrets out of the log and are counted", func(t *testing.T) {
		before := f.fd.metric("frontdesk_bad_requests_total")
		var secrets []string
		for i, shape := range []string{
			"GET /api/x HTTP/1.1\r\nHost: a.example\r\nX-Api-Key: %s\r\nAuthorization: Bearer %s\r\nBad Header Line\r\n\r\n",
			"GET /api/x HTTP/1.1\r\nHost: a.example\r\nX-Api-Key: %s\r\nAuthorization: Bearer %s\r\nX-A\x00: 1\r\n\r\n",
			"GET /api/x HTTP/1.1 extra\r\nHost: a.example\r\nX-Api-Key: %s\r\nAuthorization: Bearer %s\r\n\r\n",
			"POST /api/x HTTP/1.1\r\nHost: a.example\r\nX-Api-Key: %s\r\nAuthorization: Bearer %s\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		} {
			key, bearer := fmt.Sprintf("leakedKEY%d%s", i, newToken()), fmt.Sprintf("leakedBEARER%d%s", i, newToken())
			secrets = append(secrets, key, bearer)
			out := roundTrip(f.fd.Addr, fmt.Sprintf(shape, key, bearer), 5*time.Second)
			if out.status() != 400 {
				t.Errorf("shape %d: want 400, got %s", i+1, out)
			}
		}
		// The log is written asynchronously: give it a moment to show a
		// leak before declaring there is none.
		leaked := waitFor(1500*time.Millisecond, func() bool {
			logs := f.fd.logs.String()
			for _, s := range secrets {
				if strings.Contains(logs, s) {
					return true
				}
			}
			return false
		})
		if leaked {
			logs := f.fd.logs.String()
			for _, s := range secrets {
				if i := strings.Index(logs, s); i >= 0 {
					line := logs[strings.LastIndexByte(logs[:i], '\n')+1:]
					if j := strings.IndexByte(line, '\n'); j >= 0 {
						line = line[:j]
					}
					t.Errorf("frontdesk logged a malformed request's secret: %s", trunc(line, 300))
					break
				}
			}
		}
		if after := f.fd.metric("frontdesk_bad_requests_total"); after < max(before, 0)+4 {
			t.Errorf("frontdesk_bad_requests_total went from %v to %v after 4 malformed requests (-1: no such metric)", before, after)
		}
	})
}
