//go:build linux

package host

import "syscall"

// setParentDeathSignal makes the kernel kill an instance if frontdesk
// itself dies without running Close, so no orphaned runtime keeps polling
// a Runtime API that is gone.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
