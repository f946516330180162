// Command frontdesk-wsload is the WebSocket part of the benchmark suite
// (make bench-ws): it starts frontdesk with a WebSocket API in front of a
// small event backend, holds many concurrent client connections, and
// reports what an idle connection costs the gateway (RSS per connection)
// and how many @connections POSTs a second it delivers.
//
// Everything runs on this machine: frontdesk and the backend on 127.0.0.1,
// clients from several 127.0.0.x source addresses so that ephemeral ports
// do not run out.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

type result struct {
	Connections      int     `json:"connections"`
	ConnectSeconds   float64 `json:"connectSeconds"`
	RSSBeforeKiB     int     `json:"rssBeforeKiB"`
	RSSAfterKiB      int     `json:"rssAfterKiB"`
	RSSPerConnKiB    float64 `json:"rssPerConnectionKiB"`
	Posts            int     `json:"posts"`
	PostsPerSecond   float64 `json:"postsPerSecond"`
	PostFailures     int64   `json:"postFailures"`
	MessagesReceived int64   `json:"messagesReceived"`
	MaxHeaderBytes   int     `json:"maxHeaderBytes"`
}

func main() {
	conns := flag.Int("conns", 10000, "concurrent WebSocket connections to hold")
	posts := flag.Int("posts", 20000, "@connections POSTs to send")
	posters := flag.Int("posters", 32, "keep-alive clients sending the POSTs")
	bin := flag.String("frontdesk", "bin/frontdesk", "frontdesk binary (built when missing)")
	out := flag.String("out", "bench/results", "where websocket.json and websocket.md go")
	headerBytes := flag.Int("max-header-bytes", 10240, "server.max_header_bytes of the gateway (its per-connection read buffer)")
	flag.Parse()
	if err := run(*conns, *posts, *posters, *bin, *out, *headerBytes); err != nil {
		fmt.Fprintln(os.Stderr, "frontdesk-wsload:", err)
		os.Exit(1)
	}
}

func run(nconns, nposts, posters int, bin, out string, headerBytes int) error {
	raiseNoFile(uint64(nconns)*2 + 4096)
	if _, err := os.Stat(bin); err != nil {
		if b, err := exec.Command("go", "build", "-o", bin, "./cmd/frontdesk").CombinedOutput(); err != nil {
			return fmt.Errorf("build frontdesk: %v\n%s", err, b)
		}
	}
	// The event backend: accepts every connect, remembers the ids.
	var idsMu sync.Mutex
	var ids []string
	bln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	backend := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if id := ctx.Request.Header.Peek("X-Connection-Id"); len(id) > 0 && strings.Contains(string(ctx.PostBody()), `"CONNECT"`) {
			idsMu.Lock()
			ids = append(ids, string(id))
			idsMu.Unlock()
		}
	}}
	go backend.Serve(bln) //nolint:errcheck // ends with the process
	gln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	gw := gln.Addr().String()
	gln.Close()
	dir, err := os.MkdirTemp("", "frontdesk-wsload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "ws.yaml")
	err = os.WriteFile(cfg, []byte(fmt.Sprintf(`
server: {listen: %q, max_header_bytes: %d}
apis:
  chat:
    type: websocket
    stages: {prod: {}}
    route_selection: "$request.body.action"
    integrations: {be: {type: http, url: "http://%s/events"}}
    routes:
      "$connect": {integration: be}
      "$disconnect": {integration: be}
      "$default": {integration: be}
`, gw, headerBytes, bln.Addr())), 0o600)
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	fd := exec.Command(bin, "serve", "-c", cfg, "-watch=false", "-log-level", "error")
	fd.Stderr = os.Stderr
	if err := fd.Start(); err != nil {
		return err
	}
	defer func() { fd.Process.Signal(syscall.SIGTERM); fd.Wait() }() //nolint:errcheck
	if err := waitListening(gw); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	res := result{Connections: nconns, Posts: nposts, MaxHeaderBytes: headerBytes}
	res.RSSBeforeKiB = rssKiB(fd.Process.Pid)

	var received atomic.Int64
	clients := make([]*websocket.Conn, 0, nconns)
	start := time.Now()
	for i := 0; i < nconns; i++ {
		d := websocket.Dialer{
			HandshakeTimeout: 10 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512,
			NetDialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/20000))}}).DialContext,
		}
		c, _, err := d.Dial("ws://"+gw+"/prod", nil)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		clients = append(clients, c)
		go func(c *websocket.Conn) {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				received.Add(1)
			}
		}(c)
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	time.Sleep(2 * time.Second) // idle: let the gateway settle
	res.RSSAfterKiB = rssKiB(fd.Process.Pid)
	res.RSSPerConnKiB = float64(res.RSSAfterKiB-res.RSSBeforeKiB) / float64(nconns)

	idsMu.Lock()
	known := append([]string(nil), ids...)
	idsMu.Unlock()
	if len(known) == 0 {
		return fmt.Errorf("the backend saw no $connect")
	}
	var failures atomic.Int64
	var wg sync.WaitGroup
	pstart := time.Now()
	for p := 0; p < posters; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			hc := &fasthttp.HostClient{Addr: gw, MaxConns: 1}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.Header.SetMethod("POST")
			req.SetBodyString(`{"msg":"hello"}`)
			for i := p; i < nposts; i += posters {
				req.SetRequestURI("http://" + gw + "/prod/@connections/" + known[i%len(known)])
				if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					failures.Add(1)
				}
			}
		}(p)
	}
	wg.Wait()
	res.PostsPerSecond = float64(nposts) / time.Since(pstart).Seconds()
	res.PostFailures = failures.Load()
	deadline := time.Now().Add(5 * time.Second)
	for received.Load() < int64(nposts)-res.PostFailures && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	res.MessagesReceived = received.Load()
	for _, c := range clients {
		c.Close()
	}
	return report(res, out)
}

func report(r result, out string) error {
	md := fmt.Sprintf(`# WebSocket load (make bench-ws)

| figure | value |
|---|---|
| concurrent connections | %d (opened in %.1fs) |
| gateway RSS before / with them idle | %d KiB / %d KiB |
| RSS per idle connection | %.1f KiB (server.max_header_bytes %d, the per-connection read buffer) |
| @connections POSTs | %d at %.0f POST/s, %d failed |
| messages the clients received | %d |
`, r.Connections, r.ConnectSeconds, r.RSSBeforeKiB, r.RSSAfterKiB, r.RSSPerConnKiB, r.MaxHeaderBytes,
		r.Posts, r.PostsPerSecond, r.PostFailures, r.MessagesReceived)
	fmt.Print(md)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "websocket.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "websocket.md"), []byte(md), 0o644)
}

func waitListening(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("frontdesk did not listen on %s", addr)
}

func rssKiB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return 0
}

func raiseNoFile(want uint64) {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return
	}
	if lim.Cur < want {
		lim.Cur = min(want, lim.Max)
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
