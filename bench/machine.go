package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// DescribeMachine gathers what the report says about the machine and the
// tools. A tool missing from PATH reads "not installed".
func DescribeMachine(ctx context.Context, tools Tools, cores int) Machine {
	m := Machine{
		CPUModel: cpuModel(),
		Cores:    cores,
		Kernel:   strings.TrimSpace(readFile("/proc/sys/kernel/osrelease")),
		Go:       runtime.Version(),
		Nginx:    "not installed",
		Wrk:      "not installed",
		Taskset:  "not installed",
		ClkTck:   ClockTicks(ctx),
	}
	if tools.Nginx != "" {
		// nginx -v prints "nginx version: nginx/1.22.1" on stderr.
		m.Nginx = strings.TrimPrefix(firstLine(toolOutput(ctx, tools.Nginx, "-v")), "nginx version: ")
	}
	if tools.Wrk != "" {
		// wrk -v prints "wrk 4.1.0 [epoll] Copyright ..." and its usage.
		v := firstLine(toolOutput(ctx, tools.Wrk, "-v"))
		if i := strings.Index(v, " Copyright"); i > 0 {
			v = v[:i]
		}
		m.Wrk = v
	}
	if tools.Taskset != "" {
		m.Taskset = tools.Taskset
	}
	m.Haproxy, m.Caddy = "not installed", "not installed"
	if tools.Haproxy != "" {
		// "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"
		v := strings.TrimPrefix(firstLine(toolOutput(ctx, tools.Haproxy, "-v")), "HAProxy version ")
		v, _, _ = strings.Cut(v, " ")
		m.Haproxy = v
	}
	if tools.Caddy != "" {
		v, _, _ := strings.Cut(firstLine(toolOutput(ctx, tools.Caddy, "version")), " ")
		m.Caddy = v
	}
	m.Varnish = "not installed"
	if tools.Varnishd != "" {
		m.Varnish = varnishVersion(toolOutput(ctx, tools.Varnishd, "-V"))
	}
	return m
}

// Tools are the optional programs the suite uses, by path; empty when not
// installed.
type Tools struct {
	Nginx, Wrk, Taskset string
	// Redis is redis-server, for the cluster scenario.
	Redis string
	// Haproxy and Caddy are the proxies run beside nginx.
	Haproxy, Caddy string
	// Varnishd is the cache run beside nginx's and frontdesk's.
	Varnishd string
}

// FindTools looks the optional programs up in PATH.
func FindTools() Tools {
	look := func(name string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			return ""
		}
		return p
	}
	return Tools{Nginx: look("nginx"), Wrk: look("wrk"), Taskset: look("taskset"), Redis: look("redis-server"),
		Haproxy: look("haproxy"), Caddy: look("caddy"), Varnishd: look("varnishd")}
}

// Missing names the tools that are not installed.
func (t Tools) Missing() []string {
	out := []string{}
	for _, x := range []struct{ name, path string }{{"nginx", t.Nginx}, {"wrk", t.Wrk}, {"taskset", t.Taskset}, {"redis-server", t.Redis}, {"haproxy", t.Haproxy}, {"caddy", t.Caddy}, {"varnishd", t.Varnishd}} {
		if x.path == "" {
			out = append(out, x.name)
		}
	}
	return out
}

// varnishVersion reads "varnish-7.1.1" out of `varnishd -V`, whose first
// line is "varnishd (varnish-7.1.1 revision 7cee1c5...)".
func varnishVersion(out string) string {
	line := firstLine(out)
	_, v, ok := strings.Cut(line, "(")
	if !ok {
		return line
	}
	v, _, _ = strings.Cut(v, " ")
	return strings.TrimSuffix(v, ")")
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// toolOutput runs a version command; these exit non-zero for -v now and
// then, so only the output matters.
func toolOutput(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return string(data)
}
