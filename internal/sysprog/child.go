//go:build linux

package sysprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
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
	// forked are pidfds of the processes the program spawned or forked,
	// in order, as their records came and until Forked takes them.
	forked []*os.File
	// pending are records read while looking for that record.
	pending []record
}

// record is one message of a runner, with the fds it carried.
type record struct {
	b   []byte
	fds []int
}

func (r record) close() {
	for _, fd := range r.fds {
		unix.Close(fd)
	}
}

// The records a runner sends its parent, told apart by their size.
const (
	tokenRecord = 1  // a token: Signal; 'F' with an fd: SendFD; 'K' with an fd: a pidfd of a process the program spawned or forked
	execRecord  = 4  // the trampoline's errno: its execve failed
	failRecord  = 8  // an op failed: index, errno
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

// Forked returns the process that the program spawned (SpawnThrough, a
// Handover that spawns) or forked (Respawn) last, from the pidfd it sent:
// the Child that did so exits then and is still to be waited for. Call it
// after that Child exited: the record came before.
func (c *Child) Forked() (*Child, error) {
	if len(c.forked) == 0 {
		c.drain()
	}
	if len(c.forked) == 0 {
		return nil, errors.New("container setup: the program has started no process")
	}
	f := c.forked[0]
	pid, err := pidfdPid(f)
	if err != nil {
		return nil, err
	}
	// The records read meanwhile, and the processes it reported, are the
	// new process's to hand out: it shares the socket.
	next := &Child{Pid: pid, p: c.p, sock: c.sock, pidfd: f, pending: c.pending, forked: c.forked[1:]}
	c.pending, c.forked = nil, nil
	return next, nil
}

// pidfdPid is the pid (in our pid namespace) of the process of a pidfd.
func pidfdPid(f *os.File) (int, error) {
	b, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(int(f.Fd())))
	if err != nil {
		return 0, fmt.Errorf("reading a pidfd's pid: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || pid <= 0 {
				return 0, fmt.Errorf("a pidfd of a process that is gone (Pid: %s)", strings.TrimSpace(v))
			}
			return pid, nil
		}
	}
	return 0, errors.New("reading a pidfd's pid: no Pid line in its fdinfo")
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

// drain reads what is there without waiting, up to a pid record, which
// it takes (Forked); the others wait in pending for recv.
func (c *Child) drain() {
	for {
		r, err := c.read(false)
		if err != nil {
			return
		}
		if c.isPid(r) {
			return
		}
		c.pending = append(c.pending, r)
		if len(r.b) == 0 {
			return
		}
	}
}

// isPid takes r if it is a pid record.
func (c *Child) isPid(r record) bool {
	if len(r.b) != 1 || r.b[0] != 'K' || len(r.fds) != 1 {
		return false
	}
	unix.SetNonblock(r.fds[0], true) // before NewFile: pollable
	c.forked = append(c.forked, os.NewFile(uintptr(r.fds[0]), "pidfd"))
	return true
}

// recv reads the next record: a token (with the fds it carried), a
// failure, or end of file. A pid record is kept (Forked) and the next one
// read.
func (c *Child) recv() (tok byte, fds []int, err error) {
	for {
		var r record
		if len(c.pending) > 0 {
			r, c.pending = c.pending[0], c.pending[1:]
		} else if r, err = c.read(true); err != nil {
			return 0, nil, err
		}
		if c.isPid(r) {
			continue
		}
		b, n := r.b, len(r.b)
		if n != tokenRecord {
			r.close()
		}
		switch {
		case n == 0:
			return 0, nil, ErrExited
		case n == tokenRecord:
			return b[0], r.fds, nil
		case n == execRecord:
			return 0, nil, c.p.execFailure(syscall.Errno(binary.NativeEndian.Uint32(b)))
		case n == failRecord:
			return 0, nil, c.p.failure(int(binary.NativeEndian.Uint32(b)), syscall.Errno(binary.NativeEndian.Uint32(b[4:])))
		case n >= textHeader && [8]byte(b[:8]) == textMagic:
			return 0, nil, &StageError{Msg: string(b[textHeader:]), Errno: syscall.Errno(binary.NativeEndian.Uint32(b[8:]))}
		}
		return 0, nil, fmt.Errorf("container setup: unexpected %d-byte message", n)
	}
}

// read reads one message as it is, with its fds (close-on-exec); without
// wait, EAGAIN when none is there.
func (c *Child) read(wait bool) (record, error) {
	rc, err := c.sock.SyscallConn()
	if err != nil {
		return record{}, err
	}
	var small [textHeader]byte
	buf := small[:]
	oob := make([]byte, syscall.CmsgSpace(4))
	var n, oobn int
	var rerr error
	read := func(fd uintptr) bool {
		for {
			// Most records are 1 to 8 bytes; a stage's text is longer:
			// peek at the size (MSG_TRUNC) and make room.
			size, _, err := syscall.Recvfrom(int(fd), small[:], syscall.MSG_DONTWAIT|syscall.MSG_PEEK|syscall.MSG_TRUNC)
			if err == syscall.ECONNRESET {
				size, _, err = syscall.Recvfrom(int(fd), small[:], syscall.MSG_DONTWAIT|syscall.MSG_PEEK|syscall.MSG_TRUNC)
			}
			if err == nil && size > len(buf) {
				buf = make([]byte, size)
			}
			n, oobn, _, _, rerr = syscall.Recvmsg(int(fd), buf, oob, syscall.MSG_DONTWAIT|syscall.MSG_CMSG_CLOEXEC)
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
		return record{}, err
	}
	r := record{b: append([]byte(nil), buf[:n]...)}
	if oobn > 0 {
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for i := range msgs {
				if fds, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
					r.fds = append(r.fds, fds...)
				}
			}
		}
	}
	return r, nil
}

// Expect waits for token t from the child ([Program.Signal]); a failure
// of the child comes back as its op's error.
func (c *Child) Expect(t byte) error {
	tok, fds, err := c.recv()
	if err != nil {
		return err
	}
	record{fds: fds}.close()
	if tok != t {
		return fmt.Errorf("container setup: expected token %q, got %q", t, tok)
	}
	return nil
}

// RecvFD waits for an fd sent by [Program.SendFD].
func (c *Child) RecvFD(name string) (*os.File, error) {
	tok, fds, err := c.recv()
	if err != nil {
		return nil, err
	}
	if tok != 'F' || len(fds) != 1 {
		record{fds: fds}.close()
		return nil, fmt.Errorf("container setup: token %q without exactly one fd", tok)
	}
	return os.NewFile(uintptr(fds[0]), name), nil
}

// failure reports whether r is a failure's record.
func failureRecord(b []byte) bool {
	n := len(b)
	return n == failRecord || n == execRecord || n >= textHeader && [8]byte(b[:8]) == textMagic
}

// Failed returns the failure the child reported, if it has reported one
// already, without waiting.
func (c *Child) Failed() error {
	c.drain()
	for i, r := range c.pending {
		if failureRecord(r.b) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			c.pending = append([]record{r}, c.pending...)
			_, _, err := c.recv()
			return err
		}
	}
	return nil
}

// Continue lets the child past its next [Program.Wait].
func (c *Child) Continue() error {
	_, err := c.sock.Write([]byte{'G'})
	return err
}

// Done waits until the child executed its process (the socket's last
// holder closed it) and returns the failure it reported, if any.
func (c *Child) Done() error {
	_, fds, err := c.recv()
	record{fds: fds}.close()
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
