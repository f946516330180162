//go:build unix && !linux

package host

import "syscall"

// setParentDeathSignal is Linux-only; elsewhere an orphaned runtime exits
// when its next Runtime API call fails.
func setParentDeathSignal(*syscall.SysProcAttr) {}
