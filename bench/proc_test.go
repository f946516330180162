package bench

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestParseStatReadsUserAndSystemTicks(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want CPUTicks
		err  string
	}{
		{
			name: "plain command",
			in:   "4242 (frontdesk) S 1 4242 4242 0 -1 4194560 1523 0 0 0 731 112 5 7 20 0 3 0 123456 1234567 890 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
			want: CPUTicks{User: 731, Sys: 112, ChildUser: 5, ChildSys: 7, PPID: 1},
		},
		{
			name: "command with spaces and parentheses",
			in:   "7 (we(ir d) name) R 1 7 7 0 -1 0 0 0 0 0 5 9 0 0 20 0 1 0 1 1 1\n",
			want: CPUTicks{User: 5, Sys: 9, PPID: 1},
		},
		{name: "no command", in: "12 S 1 2 3", err: "no command name"},
		{name: "cut short", in: "12 (x) S 1 2 3 4", err: "fields after the command name"},
		{name: "not a number", in: "1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 9 0 0 20", err: "utime"},
		{name: "bad parent", in: "1 (x) S p 1 1 0 -1 0 0 0 0 0 1 9 0 0 20", err: "ppid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.in))
			if wantErr(t, err, tc.err) {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParsePeakRSSReadsVmHWM(t *testing.T) {
	status := "Name:\tfrontdesk\nVmPeak:\t 1260000 kB\nVmHWM:\t   18432 kB\nVmRSS:\t   17000 kB\n"
	for _, tc := range []struct {
		name string
		in   string
		want int64
		err  string
	}{
		{name: "present", in: status, want: 18432},
		{name: "absent", in: "Name:\tx\nVmRSS:\t 1 kB\n", err: "no VmHWM"},
		{name: "odd unit", in: "VmHWM:\t 12 MB\n", err: "VmHWM line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePeakRSS([]byte(tc.in))
			if wantErr(t, err, tc.err) {
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestOwnProcessCanBeRead(t *testing.T) {
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if kib, err := ReadPeakRSS(os.Getpid()); err != nil || kib <= 0 {
		t.Fatalf("peak rss %d, %v", kib, err)
	}
}

func TestTreeIncludesLiveChildren(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	found := false
	for _, p := range descendants(os.Getpid()) {
		found = found || p == cmd.Process.Pid
	}
	if !found {
		t.Errorf("child %d not among the descendants of %d", cmd.Process.Pid, os.Getpid())
	}
	own, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := ReadTreeCPU(os.Getpid())
	if err != nil || tree < own.WithChildren() {
		t.Errorf("tree cpu %d, %v; want at least the process's own %d", tree, err, own.WithChildren())
	}
	// The process's own peak is read first: it only grows, and may grow
	// between two readings past what the sleeping child adds.
	ownRSS, _ := ReadPeakRSS(os.Getpid())
	rss, err := ReadTreePeakRSS(os.Getpid())
	if err != nil || rss <= ownRSS {
		t.Errorf("tree peak rss %d, %v; want more than the process's own %d", rss, err, ownRSS)
	}
}

func TestClockTicksFallBackTo100(t *testing.T) {
	for in, want := range map[string]int64{"100\n": 100, "250": 250, "": 100, "-1": 100, "undefined": 100} {
		if got := parseClockTicks(in); got != want {
			t.Errorf("parseClockTicks(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestParseSystemStatCountsAllButIdle(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want uint64
		err  string
	}{
		{name: "aggregate line", in: "cpu  100 2 30 9999 7 5 11 4 0 0\ncpu0 50 1 15 5000 3 2 5 2 0 0\n", want: 100 + 2 + 30 + 5 + 11 + 4},
		{name: "no cpu line", in: "intr 1 2 3\n", err: "no cpu line"},
		{name: "short line", in: "cpu 1 2 3\n", err: "fields"},
		{name: "not a number", in: "cpu 1 2 x 4 5 6 7 8\n", err: "parse /proc/stat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSystemStat([]byte(tc.in))
			if wantErr(t, err, tc.err) {
				return
			}
			if err != nil || got.Busy != tc.want {
				t.Errorf("got %d, %v; want %d", got.Busy, err, tc.want)
			}
		})
	}
	if _, err := ReadSystem(); err != nil {
		t.Fatal(err)
	}
}

// wantErr reports whether a table case expects an error, and fails the
// test unless err mentions it.
func wantErr(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to mention %q", err, want)
	}
	return true
}
