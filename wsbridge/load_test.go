package wsbridge

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// The load test measures what an idle connection costs the server and how
// many @connections POSTs a second it takes, and fails when a connection
// costs more than its bound. The server runs in a child process (this test
// binary again) so that client memory does not blur the figures. It is not
// part of the default go test run; make test runs it at 1,000 connections,
// without the race detector (whose bookkeeping would blur the figures):
//
//	FRONTDESK_WS_LOAD=1 go test -run TestLoadManyConnections -v ./wsbridge/
//
// FRONTDESK_WS_LOAD_CONNS (default 10000) sets the number of connections,
// FRONTDESK_WS_LOAD_POSTS (default 20000) the number of POSTs, and
// FRONTDESK_WS_LOAD_READBUF the child server's fasthttp ReadBufferSize;
// FRONTDESK_WS_LOAD_HEAPPROFILE=file makes the child write a heap profile
// while the connections are open.

type loadStats struct {
	HeapInuse  uint64 `json:"heapInuse"`
	StackInuse uint64 `json:"stackInuse"`
	RSS        uint64 `json:"rss"`
	Goroutines int    `json:"goroutines"`
	Open       int64  `json:"open"`
	Out        uint64 `json:"out"`
	QueueFull  uint64 `json:"queueFull"`
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func raiseNoFile(t *testing.T, want uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lim.Cur = min(max(lim.Cur, want), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < want {
		t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d this test needs", lim.Max, want)
	}
}

func rssBytes() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestLoadServerProcess is the child side of TestLoadManyConnections.
func TestLoadServerProcess(t *testing.T) {
	if os.Getenv("FRONTDESK_WS_LOAD_SERVER") != "1" {
		t.Skip("helper process of TestLoadManyConnections")
	}
	raiseNoFile(t, uint64(envInt("FRONTDESK_WS_LOAD_CONNS", 10000))+1000)
	b, err := New(Options{Stages: []string{"prod"}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{bridge: b}
	handler := func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/stats":
			runtime.GC()
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			st := b.Stats()
			out, _ := json.Marshal(loadStats{
				HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse, RSS: rssBytes(),
				Goroutines: runtime.NumGoroutine(), Open: st.OpenConnections, Out: st.MessagesOut, QueueFull: st.QueueFull,
			})
			ctx.SetBody(out)
			if p := os.Getenv("FRONTDESK_WS_LOAD_HEAPPROFILE"); p != "" && st.OpenConnections > 0 {
				if f, err := os.Create(p); err == nil {
					_ = pprof.WriteHeapProfile(f)
					_ = f.Close()
				}
			}
		case "/ids":
			ctx.SetBodyString(strings.Join(connectionIDs(b), "\n"))
		default:
			g.handle(ctx)
		}
	}
	srv := &fasthttp.Server{Handler: handler, ReadBufferSize: envInt("FRONTDESK_WS_LOAD_READBUF", 0)}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	// The parent closes our stdin when it is done.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	_ = srv.Shutdown()
}

func TestLoadManyConnections(t *testing.T) {
	if os.Getenv("FRONTDESK_WS_LOAD") != "1" {
		t.Skip("load test: set FRONTDESK_WS_LOAD=1 to run")
	}
	conns := envInt("FRONTDESK_WS_LOAD_CONNS", 10000)
	posts := envInt("FRONTDESK_WS_LOAD_POSTS", 20000)
	raiseNoFile(t, uint64(conns)+1000)

	child := exec.Command(os.Args[0], "-test.run=^TestLoadServerProcess$")
	child.Env = append(os.Environ(), "FRONTDESK_WS_LOAD_SERVER=1")
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = child.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = child.Process.Kill()
			<-done
		}
	})
	var addr string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	if addr == "" {
		t.Fatal("child server did not start")
	}
	go func() { // keep draining the child's output
		for sc.Scan() {
		}
	}()

	hc := &fasthttp.Client{MaxConnsPerHost: 64}
	getStats := func() loadStats {
		t.Helper()
		status, body, err := hc.Get(nil, "http://"+addr+"/stats")
		if err != nil || status != 200 {
			t.Fatalf("stats: %d %v", status, err)
		}
		var s loadStats
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := getStats()

	// Dial from several loopback source addresses so that ephemeral ports
	// never run short, whatever the connection count.
	var received atomic.Int64
	clients := make([]*websocket.Conn, conns)
	dialStart := time.Now()
	var wg sync.WaitGroup
	var dialErr atomic.Value
	const dialers = 16
	for w := range dialers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < conns; i += dialers {
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}
				d := websocket.Dialer{
					ReadBufferSize: 256, WriteBufferSize: 256, HandshakeTimeout: 10 * time.Second,
					NetDialContext: (&net.Dialer{LocalAddr: src}).DialContext,
				}
				c, _, err := d.DialContext(context.Background(), "ws://"+addr+"/prod", nil)
				if err != nil {
					dialErr.Store(err)
					return
				}
				clients[i] = c
				go func() {
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
						received.Add(1)
					}
				}()
			}
		}()
	}
	wg.Wait()
	if err := dialErr.Load(); err != nil {
		t.Fatalf("dial: %v", err)
	}
	dialTime := time.Since(dialStart)
	defer func() {
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	waitFor(t, 10*time.Second, "all connections registered", func() bool { return getStats().Open == int64(conns) })
	loaded := getStats()

	mem := float64(loaded.HeapInuse+loaded.StackInuse) - float64(base.HeapInuse+base.StackInuse)
	t.Logf("%d idle connections opened in %v (%.0f/s)", conns, dialTime.Round(time.Millisecond), float64(conns)/dialTime.Seconds())
	t.Logf("server heap+stack per connection: %.1f KiB (heap %.1f KiB, stacks %.1f KiB); RSS per connection: %.1f KiB; goroutines %d",
		mem/float64(conns)/1024,
		(float64(loaded.HeapInuse)-float64(base.HeapInuse))/float64(conns)/1024,
		(float64(loaded.StackInuse)-float64(base.StackInuse))/float64(conns)/1024,
		(float64(loaded.RSS)-float64(base.RSS))/float64(conns)/1024,
		loaded.Goroutines-base.Goroutines)

	// The bound docs/websocket.md promises: an idle connection costs the
	// server at most 12 KiB of heap and stack beside fasthttp's read
	// buffer (measured: 13.3–13.5 KiB with the default 4 KiB buffer), and
	// one goroutine.
	readBuf := envInt("FRONTDESK_WS_LOAD_READBUF", 4096)
	if perConn, bound := mem/float64(conns), float64(12<<10+readBuf); perConn > bound {
		t.Errorf("server heap+stack per idle connection %.1f KiB, bound %.1f KiB", perConn/1024, bound/1024)
	}
	if g := loaded.Goroutines - base.Goroutines; g > conns+conns/10 {
		t.Errorf("%d goroutines for %d idle connections, want one each", g, conns)
	}

	status, body, err := hc.Get(nil, "http://"+addr+"/ids")
	if err != nil || status != 200 {
		t.Fatalf("ids: %d %v", status, err)
	}
	ids := strings.Split(string(body), "\n")
	payload := []byte(`{"message":"hello from the load test"}`)
	var sent, failed atomic.Int64
	postStart := time.Now()
	const posters = 32
	for w := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := w; i < posts; i += posters {
				req.Reset()
				req.Header.SetMethod("POST")
				req.SetRequestURI("http://" + addr + "/prod/@connections/" + ids[i%len(ids)])
				req.SetBody(payload)
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
					continue
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	postTime := time.Since(postStart)
	waitFor(t, 10*time.Second, "every posted message delivered", func() bool { return received.Load() >= sent.Load() })
	t.Logf("%d @connections POSTs in %v: %.0f POST/s (%d failed); %d messages received by clients",
		sent.Load(), postTime.Round(time.Millisecond), float64(sent.Load())/postTime.Seconds(), failed.Load(), received.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d POSTs failed", failed.Load())
	}
}
