// Package redistest runs a real redis-server for tests: on a free
// loopback port, with its data in a temporary directory, stopped when the
// test ends. Tests that need it skip outside CI when redis-server is not
// installed (internal/testdeps).
//
// Hot path: none; tests only.
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/frontdeskgw/frontdesk/internal/testdeps"
)

// Server is one redis-server process.
type Server struct {
	t     testing.TB
	bin   string
	dir   string
	port  int
	extra []string
	cmd   *exec.Cmd
}

// Start runs redis-server with append-only persistence (so a restart
// keeps its counters, as production should) and waits until it answers.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t)
}

func start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := testdeps.Require(t, "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), extra: extra}
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		err := s.run()
		if err == nil {
			break
		}
		if attempt == 4 {
			t.Fatalf("redis-server: %v", err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is redis://host:port/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *Server) run() error {
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", "--loglevel", "warning"}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.Ping() == nil {
			return nil
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill() //nolint:errcheck // giving up on it
	cmd.Wait()         //nolint:errcheck
	s.cmd = nil
	return fmt.Errorf("redis-server on port %d did not answer", s.port)
}

// Ping sends PING over a fresh connection.
func (s *Server) Ping() error {
	_, err := s.Do("PING")
	return err
}

// Do sends one command (inline form) over a fresh connection and returns
// the first line of the reply.
func (s *Server) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second)) //nolint:errcheck
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "-") {
		return "", fmt.Errorf("redis: %s", line[1:])
	}
	if strings.HasPrefix(line, "$") && line != "$-1" {
		v, err := r.ReadString('\n')
		return strings.TrimRight(v, "\r\n"), err
	}
	return line, nil
}

// DoArray sends one command whose reply is an array of bulk strings
// (KEYS, SMEMBERS…) and returns its elements.
func (s *Server) DoArray(args ...string) ([]string, error) {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second)) //nolint:errcheck
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("redis: not an array: %q", line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n > 100_000 {
		return nil, fmt.Errorf("redis: array length %q", line)
	}
	out := make([]string, 0, max(n, 0))
	for range n {
		if _, err := r.ReadString('\n'); err != nil { // $len
			return nil, err
		}
		v, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		out = append(out, strings.TrimRight(v, "\r\n"))
	}
	return out, nil
}

// Stop ends the server (SIGTERM: it flushes its append-only file) and
// waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) //nolint:errcheck // a paused server must run to stop
	s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone
	s.cmd.Wait()                          //nolint:errcheck
	s.cmd = nil
}

// Restart starts the server again on the same port and data directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	for range 50 { // the port may linger briefly
		if err = s.run(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redis-server restart: %v", err)
}

// Pause freezes the server (SIGSTOP): connections stay open and nothing
// answers, the worst case of a slow Redis.
func (s *Server) Pause() {
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGSTOP) //nolint:errcheck // it may be gone
	}
}

// Resume undoes Pause.
func (s *Server) Resume() {
	if s.cmd != nil {
		s.cmd.Process.Signal(syscall.SIGCONT) //nolint:errcheck // it may be gone
	}
}

// StartCluster runs a Redis Cluster of n primaries (no replicas), the 16384
// slots split evenly, and waits until every node reports it healthy.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	nodes := make([]*Server, n)
	for i := range nodes {
		nodes[i] = start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
	}
	const slots = 16384
	for i, s := range nodes {
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if _, err := s.Do("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			t.Fatalf("cluster addslots: %v", err)
		}
	}
	for _, s := range nodes[1:] {
		if _, err := s.Do("CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(nodes[0].port)); err != nil {
			t.Fatalf("cluster meet: %v", err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range nodes {
		for {
			st, err := s.Do("CLUSTER", "INFO")
			if err == nil && strings.HasPrefix(st, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("redis cluster never became healthy: %q %v", st, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nodes
}

// StartSentinel runs a Sentinel (redis-server --sentinel) watching primary
// under the master name "mymaster" and returns its address.
func StartSentinel(t testing.TB, primary *Server) string {
	t.Helper()
	bin := testdeps.Require(t, "redis-server")
	dir := t.TempDir()
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		conf := filepath.Join(dir, "sentinel.conf")
		src := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %d 1\nsentinel down-after-milliseconds mymaster 2000\n", port, dir, primary.port)
		if err := os.WriteFile(conf, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, conf, "--sentinel", "--loglevel", "warning")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s := &Server{t: t, port: port, cmd: cmd}
		t.Cleanup(s.Stop)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if v, err := s.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"); err == nil && v != "" {
				return s.Addr()
			}
			time.Sleep(20 * time.Millisecond)
		}
		s.Stop()
		if attempt == 4 {
			t.Fatalf("sentinel on port %d did not answer", port)
		}
	}
}
