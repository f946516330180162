//go:build unix && !linux

package host

import (
	"os/exec"
	"syscall"
	"time"
)

// setParentDeathSignal is Linux-only; elsewhere an orphaned runtime exits
// when its next Runtime API call fails.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// startProcess starts cmd; the scheduler slice is Linux's.
func startProcess(cmd *exec.Cmd, _ time.Duration) error { return cmd.Start() }
