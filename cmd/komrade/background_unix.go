//go:build unix

package main

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// inBackground reports whether this process runs in the background of the
// terminal fd (`komrade daemon &`): reading from it would stop the process.
func inBackground(fd int) bool {
	pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pg != syscall.Getpgrp()
}

// detach makes c a session of its own, so that it outlives the terminal.
func detach(c *exec.Cmd) { c.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }
