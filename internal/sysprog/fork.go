//go:build linux && amd64

package sysprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
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

// vforkTramp is clone(2) with flags on the caller's stack, whose child
// only executes ctx's trampoline (execveat) and, if that fails, leaves the
// errno in ctx and exits (clone_amd64.s). The caller is suspended until
// then (CLONE_VFORK).
//
//go:noescape
func vforkTramp(flags, ptid uintptr, ctx *spawnCtx) (pid, errno uintptr)

// childStackSize is the child's stack: the interpreter's frames are small
// and fixed (every function is nosplit).
const childStackSize = 64 << 10

// Supported reports whether programs can run on this platform.
const Supported = true

// Pair makes the socket between parent and child: the parent's end (an fd
// that [Program.Start] takes over) and the child's end, both close-on-exec.
func Pair() (parent int, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, fmt.Errorf("socketpair: %w", err)
	}
	return fds[0], os.NewFile(uintptr(fds[1]), "sysprog-child"), nil
}

// Child is a running program, seen from the parent. Waiting on it (its
// messages, its exit) goes through the Go runtime's poller: a goroutine
// that waits parks instead of holding a thread in a blocking system call.
type Child struct {
	Pid   int
	p     *Program
	sock  *os.File
	pidfd *os.File
}

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
	if err := unix.SetNonblock(sock, true); err != nil {
		unix.Close(sock)
		return nil, err
	}
	sf := os.NewFile(uintptr(sock), "sysprog-parent") // non-blocking: pollable
	if p.stack == nil {
		p.stack = make([]byte, childStackSize)
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
	top := uintptr(unsafe.Pointer(&p.stack[len(p.stack)-64])) &^ 15
	// Signals stay blocked in the child (it inherits this thread's mask)
	// until the trampoline unblocks them.
	runtime_BeforeFork()
	pid, errno := cloneVM(flags|syscall.CLONE_VM|unix.CLONE_PIDFD|uintptr(syscall.SIGCHLD), top, p, pidfd)
	runtime_AfterFork()
	return int(pid), syscall.Errno(errno)
}

// Forked returns the process that the program's [Program.SpawnThrough]
// started, with a pidfd of its own; the Child that started it (and exits
// then) is still to be waited for. Call it only after that process has
// reported (the trampoline's 'R', or a failure): its pid is known from
// then on. It is this process's child, not yet reaped, so its pid cannot
// have been reused.
func (c *Child) Forked() (*Child, error) {
	pid := int(atomic.LoadInt32(&c.p.forkTid))
	if pid <= 0 {
		return nil, errors.New("container setup: the program has started no process")
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	unix.CloseOnExec(fd)
	return &Child{Pid: pid, p: c.p, sock: c.sock, pidfd: os.NewFile(uintptr(fd), "pidfd")}, nil
}

// KeepAlive keeps the program's memory until the caller is done with the
// child: call it after the child has been reaped or has executed.
func (c *Child) KeepAlive() { runtime.KeepAlive(c.p) }

// Signal sends sig to the child (through its pidfd: never to a process
// that reused the pid).
func (c *Child) Signal(sig syscall.Signal) error {
	if c.pidfd == nil {
		return syscall.Kill(c.Pid, sig)
	}
	rc, err := c.pidfd.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), sig, nil, 0) }); err != nil {
		return err
	}
	return serr
}

// siginfoChild is the start of the kernel's siginfo_t for SIGCHLD.
type siginfoChild struct {
	signo, errno, code, _ int32
	pid                   int32
	uid                   uint32
	status                int32
	_                     [100]byte
}

// Wait waits for the child (or the process it executed) to exit, reaps it
// and returns its status. The wait parks on the pidfd in the poller.
func (c *Child) Wait() (syscall.WaitStatus, error) {
	if c.pidfd == nil {
		var ws syscall.WaitStatus
		for {
			_, err := syscall.Wait4(c.Pid, &ws, 0, nil)
			if err != syscall.EINTR {
				return ws, err
			}
		}
	}
	rc, err := c.pidfd.SyscallConn()
	if err != nil {
		return 0, err
	}
	var info siginfoChild
	var werr error
	err = rc.Read(func(fd uintptr) bool {
		info = siginfoChild{}
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, unix.P_PIDFD, fd, uintptr(unsafe.Pointer(&info)), syscall.WEXITED|syscall.WNOHANG, 0, 0)
		switch {
		case e == syscall.EINTR:
			return false
		case e != 0:
			werr = e
		case info.pid == 0:
			return false // not yet: wait until the pidfd is readable
		}
		return true
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return 0, fmt.Errorf("waiting for pid %d: %w", c.Pid, err)
	}
	c.pidfd.Close() // reaped: the pid means nothing any more
	switch info.code {
	case 1: // CLD_EXITED
		return syscall.WaitStatus(info.status << 8), nil
	case 2: // CLD_KILLED
		return syscall.WaitStatus(info.status), nil
	case 3: // CLD_DUMPED
		return syscall.WaitStatus(info.status | 0x80), nil
	}
	return 0, fmt.Errorf("waiting for pid %d: unexpected si_code %d", c.Pid, info.code)
}

// Release lets go of the child's pidfd; the child is neither waited for
// nor signalled afterwards.
func (c *Child) Release() {
	if c.pidfd != nil {
		c.pidfd.Close()
	}
}

// ErrExited means the child exited (or executed its process) without
// sending what the parent expected.
var ErrExited = errors.New("the container's setup process exited early")

// recv reads one message: a token, a failure record or end of file.
func (c *Child) recv(oob []byte) (tok byte, n, oobn int, err error) {
	buf := make([]byte, 8)
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return 0, 0, 0, err
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_DONTWAIT)
			// ECONNRESET: the child exited with a token of ours unread
			// (it failed before its Wait). The kernel reports that once,
			// before the messages the child sent: read on.
			if rerr != syscall.ECONNRESET {
				break
			}
		}
		return rerr != syscall.EAGAIN && rerr != syscall.EINTR
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return 0, 0, 0, err
	}
	switch n {
	case 0:
		return 0, 0, oobn, ErrExited
	case 1:
		return buf[0], n, oobn, nil
	case 4:
		return 0, n, oobn, c.p.execFailure(syscall.Errno(binary.NativeEndian.Uint32(buf)))
	case 8:
		return 0, n, oobn, c.p.failure(int(binary.NativeEndian.Uint32(buf)), syscall.Errno(binary.NativeEndian.Uint32(buf[4:])))
	}
	return 0, n, oobn, fmt.Errorf("container setup: unexpected %d-byte message", n)
}

// Expect waits for token t from the child ([Program.Signal]); a failure
// of the child comes back as its op's error.
func (c *Child) Expect(t byte) error {
	tok, _, _, err := c.recv(nil)
	if err != nil {
		return err
	}
	if tok != t {
		return fmt.Errorf("container setup: expected token %q, got %q", t, tok)
	}
	return nil
}

// RecvFD waits for an fd sent by [Program.SendFD].
func (c *Child) RecvFD(name string) (*os.File, error) {
	oob := make([]byte, syscall.CmsgSpace(4))
	tok, _, oobn, err := c.recv(oob)
	if err != nil {
		return nil, err
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("container setup: token %q without an fd", tok)
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("container setup: token %q without exactly one fd", tok)
	}
	syscall.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), name), nil
}

// Failed returns the failure the child reported, if it has reported one
// already, without waiting.
func (c *Child) Failed() error {
	buf := make([]byte, 8)
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return nil
	}
	n := 0
	rc.Control(func(fd uintptr) {
		for {
			n, _, err = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT|syscall.MSG_PEEK)
			if err != syscall.ECONNRESET { // reported once, see recv
				break
			}
		}
	})
	if err != nil || n != 8 {
		return nil
	}
	_, _, _, err = c.recv(nil)
	return err
}

// Continue lets the child past its next [Program.Wait].
func (c *Child) Continue() error {
	_, err := c.sock.Write([]byte{'G'})
	return err
}

// Done waits until the child executed its process (the socket's last
// holder closed it) and returns the failure it reported, if any.
func (c *Child) Done() error {
	_, _, _, err := c.recv(nil)
	if errors.Is(err, ErrExited) {
		return nil
	}
	if err == nil {
		return fmt.Errorf("container setup: unexpected token after the last step")
	}
	return err
}

// Close releases the parent's end of the socket.
func (c *Child) Close() error { return c.sock.Close() }

// Sizeof a register, for callers computing offsets.
const regSize = unsafe.Sizeof(uintptr(0))
