package redistest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy is a TCP proxy on a loopback port that forwards every connection
// to a Redis server and delays what it forwards, in each direction, by an
// adjustable latency: a slow network or a slow Redis, without stopping
// the server. Bytes are delayed, not throttled: a chunk read at t is
// written at t + latency, so pipelined commands keep flowing.
type Proxy struct {
	ln      net.Listener
	target  string
	latency atomic.Int64 // nanoseconds, each way
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

// chunk is one read waiting for its time.
type chunk struct {
	at   time.Time
	data []byte
}

// maxInFlight bounds the chunks a direction holds while it waits: a
// writer that falls further behind blocks its reader, as TCP would.
const maxInFlight = 1024

// StartProxy forwards to s through a new proxy with no latency; it closes
// when the test ends.
func StartProxy(t testing.TB, s *Server) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: s.Addr(), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// URL is redis://host:port/0 of the proxy.
func (p *Proxy) URL() string { return "redis://" + p.ln.Addr().String() + "/0" }

// SetLatency sets the delay added in each direction, for bytes read from
// now on.
func (p *Proxy) SetLatency(d time.Duration) { p.latency.Store(int64(d)) }

// Close stops accepting and cuts every forwarded connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil // connections accepted from now on are cut at once
	p.mu.Unlock()
	p.wg.Wait()
}

// track remembers c for Close; false once closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(in) || !p.track(out) {
			in.Close()
			out.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

// pipe copies src to dst, each chunk held back by the latency in force
// when it was read. Either side closing closes both.
func (p *Proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	q := make(chan chunk, maxInFlight)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range q {
			time.Sleep(time.Until(c.at))
			if _, err := dst.Write(c.data); err != nil {
				src.Close()
				for range q { // let the reader finish
				}
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			q <- chunk{at: time.Now().Add(time.Duration(p.latency.Load())), data: append([]byte(nil), buf[:n]...)}
		}
		if err != nil {
			break
		}
	}
	close(q)
	<-done
	dst.Close()
}
