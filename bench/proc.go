package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// CPUTicks is a process's CPU time, in clock ticks.
type CPUTicks struct {
	User, Sys uint64
	// ChildUser and ChildSys are the time of children the process has
	// waited for.
	ChildUser, ChildSys uint64
	PPID                int
}

// Total is user plus system time of the process itself.
func (c CPUTicks) Total() uint64 { return c.User + c.Sys }

// WithChildren adds the time of the children it has waited for.
func (c CPUTicks) WithChildren() uint64 { return c.User + c.Sys + c.ChildUser + c.ChildSys }

// ParseStat reads the parent pid and the CPU times out of the contents of
// /proc/PID/stat. The second field, the command name, is in parentheses
// and may itself hold spaces and parentheses, so fields are counted from
// the last ')'.
func ParseStat(data []byte) (CPUTicks, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return CPUTicks{}, fmt.Errorf("parse /proc stat: no command name in %q", truncate(data))
	}
	// After ")": state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8)
	// flags(9) minflt(10) cminflt(11) majflt(12) cmajflt(13) utime(14)
	// stime(15) cutime(16) cstime(17): index = field − 3.
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return CPUTicks{}, fmt.Errorf("parse /proc stat: %d fields after the command name, want at least 15", len(f))
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return CPUTicks{}, fmt.Errorf("parse /proc stat ppid: %w", err)
	}
	var v [4]uint64
	for k, name := range []string{"utime", "stime", "cutime", "cstime"} {
		// cutime and cstime are signed in the kernel's format, but never
		// negative in practice.
		n, err := strconv.ParseUint(f[11+k], 10, 64)
		if err != nil {
			return CPUTicks{}, fmt.Errorf("parse /proc stat %s: %w", name, err)
		}
		v[k] = n
	}
	return CPUTicks{User: v[0], Sys: v[1], ChildUser: v[2], ChildSys: v[3], PPID: ppid}, nil
}

// ParsePeakRSS reads VmHWM, the peak resident set size in KiB, out of the
// contents of /proc/PID/status.
func ParsePeakRSS(data []byte) (int64, error) {
	for line := range strings.Lines(string(data)) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("parse /proc status: VmHWM line %q", strings.TrimSpace(line))
		}
		kib, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc status VmHWM: %w", err)
		}
		return kib, nil
	}
	return 0, fmt.Errorf("parse /proc status: no VmHWM line")
}

// ReadCPU returns the CPU time process pid has used so far.
func ReadCPU(pid int) (CPUTicks, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPUTicks{}, fmt.Errorf("read cpu time: %w", err)
	}
	return ParseStat(data)
}

// ReadTreeCPU returns the CPU time of process pid and all its
// descendants: its own, its reaped children's, and each live
// descendant's. A process that serves through child processes (a Lambda
// function host) is measured whole; a child that exits moves its time
// into its parent's children's time, so the sum does not jump.
func ReadTreeCPU(pid int) (uint64, error) {
	root, err := ReadCPU(pid)
	if err != nil {
		return 0, err
	}
	total := root.WithChildren()
	for _, d := range descendants(pid) {
		if c, err := ReadCPU(d); err == nil {
			// Reaped grandchildren are in their parents' children's
			// time; those parents are live descendants here.
			total += c.WithChildren()
		}
	}
	return total, nil
}

// descendants lists the live processes below pid. Processes that vanish
// during the scan are skipped.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c, err := ReadCPU(p); err == nil {
			children[c.PPID] = append(children[c.PPID], p)
		}
	}
	var out []int
	queue := children[pid]
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	return out
}

// ReadPeakRSS returns process pid's peak resident set size in KiB.
func ReadPeakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read peak rss: %w", err)
	}
	return ParsePeakRSS(data)
}

// ReadTreePeakRSS adds up the peak RSS of process pid and its live
// descendants: an upper bound of the tree's peak, exact for a single
// process.
func ReadTreePeakRSS(pid int) (int64, error) {
	total, err := ReadPeakRSS(pid)
	if err != nil {
		return 0, err
	}
	for _, d := range descendants(pid) {
		if kib, err := ReadPeakRSS(d); err == nil {
			total += kib
		}
	}
	return total, nil
}

// SystemTicks is the whole machine's CPU time from the "cpu" line of
// /proc/stat, in clock ticks.
type SystemTicks struct {
	// Busy is all but idle and iowait: user, nice, system, irq, softirq,
	// and steal, time the hypervisor gave to other machines. Interrupt
	// time is in: with tick-based accounting a process's system time also
	// holds the interrupts that hit while it ran.
	Busy uint64
}

// ParseSystemStat reads the aggregate "cpu" line of /proc/stat.
func ParseSystemStat(data []byte) (SystemTicks, error) {
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		// cpu user nice system idle iowait irq softirq steal ...
		if len(f) < 9 {
			return SystemTicks{}, fmt.Errorf("parse /proc/stat: cpu line has %d fields, want at least 9", len(f))
		}
		var v [9]uint64
		for i := 1; i < 9; i++ {
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return SystemTicks{}, fmt.Errorf("parse /proc/stat: %w", err)
			}
			v[i] = n
		}
		return SystemTicks{Busy: v[1] + v[2] + v[3] + v[6] + v[7] + v[8]}, nil
	}
	return SystemTicks{}, fmt.Errorf("parse /proc/stat: no cpu line")
}

// ReadSystem returns the machine's CPU time so far.
func ReadSystem() (SystemTicks, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return SystemTicks{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	return ParseSystemStat(data)
}

// ClockTicks returns the kernel's clock ticks per second, the unit of
// /proc/PID/stat times: `getconf CLK_TCK`, or 100 (the value on every
// common Linux build) when getconf is missing or answers nonsense.
func ClockTicks(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	return parseClockTicks(string(out))
}

func parseClockTicks(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 100
	}
	return n
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
