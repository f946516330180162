package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CPULayout says where processes run: the proxy under test alone on one
// CPU, the load generator and upstream on the others.
type CPULayout struct {
	Taskset string // path of taskset; empty when processes are not pinned
	Proxy   string // taskset CPU list of the proxy under test
	Load    string // taskset CPU list of the load generator and upstream
	Note    string // how processes were placed, for the report
}

// AllowedCPUs lists the CPUs this process may run on.
func AllowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read cpu affinity: %w", err)
	}
	var cpus []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}

// FormatCPUs writes a CPU list as taskset -c takes it.
func FormatCPUs(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// ParseCPUs reads a list written by FormatCPUs.
func ParseCPUs(s string) ([]int, error) {
	var cpus []int
	for _, f := range strings.Split(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 0 {
			return nil, fmt.Errorf("cpu list %q: bad cpu %q", s, f)
		}
		cpus = append(cpus, c)
	}
	return cpus, nil
}

// NewCPULayout places the proxy on the first allowed CPU and everything
// else on the rest, when taskset is installed and there are two CPUs or
// more.
func NewCPULayout(taskset string, cpus []int) CPULayout {
	switch {
	case taskset == "":
		return CPULayout{Note: "not pinned: taskset not installed"}
	case len(cpus) < 2:
		return CPULayout{Note: "not pinned: only one CPU"}
	}
	l := CPULayout{Taskset: taskset, Proxy: strconv.Itoa(cpus[0]), Load: FormatCPUs(cpus[1:])}
	l.Note = fmt.Sprintf("proxy under test on CPU %s (GOMAXPROCS=1 for frontdesk); load generator, upstream and suite on CPU %s", l.Proxy, l.Load)
	return l
}

// command prepares argv pinned to cpus (when the layout pins). The child
// is killed if the suite dies, so an interrupted run leaves no server
// behind.
func (l CPULayout) command(ctx context.Context, cpus string, env []string, argv ...string) *exec.Cmd {
	if l.Taskset != "" && cpus != "" {
		// taskset execs the program, so the child's pid is the program's.
		argv = append([]string{l.Taskset, "-c", cpus}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// child is a started process and the end of its wait.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string // where its output goes
	done chan struct{}
	err  error
}

func startChild(name string, cmd *exec.Cmd, logPath string) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after grace.
func (c *child) stop(grace time.Duration) {
	if c.exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// failure describes a child that ended before it should have.
func (c *child) failure() error {
	<-c.done
	return fmt.Errorf("%s exited: %v; %s", c.name, c.err, logTail(c.log))
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return "no output"
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "last output: " + strings.Join(lines, " | ")
}

// scanLines copies r to log and sends each line to lines until r ends,
// then closes lines.
func scanLines(r io.Reader, log io.Writer, lines chan<- string) {
	defer close(lines)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(log, line)
		lines <- line
	}
}

// waitLine waits for the first line that match accepts, and returns what
// it extracted. It fails when the lines end or the timeout passes.
func waitLine(lines <-chan string, timeout time.Duration, match func(string) (string, bool)) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return "", errors.New("output ended")
			}
			if v, ok := match(line); ok {
				return v, nil
			}
		case <-t.C:
			return "", fmt.Errorf("nothing after %s", timeout)
		}
	}
}

// drain discards the rest of lines, so the child never blocks on a full
// pipe.
func drain(lines <-chan string) {
	go func() {
		for range lines {
		}
	}()
}
