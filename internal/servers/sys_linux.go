//go:build linux

package servers

import (
	"os"
	"syscall"
)

// sysProcAttr kills the server when the process that started it dies (Pdeathsig; Go sets
// it after switching credentials, so it survives the switch) and runs it as
// user when one is given.
func sysProcAttr(user *runAs) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if user != nil {
		a.Credential = &syscall.Credential{Uid: user.uid, Gid: user.gid}
	}
	return a
}

// lockFile takes an exclusive flock on f, blocking until it is free.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func isRoot() bool { return os.Geteuid() == 0 }
