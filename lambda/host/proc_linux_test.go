//go:build linux

package host

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadSlices returns the se.slice of every thread of process pid, in ns; nil
// when the kernel does not report one (before 6.12).
func threadSlices(t *testing.T, pid string) []int64 {
	t.Helper()
	tasks, err := filepath.Glob("/proc/" + pid + "/task/*/sched")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, p := range tasks {
		data, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that ended
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), ":")
			if !ok || strings.TrimSpace(name) != "se.slice" {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil {
				t.Fatalf("%s: se.slice %q", p, value)
			}
			out = append(out, n)
		}
	}
	return out
}

// Instances run with SchedSlice on every thread (the slice is inherited
// from the thread that started them), and frontdesk's own threads keep
// theirs.
func TestInstancesRunWithTheConfiguredSchedulerSlice(t *testing.T) {
	own := threadSlices(t, "self")
	if len(own) == 0 {
		t.Skip("this kernel reports no se.slice (Linux 6.12 or later does)")
	}
	kernelDefault := own[0]
	tests := []struct {
		name  string
		slice time.Duration
		want  int64
	}{
		{"configured", 20 * time.Millisecond, int64(20 * time.Millisecond)},
		{"default", 0, int64(DefaultSchedSlice)},
		{"negative keeps the kernel's", -1, kernelDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newFunction(t, Config{Concurrency: 1, SchedSlice: tt.slice})
			r := mustReply(t, f, `{}`)
			got := threadSlices(t, strconv.Itoa(r.PID))
			if len(got) == 0 {
				t.Fatalf("no threads of instance %d", r.PID)
			}
			for i, s := range got {
				if s != tt.want {
					t.Errorf("instance thread %d: slice %d ns, want %d", i, s, tt.want)
				}
			}
			for i, s := range threadSlices(t, "self") {
				if s != kernelDefault {
					t.Errorf("frontdesk thread %d: slice %d ns after starting an instance, want the kernel's %d", i, s, kernelDefault)
				}
			}
		})
	}
}
