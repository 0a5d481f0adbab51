//go:build linux && amd64

package sysprog

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// childMain is where the raw child starts (clone_amd64.s).
//
// The child runs with every signal blocked (it was cloned so): a handler
// of the parent's Go runtime must never run here. SIGKILL still works, a
// fault still kills it, and execve gives the new program default handlers;
// the trampoline unblocks signals, and opExecve calls resetSignals first.
//
//go:nosplit
//go:norace
func childMain(p *Program) {
	p.runChild()
}

// vforkTramp is clone(2) with flags on the caller's stack, whose child
// only executes ctx's trampoline (execveat) and, if that fails, leaves the
// errno in ctx and exits (clone_amd64.s). The caller is suspended until
// then (CLONE_VFORK).
//
//go:noescape
func vforkTramp(flags, ptid uintptr, ctx *spawnCtx) (pid, errno uintptr)

// spawnTramp starts the process that executes t's trampoline: our
// parent's child (CLONE_PARENT), in our pid namespace for children; a
// pidfd of it goes to *pidfd.
//
//go:nosplit
//go:norace
func spawnTramp(pidfd *int32, t *spawnCtx) syscall.Errno {
	const flags = syscall.CLONE_VM | syscall.CLONE_VFORK | syscall.CLONE_PARENT | unix.CLONE_PIDFD | uintptr(syscall.SIGCHLD)
	_, e := vforkTramp(flags, uintptr(unsafe.Pointer(pidfd)), t)
	if e == 0 && t.errno != 0 {
		e = t.errno // the new process could not execute the trampoline
	}
	return syscall.Errno(e)
}

// Supported reports whether the raw child can run programs here.
const Supported = true
