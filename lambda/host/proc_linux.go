//go:build linux

package host

import (
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// setParentDeathSignal makes the kernel kill an instance if frontdesk
// itself dies without running Close, so no orphaned runtime keeps polling
// a Runtime API that is gone.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}

// startProcess starts cmd with a scheduler time slice of slice (0: the
// kernel's default). The slice is a thread attribute inherited through
// fork and by every thread the process creates, so cmd is started from
// an OS thread that holds it for that moment; the thread gets its own
// attributes back afterwards. Kernels before 6.12 ignore the value.
func startProcess(cmd *exec.Cmd, slice time.Duration) error {
	if slice <= 0 {
		return cmd.Start()
	}
	// The thread must outlive the instance: Pdeathsig fires when the
	// thread that forked exits, so it is unlocked, never left to exit.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.SchedGetAttr(0, 0)
	if err != nil || (own.Policy != unix.SCHED_NORMAL && own.Policy != unix.SCHED_BATCH) {
		return cmd.Start() // a real-time frontdesk: leave its policy alone
	}
	keep := own.Flags & unix.SCHED_FLAG_RESET_ON_FORK
	restore := unix.SchedAttr{Policy: own.Policy, Flags: keep, Nice: own.Nice, Runtime: own.Runtime}
	set := restore
	set.Runtime = uint64(slice)
	if unix.SchedSetAttr(0, &set, 0) != nil {
		return cmd.Start()
	}
	err = cmd.Start()
	_ = unix.SchedSetAttr(0, &restore, 0) // the values just read: cannot be refused
	return err
}
