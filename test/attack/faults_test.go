package attack

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

type faultCase struct {
	name   string
	method string
	b      string // the origin's behaviour
	// statuses the attacker's client may get; its own token is checked
	// when 200 is the only one.
	statuses []int
}

func faultCases() []faultCase {
	return []faultCase{
		{name: "extra bytes after Content-Length", method: "GET", b: "extra", statuses: []int{200}},
		{name: "body on HEAD", method: "HEAD", b: "headbody", statuses: []int{200}},
		{name: "body on 204", method: "GET", b: "204body", statuses: []int{204}},
		{name: "body on 304", method: "GET", b: "304body", statuses: []int{304}},
		{name: "101 to a request that asked for no upgrade", method: "GET", b: "101", statuses: []int{502}},
		{name: "reset before answering", method: "GET", b: "reset", statuses: []int{502}},
		{name: "garbage status line", method: "GET", b: "garbage", statuses: []int{502}},
		{name: "broken chunk", method: "GET", b: "badchunk", statuses: []int{200, 502}},
		{name: "Content-Length with Transfer-Encoding", method: "GET", b: "both", statuses: []int{200, 502}},
		{name: "response head over 16 KiB", method: "GET", b: "bighead", statuses: []int{502}},
	}
}

// TestUpstreamFaults: whatever the origin does, each client gets its own
// answer or a gateway error, never a byte meant for another.
func TestUpstreamFaults(t *testing.T) {
	parallel(t)
	const class = "upstream faults"
	// Each case has its own frontdesk and origin: a fault that poisons the
	// upstream pool would otherwise fail every later case too.
	for _, c := range faultCases() {
		isolated(t, class, c.name, options{}, func(t *testing.T, f *fixture) {
			tok := newToken()
			out, _ := f.do(c.method + " /api/fault?b=" + c.b + "&t=" + tok + " HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
			t.Logf("%s", out)
			if !slices.Contains(c.statuses, out.status()) {
				t.Errorf("want %v, got %s", c.statuses, out)
			}
			if len(out.Replies) > 0 && out.status() == 200 {
				if got := out.Replies[0].Header.Get("X-Token"); got != tok {
					t.Errorf("got the answer for token %q, want %q", got, tok)
				}
				if bytes.Contains(out.Replies[0].Body, []byte("evil")) {
					t.Errorf("the client got bytes the origin left after its answer: %q", out.Replies[0].Body)
				}
			}
			// The pool's next request on a reused connection is a POST:
			// it must neither read leftovers nor fail on a connection the
			// origin closed.
			if err := victim(f.fd.Addr, http.MethodPost); err != nil {
				t.Error(err)
			}
		})
	}

	isolated(t, class, "close after the answer, then a POST", options{}, func(t *testing.T, f *fixture) {
		tok := newToken()
		ended := f.up.ended.Load()
		out, _ := f.do("GET /api/fault?b=close&t=" + tok + " HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
		if len(out.Replies) != 1 || checkOwn(out.Replies[0], tok) != nil {
			t.Errorf("want the origin's answer, got %s", out)
		}
		// The origin closed the connection it answered on; frontdesk keeps
		// it idle until it notices. A POST must not be sent on it.
		waitFor(time.Second, func() bool { return f.up.ended.Load() > ended })
		if err := victim(f.fd.Addr, http.MethodPost); err != nil {
			t.Error(err)
		}
	})

	isolated(t, class, "short keep-alive with POSTs", options{}, func(t *testing.T, f *fixture) {
		f.up.setIdleClose(100 * time.Millisecond)
		defer f.up.setIdleClose(0)
		fails := 0
		for i := range 10 {
			if err := victim(f.fd.Addr, http.MethodPost); err != nil {
				fails++
				t.Logf("POST %d: %v", i+1, err)
			}
			// The next POST goes out once the origin has closed the idle
			// connection this one left.
			waitFor(2*time.Second, func() bool { return f.up.open.Load() == 0 })
		}
		if f.up.idleCloses.Load() == 0 {
			t.Errorf("the origin never closed an idle connection: the case tested nothing")
		}
		if fails > 0 {
			t.Errorf("%d of 10 POSTs failed on connections the origin had closed for being idle", fails)
		}
	})

	isolated(t, class, "origin killed and restarted", options{}, func(t *testing.T, f *fixture) {
		f.up.kill()
		out, _ := f.do("GET /api/dead?t=x HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
		if s := out.status(); s != 502 && s != 503 {
			t.Errorf("with the origin down want 502 or 503, got %s", out)
		}
		f.up.restart(t)
		// Passive health may keep a refusing origin out for a while; a
		// single origin is always tried, so the next GET must work.
		if err := victim(f.fd.Addr, http.MethodGet); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	})

	isolated(t, class, "origin killed with pooled connections, then a POST", options{}, func(t *testing.T, f *fixture) {
		// Fill the pool with idle connections, kill the origin under them,
		// bring it back: the first POST must not be sent on a dead one.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = victim(f.fd.Addr, http.MethodGet)
			}()
		}
		wg.Wait()
		f.up.kill()
		f.up.restart(t)
		if err := victim(f.fd.Addr, http.MethodPost); err != nil {
			t.Error(err)
		}
	})

	isolated(t, class, "slow body with victims alongside", options{}, func(t *testing.T, f *fixture) {
		tok := newToken()
		done := make(chan outcome, 1)
		go func() {
			done <- roundTrip(f.fd.Addr, "GET /api/slow?b=slow&t="+tok+" HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n", 15*time.Second)
		}()
		for range 5 {
			if err := victim(f.fd.Addr, http.MethodGet); err != nil {
				t.Error(err)
			}
		}
		out := <-done
		if out.status() != 200 || len(out.Replies[0].Body) != 16*16<<10 || out.Replies[0].Header.Get("X-Token") != tok {
			t.Errorf("the slow body did not arrive whole: %s", out)
		}
	})

	f := newFixture(t, options{})
	for _, c := range []struct{ name, b string }{
		{"32 MiB sized body", "big"},
		{"32 MiB chunked body", "chunkbig"},
	} {
		f.run(t, class, c.name, func(t *testing.T) {
			tok := newToken()
			n := 32 << 20
			out := roundTrip(f.fd.Addr, "GET /api/large?b="+c.b+"&n="+strconv.Itoa(n)+"&t="+tok+" HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n", 60*time.Second)
			if out.status() != 200 || len(out.Replies[0].Body) != n || out.Replies[0].Header.Get("X-Token") != tok {
				t.Fatalf("want 32 MiB with token %s, got %d %d bytes", tok, out.status(), bodyLen(out))
			}
			if !bytes.Equal(out.Replies[0].Body[n-len(bigPattern):], bigPattern) {
				t.Errorf("the large body was corrupted")
			}
		})
	}
}

func bodyLen(o outcome) int {
	if len(o.Replies) == 0 {
		return 0
	}
	return len(o.Replies[0].Body)
}
