//go:build linux && amd64

package sysprog

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

//go:linkname runtime_BeforeFork syscall.runtime_BeforeFork
func runtime_BeforeFork()

//go:linkname runtime_AfterFork syscall.runtime_AfterFork
func runtime_AfterFork()

// cloneVM is clone(2) with the child running childMain(p) on stack
// (clone_amd64.s); with CLONE_PIDFD the child's pidfd goes to *pidfd.
func cloneVM(flags, stack uintptr, p *Program, pidfd *int32) (pid, errno uintptr)

// childStackSize is the child's stack: the interpreter's frames are small
// and fixed (every function is nosplit).
const childStackSize = 64 << 10

// Start clones the calling process with cloneFlags (CLONE_NEW*) and runs
// the program in the child. sock is the parent's end of [Pair], which
// Start takes over (it is closed if Start fails); the caller closes its
// copy of the child's end once Start returns.
//
// The child shares the parent's memory (CLONE_VM) on a stack of its own,
// until it executes the trampoline or exits: no page tables are copied and
// no page is copied on write, while the parent goes on. The program must
// therefore stay alive, and unchanged, until the child has executed (the
// trampoline's 'R', or [Child.Done]) or has been reaped: [Child] keeps it.
func (p *Program) Start(cloneFlags uintptr, sock int) (*Child, error) {
	return p.start(cloneFlags, sock, false)
}

// StartGo is Start in Go mode: the raw child runs the program up to its
// Handover op and hands it over there to the Go runner, which runs the
// rest (stages too) in the same process.
func (p *Program) StartGo(cloneFlags uintptr, sock int) (*Child, error) {
	if p.handover < 0 {
		unix.Close(sock)
		return nil, errors.New("sysprog: the program has no handover to the Go runner")
	}
	return p.start(cloneFlags, sock, true)
}

func (p *Program) start(cloneFlags uintptr, sock int, goMode bool) (*Child, error) {
	if err := unix.SetNonblock(sock, true); err != nil {
		unix.Close(sock)
		return nil, err
	}
	sf := os.NewFile(uintptr(sock), "sysprog-parent") // non-blocking: pollable
	if p.needsGo != "" && !goMode {
		sf.Close()
		return nil, fmt.Errorf("the raw child cannot run this program: %s needs the Go runner", p.needsGo)
	}
	p.load()
	p.goMode = goMode
	if p.scratch.stack == nil {
		p.scratch.stack = make([]byte, childStackSize)
	}
	var pidfd int32 = -1
	syscall.ForkLock.Lock()
	pid, errno := p.fork(cloneFlags, &pidfd)
	syscall.ForkLock.Unlock()
	if errno != 0 {
		runtime.KeepAlive(p)
		sf.Close()
		return nil, fmt.Errorf("clone: %w", errno)
	}
	c := &Child{Pid: pid, p: p, sock: sf}
	unix.CloseOnExec(int(pidfd))
	if err := unix.SetNonblock(int(pidfd), true); err == nil {
		c.pidfd = os.NewFile(uintptr(pidfd), "pidfd")
	} else {
		unix.Close(int(pidfd))
	}
	return c, nil
}

//go:nosplit
//go:norace
func (p *Program) fork(flags uintptr, pidfd *int32) (int, syscall.Errno) {
	stack := p.scratch.stack
	top := uintptr(unsafe.Pointer(&stack[len(stack)-64])) &^ 15
	// Signals stay blocked in the child (it inherits this thread's mask)
	// until the trampoline unblocks them.
	runtime_BeforeFork()
	pid, errno := cloneVM(flags|syscall.CLONE_VM|unix.CLONE_PIDFD|uintptr(syscall.SIGCHLD), top, p, pidfd)
	runtime_AfterFork()
	return int(pid), syscall.Errno(errno)
}
