package attack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// p99Floor is the least p99 an attack's is compared with: below a few
// milliseconds a loopback p99 on two shared cores is scheduling noise,
// and twice noise is no bound.
const p99Floor = 5 * time.Millisecond

// measure has the well-behaved client make n requests in three windows
// and returns them all, with the median of the windows' p99s: a burst of
// noise from outside the suite spoils one window, while an attack's
// effect shows in all three.
func measure(ld *loader, n int) (loadStats, time.Duration) {
	var all loadStats
	var p99s []time.Duration
	for range 3 {
		if len(all.Errors) > 0 {
			break // failing already: more windows only wait out timeouts
		}
		ld.requests((n+2)/3, load.Deadline/3)
		st := ld.take()
		p99s = append(p99s, st.p99())
		all.Total += st.Total
		all.OK += st.OK
		all.Latencies = append(all.Latencies, st.Latencies...)
		all.Errors = append(all.Errors, st.Errors...)
	}
	return all, percentile(p99s, 0.5)
}

// pressure is an attack that holds resources while the well-behaved client
// measures.
type pressure struct {
	name string
	// start puts the attack in place and returns how to end it.
	start func(t *testing.T, f *fixture, base proc) (stop func())
	// check runs while the attack is in place, with the figures sampled
	// since it started.
	check func(t *testing.T, f *fixture, base, peak proc)
}

// sampler polls frontdesk's figures and keeps the largest.
type sampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak proc
}

func startSampler(fd *frontdesk) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			p := fd.proc()
			s.mu.Lock()
			s.peak.RSS = max(s.peak.RSS, p.RSS)
			s.peak.FDs = max(s.peak.FDs, p.FDs)
			s.peak.Goroutines = max(s.peak.Goroutines, p.Goroutines)
			s.peak.HeapInuse = max(s.peak.HeapInuse, p.HeapInuse)
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *sampler) get() proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

func (s *sampler) close() proc {
	close(s.stop)
	<-s.done
	return s.get()
}

// underPressure runs p as a case of class: the well-behaved client
// measures a quiet baseline, then keeps going while the attack holds;
// it must keep 100% success and a p99 within twice the quiet one, and
// frontdesk's goroutines and descriptors must come back near their
// baseline once the attack ends.
func (f *fixture) underPressure(t *testing.T, class string, p pressure) {
	f.run(t, class, p.name, func(t *testing.T) {
		base := f.fd.proc()
		ld := startLoad(f.fd.Addr)
		quiet, quietP99 := measure(ld, load.QuietRequests)
		// The client stops while the attack sets up and starts afresh
		// once it is in place: a client whose requests kept one upstream
		// connection busy the whole time would keep it from the attack
		// (the pool hands an idle connection back to whoever asks next).
		ld.close()
		smp := startSampler(f.fd)
		stop := p.start(t, f, base)
		ld = startLoad(f.fd.Addr)
		under, underP99 := measure(ld, load.QuietRequests)
		peak := smp.get()
		if p.check != nil {
			p.check(t, f, base, peak)
		}
		stop()
		ld.close()
		peak = smp.close()
		after := f.fd.settle(t, base)
		results.quiet(class, quietP99)
		results.attacked(class, underP99)
		results.victims(class, under)
		results.memory(class, base.RSS, peak.RSS, after.RSS)
		t.Logf("quiet: %d/%d p99 %s; under attack: %d/%d p99 %s; RSS %s → %s → %s; heap in use %s → %s; goroutines %d → %d → %d; fds %d → %d → %d",
			quiet.OK, quiet.Total, quietP99, under.OK, under.Total, underP99, mib(base.RSS), mib(peak.RSS), mib(after.RSS),
			mib(base.HeapInuse>>10), mib(peak.HeapInuse>>10), base.Goroutines, peak.Goroutines, after.Goroutines, base.FDs, peak.FDs, after.FDs)
		if quiet.OK != quiet.Total {
			t.Errorf("the well-behaved client failed before the attack: %d/%d %q", quiet.OK, quiet.Total, quiet.Errors)
		}
		if under.Total == 0 || under.OK != under.Total {
			t.Errorf("the well-behaved client failed under attack: %d/%d ok, first errors %q", under.OK, under.Total, under.Errors)
		}
		// Latency is a bound only when the suite has the machine to itself:
		// the soak mode runs one class at a time; the quick mode runs them
		// side by side and under the race detector.
		if bound := 2 * max(quietP99, p99Floor); load.Name == "soak" && underP99 > bound {
			t.Errorf("the well-behaved client's p99 under attack is %s, over twice the quiet %s (bound %s)", underP99, quietP99, bound)
		}
	})
}

// dialer sets what a hostile client sets on its sockets: a tiny receive
// buffer (a stalled reader's window closes at once) and an Ethernet-sized
// MSS, so that loopback's 64 KiB segments do not make the kernel buffer
// megabytes per connection.
func dialer(rcvbuf int) *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if rcvbuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1460)
			}
		})
		return errors.Join(err, serr)
	}}
}

// dialMany opens n connections to addr, 64 at a time, and writes first on
// each. Connections that fail to open are reported.
func dialMany(t *testing.T, addr string, n, rcvbuf int, first func(i int) string) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	d := dialer(rcvbuf)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				var c net.Conn
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					if c, err = d.DialContext(context.Background(), "tcp", addr); err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if err == nil && first != nil {
					_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
					if _, err = io.WriteString(c, first(i)); err != nil {
						c.Close()
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if k := failed.Load(); k > 0 {
		t.Errorf("%d of %d attacking connections could not be opened: %v", k, n, firstErr.Load())
	}
	out := conns[:0]
	for _, c := range conns {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// waitOpen waits until frontdesk counts at least n open client
// connections.
func waitOpen(t *testing.T, fd *frontdesk, n int) {
	t.Helper()
	var got float64
	if !waitFor(load.Deadline, func() bool {
		got = fd.metric("frontdesk_open_connections")
		return got >= float64(n)
	}) {
		t.Errorf("frontdesk holds %.0f connections, want at least %d", got, n)
	}
}

func slowloris(n int) pressure {
	return pressure{name: fmt.Sprintf("slowloris x%d", n), start: func(t *testing.T, f *fixture, _ proc) func() {
		conns := dialMany(t, f.fd.Addr, n, 0, func(int) string { return "GET /api/loris?t=x HTTP/1.1\r\nHost: a.example\r\n" })
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // one goroutine drips a header line into every connection
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				for _, c := range conns {
					_ = c.SetWriteDeadline(time.Now().Add(time.Second))
					_, _ = fmt.Fprintf(c, "X-Drip-%d: %d\r\n", i, i)
				}
			}
		}()
		waitOpen(t, f.fd, len(conns))
		return func() {
			close(stop)
			wg.Wait()
			closeAll(conns)
		}
	}}
}

// slowPOSTs declare 10 MB bodies and send their first KiB only: frontdesk
// may spend on each what has arrived, not what was announced.
func slowPOSTs(n int) pressure {
	const declared = 10_000_000
	return pressure{name: fmt.Sprintf("slow 10 MB POSTs x%d", n), start: func(t *testing.T, f *fixture, _ proc) func() {
		conns := dialMany(t, f.fd.Addr, n, 0, func(int) string {
			return fmt.Sprintf("POST /api/slowpost?t=x HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s",
				declared, strings.Repeat("p", 1024))
		})
		waitOpen(t, f.fd, len(conns))
		return func() { closeAll(conns) }
	}, check: func(t *testing.T, f *fixture, base, _ proc) {
		// What arrived is 1 KiB per connection; allow 64 KiB per connection
		// for its buffers and goroutine, plus 24 MiB of noise. Watch for
		// a second: the bodies' buffers appear as their headers are read.
		budget := int64(n)*64<<10 + 24<<20
		var worst int64
		waitFor(time.Second, func() bool {
			p := f.fd.proc()
			worst = max(worst, (p.RSS-base.RSS)<<10, p.HeapInuse-base.HeapInuse)
			return worst > budget
		})
		if worst > budget {
			t.Errorf("%d slow POSTs that sent 1 KiB each cost frontdesk %s (RSS or heap growth), budget %s: the declared 10 MB were reserved up front",
				n, mib(worst>>10), mib(budget>>10))
		}
	}}
}

// stalledReaders ask for 4 MiB each and never read.
func stalledReaders(n int) pressure {
	return pressure{name: fmt.Sprintf("stalled readers x%d", n), start: func(t *testing.T, f *fixture, _ proc) func() {
		mark := f.up.count("/api/stall")
		conns := dialMany(t, f.fd.Addr, n, 4096, func(int) string {
			return "GET /api/stall?b=big&n=4194304&t=x HTTP/1.1\r\nHost: a.example\r\n\r\n"
		})
		// The attack is in place once every request reached the origin,
		// or the 1,024 connections frontdesk keeps per origin are taken.
		waitFor(load.Deadline, func() bool { return f.up.count("/api/stall")-mark >= min(len(conns), 1024) })
		return func() {
			closeAll(conns)
			// Stalled streams end when frontdesk's writes fail; the origin's
			// connections must come back (closed or idle in the pool).
			if !waitFor(load.Deadline, func() bool { return f.up.open.Load() <= 64 }) {
				t.Errorf("origin still has %d connections from frontdesk after the stalled readers left", f.up.open.Load())
			}
		}
	}}
}

func idleConns(n int) pressure {
	return pressure{name: fmt.Sprintf("idle connections x%d", n), start: func(t *testing.T, f *fixture, _ proc) func() {
		conns := dialMany(t, f.fd.Addr, n, 0, nil)
		waitOpen(t, f.fd, len(conns))
		return func() { closeAll(conns) }
	}}
}

// flood opens connections at 1,000 a second from 16 clients, each sending
// half a request and leaving, until n were made or the case ends. The
// rate is bounded so that the attacking process does not take the cores
// frontdesk and the well-behaved client share with it: the case measures
// frontdesk, not the machine.
func flood(n int) pressure {
	return pressure{name: fmt.Sprintf("connection flood x%d", n), start: func(t *testing.T, f *fixture, _ proc) func() {
		stop := make(chan struct{})
		pace := time.NewTicker(time.Millisecond)
		var made atomic.Int64
		var wg sync.WaitGroup
		d := dialer(0)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for made.Add(1) <= int64(n) {
					select {
					case <-stop:
						return
					case <-pace.C:
					}
					c, err := d.Dial("tcp", f.fd.Addr)
					if err != nil {
						continue
					}
					_, _ = io.WriteString(c, "GET /api/flood HTTP/1.1\r\nHo")
					c.Close()
				}
			}()
		}
		return func() {
			close(stop)
			wg.Wait()
			pace.Stop()
		}
	}}
}

// TestSlowAndGreedyClients runs each attack on a frontdesk of its own, so
// that what one leaves behind does not weigh on the next; once all have
// run, each process must have come back to its baseline (they recover
// side by side, so the wait is paid once).
func TestSlowAndGreedyClients(t *testing.T) {
	parallel(t)
	const class = "slow and greedy clients"
	type ran struct {
		name string
		f    *fixture
		base proc
	}
	var all []ran
	// The attacks that leave the most idle fasthttp workers (kept 10 s)
	// go first, so that they are gone by the time recovery is checked.
	for _, p := range []pressure{
		idleConns(load.IdleConns),
		slowloris(load.Slowloris),
		stalledReaders(load.StalledReaders),
		flood(load.FloodConns),
		slowPOSTs(load.SlowPOSTs),
	} {
		f := newFixture(t, options{})
		base := f.fd.proc()
		f.underPressure(t, class, p)
		all = append(all, ran{p.name, f, base})
	}
	for _, r := range all {
		r.f.run(t, class, "goroutines and memory return after "+r.name, func(t *testing.T) {
			after := r.f.fd.recovered(t, r.base)
			results.memory(class, r.base.RSS, after.RSS, after.RSS)
		})
	}
}

// TestTimeoutsCutSlowClients: read_timeout bounds a request however
// slowly it trickles in, and idle_timeout an idle keep-alive connection.
func TestTimeoutsCutSlowClients(t *testing.T) {
	parallel(t)
	f := newFixture(t, options{server: "  read_timeout: 2s\n  idle_timeout: 2s"})
	const class = "slow and greedy clients"
	cases := []struct {
		name  string
		first string
		drip  string
	}{
		{"slowloris cut at read_timeout", "GET /api/x HTTP/1.1\r\nHost: a.example\r\n", "X-Drip: 1\r\n"},
		{"slow body cut at read_timeout", "POST /api/x HTTP/1.1\r\nHost: a.example\r\nContent-Length: 100000\r\n\r\n", "b"},
		{"idle keep-alive cut at idle_timeout", "GET /api/x?t=x HTTP/1.1\r\nHost: a.example\r\n\r\n", ""},
	}
	f.run(t, class, "read_timeout and idle_timeout", func(t *testing.T) {
		errs := make([]error, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = cutWithin(f.fd.Addr, c.first, c.drip, 10*time.Second)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("%s: %v", cases[i].name, err)
			}
		}
	})
}

// cutWithin sends first, then drip every 200 ms, and reports an error
// unless the server closes the connection within d.
func cutWithin(addr, first, drip string, d time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, first); err != nil {
		return err
	}
	deadline := time.Now().Add(d)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) {
		if drip != "" {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(c, drip); err != nil {
				return nil // closed by the server
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := c.Read(buf)
		var ne net.Error
		switch {
		case err == nil: // an answer (the idle case's): keep waiting for the close
		case errors.As(err, &ne) && ne.Timeout():
		default:
			return nil // EOF or reset: closed by the server
		}
	}
	return fmt.Errorf("connection still open after %s", d)
}
