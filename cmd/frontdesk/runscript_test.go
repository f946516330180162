package main

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stub is a stand-in for a binary run.sh starts: it records its pid and
// waits to be stopped.
const stub = "#!/bin/sh\necho $$ > \"$0.pid\"\nexec sleep 60\n"

// make run is stopped with SIGTERM or SIGINT (Ctrl-C): scripts/run.sh,
// run here with stand-in binaries, must stop
// frontdesk and the demo upstream and exit 0, so make reports no error.
func TestRunScriptExitsZeroOnSignalAfterStoppingChildren(t *testing.T) {
	for _, name := range []string{"sh", "curl", "sleep"} {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s not installed", name)
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			bin := t.TempDir()
			for _, name := range []string{"frontdesk", "demo-upstream"} {
				if err := os.WriteFile(filepath.Join(bin, name), []byte(stub), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// The script waits for frontdesk's /ping on PORT.
			ping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			defer ping.Close()
			_, port, _ := strings.Cut(strings.TrimPrefix(ping.URL, "http://"), ":")

			// make run starts it from the repository root.
			cmd := exec.Command("sh", "scripts/run.sh")
			cmd.Dir = filepath.Join("..", "..")
			cmd.Env = append(os.Environ(), "BIN="+bin, "PORT="+port, "UPSTREAM_PORT=1", "ADMIN_PORT=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// The closing line means the script now waits for frontdesk.
			ready := false
			for sc := bufio.NewScanner(out); sc.Scan(); {
				if strings.Contains(sc.Text(), "stops both") {
					ready = true
					break
				}
			}
			if !ready {
				t.Fatal("run.sh ended before serving")
			}
			pids := []int{readPid(t, filepath.Join(bin, "frontdesk.pid")), readPid(t, filepath.Join(bin, "demo-upstream.pid"))}

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run.sh after %v: %v, want exit status 0", sig, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("run.sh still running 10s after %v", sig)
			}
			for _, pid := range pids {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("child %d still running after run.sh exited", pid)
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no pid within 5s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
