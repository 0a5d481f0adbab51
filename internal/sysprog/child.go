//go:build linux

package sysprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

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
	// forked is the pid of the process the program's SpawnThrough made,
	// once its record came (0 before).
	forked int
	// pending are records read while looking for the pid record.
	pending [][]byte
}

// The records a runner sends its parent, told apart by their size.
const (
	tokenRecord = 1  // a token: Signal
	execRecord  = 4  // the trampoline's errno: its execve failed
	failRecord  = 8  // an op failed: index, errno
	pidRecord   = 12 // 'P', 3 bytes of padding, the pid SpawnThrough made, 4 bytes of padding
	textHeader  = 16 // "hako-err", errno, padding, then the message of a Go stage's failure
)

var textMagic = [8]byte{'h', 'a', 'k', 'o', '-', 'e', 'r', 'r'}

// TextRecord is the record of a failure a Go stage reports: what failed,
// in words, with the errno behind it (0 for none).
func TextRecord(msg string, errno syscall.Errno) []byte {
	b := make([]byte, textHeader, textHeader+len(msg))
	copy(b, textMagic[:])
	binary.NativeEndian.PutUint32(b[8:], uint32(errno))
	return append(b, msg...)
}

// StageError is a Go stage's failure as its runner reported it.
type StageError struct {
	Msg   string
	Errno syscall.Errno
}

func (e *StageError) Error() string { return e.Msg }
func (e *StageError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Attach is the Child of a runner that is not the raw child (the Go
// runner, a process of its own started by the caller with pid), running
// p, which talks on sock (the parent's end of [Pair], taken over).
func (p *Program) Attach(pid int, sock int) (*Child, error) {
	if err := unix.SetNonblock(sock, true); err != nil {
		unix.Close(sock)
		return nil, err
	}
	c := &Child{Pid: pid, p: p, sock: os.NewFile(uintptr(sock), "sysprog-parent")}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		c.sock.Close()
		return nil, fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	unix.CloseOnExec(fd)
	c.pidfd = os.NewFile(uintptr(fd), "pidfd")
	return c, nil
}

// Forked returns the process that the program's [Program.SpawnThrough]
// started, with a pidfd of its own; the Child that started it (and exits
// then) is still to be waited for. Call it after that Child exited: the
// pid came before. The process is this process's child, not yet reaped,
// so its pid cannot have been reused.
func (c *Child) Forked() (*Child, error) {
	if c.forked == 0 {
		c.takePid()
	}
	if c.forked <= 0 {
		return nil, errors.New("container setup: the program has started no process")
	}
	fd, err := unix.PidfdOpen(c.forked, unix.PIDFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open(%d): %w", c.forked, err)
	}
	unix.CloseOnExec(fd)
	return &Child{Pid: c.forked, p: c.p, sock: c.sock, pidfd: os.NewFile(uintptr(fd), "pidfd")}, nil
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

// takePid reads what is there until the pid record; the records before it
// wait in pending for recv.
func (c *Child) takePid() {
	for c.forked == 0 {
		buf, n, _, err := c.read(nil, false)
		if err != nil {
			return
		}
		if n == pidRecord && buf[0] == 'P' {
			c.forked = int(int32(binary.NativeEndian.Uint32(buf[4:])))
			return
		}
		c.pending = append(c.pending, buf)
		if n == 0 {
			return
		}
	}
}

// recv reads one message: a token, a failure record or end of file. A
// pid record is kept (Forked) and the next message read.
func (c *Child) recv(oob []byte) (tok byte, n, oobn int, err error) {
	for {
		var buf []byte
		if len(c.pending) > 0 {
			buf, c.pending = c.pending[0], c.pending[1:]
			n = len(buf)
		} else if buf, n, oobn, err = c.read(oob, true); err != nil {
			return 0, 0, 0, err
		}
		switch {
		case n == 0:
			return 0, 0, oobn, ErrExited
		case n == tokenRecord:
			return buf[0], n, oobn, nil
		case n == execRecord:
			return 0, n, oobn, c.p.execFailure(syscall.Errno(binary.NativeEndian.Uint32(buf)))
		case n == failRecord:
			return 0, n, oobn, c.p.failure(int(binary.NativeEndian.Uint32(buf)), syscall.Errno(binary.NativeEndian.Uint32(buf[4:])))
		case n == pidRecord && buf[0] == 'P':
			c.forked = int(int32(binary.NativeEndian.Uint32(buf[4:])))
			continue
		case n >= textHeader && [8]byte(buf[:8]) == textMagic:
			return 0, n, oobn, &StageError{Msg: string(buf[textHeader:n]), Errno: syscall.Errno(binary.NativeEndian.Uint32(buf[8:]))}
		}
		return 0, n, oobn, fmt.Errorf("container setup: unexpected %d-byte message", n)
	}
}

// read reads one message as it is; without wait, EAGAIN when none is
// there.
func (c *Child) read(oob []byte, wait bool) (buf []byte, n, oobn int, err error) {
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return nil, 0, 0, err
	}
	var small [textHeader]byte
	buf = small[:]
	var rerr error
	read := func(fd uintptr) bool {
		for {
			// Most records are 1 to 12 bytes; a stage's text is longer:
			// peek at the size (MSG_TRUNC) and make room.
			size, _, err := syscall.Recvfrom(int(fd), small[:], syscall.MSG_DONTWAIT|syscall.MSG_PEEK|syscall.MSG_TRUNC)
			if err == syscall.ECONNRESET {
				size, _, err = syscall.Recvfrom(int(fd), small[:], syscall.MSG_DONTWAIT|syscall.MSG_PEEK|syscall.MSG_TRUNC)
			}
			if err == nil && size > len(buf) {
				buf = make([]byte, size)
			}
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_DONTWAIT)
			// ECONNRESET: the child exited with a token of ours unread
			// (it failed before its Wait). The kernel reports that once,
			// before the messages the child sent: read on.
			if rerr != syscall.ECONNRESET {
				break
			}
		}
		return !wait || (rerr != syscall.EAGAIN && rerr != syscall.EINTR)
	}
	if wait {
		err = rc.Read(read)
	} else {
		err = rc.Control(func(fd uintptr) { read(fd) })
	}
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, 0, 0, err
	}
	return buf[:n], n, oobn, nil
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
	for _, r := range c.pending {
		if n := len(r); n == failRecord || n == execRecord || n >= textHeader && [8]byte(r[:8]) == textMagic {
			_, _, _, err := c.recv(nil) // the pending ones first
			for err == nil && len(c.pending) > 0 {
				_, _, _, err = c.recv(nil)
			}
			return err
		}
	}
	buf := make([]byte, textHeader)
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return nil
	}
	n := 0
	rc.Control(func(fd uintptr) {
		for {
			n, _, err = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT|syscall.MSG_PEEK|syscall.MSG_TRUNC)
			if err != syscall.ECONNRESET { // reported once, see recv
				break
			}
		}
	})
	if err != nil || (n != failRecord && n != execRecord && !(n >= textHeader && [8]byte(buf[:8]) == textMagic)) {
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
