//go:build !linux

package servers

import (
	"os"
	"syscall"
)

// The real-server tier runs on Linux; elsewhere servers run as the current
// user and builds are not locked across processes.

func sysProcAttr(*runAs) *syscall.SysProcAttr { return nil }

func lockFile(*os.File) error { return nil }

func isRoot() bool { return false }
