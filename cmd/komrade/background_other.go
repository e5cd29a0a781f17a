//go:build !unix

package main

import "os/exec"

func inBackground(int) bool { return false }

func detach(*exec.Cmd) {}
