//go:build !unix

package host

import (
	"os/exec"
	"time"
)

// setProcessGroup is a no-op where process groups do not exist.
func setProcessGroup(*exec.Cmd) {}

// killProcessGroup kills the runtime process only: without process
// groups, processes it spawned survive it.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
}

// startProcess starts cmd; the scheduler slice is Linux's.
func startProcess(cmd *exec.Cmd, _ time.Duration) error { return cmd.Start() }
