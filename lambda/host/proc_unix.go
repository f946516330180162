//go:build unix

package host

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the instance in its own process group so a timeout
// kills everything it spawned, not only the runtime process.
func setProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setParentDeathSignal(cmd.SysProcAttr)
}

// killProcessGroup sends SIGKILL to the instance's process group, as
// Lambda does to an execution environment that timed out.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	// ESRCH once the group is gone is expected and harmless.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
