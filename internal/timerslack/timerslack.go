// Package timerslack coarsens the timers of hako's own threads.
//
// The Go runtime's monitor thread (sysmon) sleeps 20 µs at a time while
// any goroutine is in a system call, and a runtime command spends most of
// its life in system calls (cgroup files, mounts, clone): that is about a
// hundred wake-ups, a context switch each, in every short-lived hako
// process — a millisecond of CPU, measured with perf sched. A timer slack
// of a millisecond lets the kernel batch those wake-ups; hako has no timer
// that needs better than a millisecond.
//
// Timer slack is inherited by child processes and kept across execve, and
// it must not leak into a container or a hook: [Fork] runs a fork or exec
// on a thread that has the original slack back, and programs that fork
// otherwise (internal/sysprog's setup child) set [Original] themselves.
//
// Linked with -ldflags=-E=github.com/hako-dev/hako/internal/timerslack.entry
// (as `make build` links hako), the binary's first instruction is a stub
// (entry_amd64.s) that records the slack it was started with and sets the
// coarse one before the Go runtime starts: every thread is born with it,
// and Raise has nothing left to do. Without the flag, Raise sets it on
// each thread through /proc.
//
// This package is a leaf: it imports only the standard library and
// golang.org/x/sys/unix.
package timerslack

import (
	"os"
	"runtime"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Coarse is the slack Raise sets: 1 ms.
const Coarse = 1_000_000

var orig atomic.Uint64 // the slack hako started with; 0: not raised

// Raise sets the Coarse slack on every thread of the process: the calling
// thread with prctl(2), the others through /proc/TID/timerslack_ns, and
// threads created later inherit it. Failures (no /proc, no permission) are
// ignored: the slack is only an optimisation.
func Raise() {
	if orig.Load() != 0 {
		return
	}
	if entrySlack != 0 {
		// The entry stub ran before the runtime made its first thread:
		// every thread has the coarse slack, unless the process was
		// started with one at least as coarse (or prctl failed: an
		// errno, negative, reads as huge).
		if entrySlack < Coarse {
			orig.Store(entrySlack)
		}
		return
	}
	cur, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || cur <= 0 || cur >= Coarse {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if unix.Prctl(unix.PR_SET_TIMERSLACK, Coarse, 0, 0, 0) != nil {
		return
	}
	orig.Store(uint64(cur))
	self := unix.Gettid()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	coarse := []byte(strconv.Itoa(Coarse))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil && tid != self {
			os.WriteFile("/proc/"+e.Name()+"/timerslack_ns", coarse, 0)
		}
	}
}

// Original is the slack a child process must have: the one hako started
// with, or 0 when Raise did not change it.
func Original() uint64 { return orig.Load() }

// Restore gives the calling thread the slack the process was started with
// (the Go init: its entry stub raised it, and the thread that execs the
// container's process must pass the original on).
func Restore() {
	Raise() // learns the original from the entry stub, if it ran
	if o := orig.Load(); o != 0 {
		unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(o), 0, 0, 0)
	}
}

// Fork runs f, which forks or executes on the calling thread (os/exec's
// Start, syscall.Exec), with the original slack on that thread, so that the
// new process gets the slack hako was given.
func Fork(f func() error) error {
	o := orig.Load()
	if o == 0 {
		return f()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(o), 0, 0, 0); err != nil {
		return f()
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, Coarse, 0, 0, 0)
	return f()
}
