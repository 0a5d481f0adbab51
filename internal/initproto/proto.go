// Package initproto is the typed protocol between hako's parent process
// (internal/spawn) and the container's init (internal/containerinit). It is
// the only thing the two sides share: the wall between the privileged parent
// and the child inside the container.
//
// Transport: a SOCK_SEQPACKET socketpair; one JSON-encoded Message per
// packet; file descriptors travel alongside a message as SCM_RIGHTS.
//
// Exec sequence (joining a running container, every namespace already
// joined by the parent): Config (Exec) ─>; CgroupReady (it is in the
// container's cgroup) ─>; <─ Console?; <─ Ready; then it execs, and the
// socket's close-on-exec EOF tells the parent the exec succeeded.
//
// Create sequence:
//
//	parent                                  init (in its new namespaces)
//	  ── Config ─────────────────────────────>
//	  ── CgroupReady (init is in its cgroup) ─>   unshare cgroupns, hostname, mounts
//	  <──────────────────────────── PrePivot ──   (createRuntime hooks run in parent)
//	  ── Continue ────────────────────────────>   createContainer hooks, pivot_root,
//	                                              masks, pty, user, caps
//	  <──────────────── Console (+ pty fd) ────   only with process.terminal
//	  <─────────────────────────────── Ready ──   init now blocks on the exec fifo
//
// Any step may instead answer with Error, which names the step that failed;
// the parent prints it and tears everything down.
package initproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kind is a message type.
type Kind string

const (
	KindConfig      Kind = "config"
	KindCgroupReady Kind = "cgroup-ready"
	KindPrePivot    Kind = "pre-pivot"
	KindContinue    Kind = "continue"
	KindConsole     Kind = "console"
	KindReady       Kind = "ready"
	KindError       Kind = "error"
)

// Config is everything the init needs; sent once, first.
type Config struct {
	// Spec is config.json as the parent loaded and validated it.
	Spec json.RawMessage `json:"spec"`
	// Rootfs is the absolute host path of the root filesystem.
	Rootfs  string `json:"rootfs"`
	Bundle  string `json:"bundle"`
	ID      string `json:"id"`
	NoPivot bool   `json:"noPivot,omitempty"`
	// PreserveFDs is --preserve-fds: fds 3..3+N-1 stay open in the process.
	PreserveFDs int `json:"preserveFds,omitempty"`
	// FifoFD is the fd number (in the init) of the exec fifo opened O_PATH;
	// -1 for exec (no waiting for start).
	FifoFD int `json:"fifoFd"`
	// NewCgroupNS asks the init to unshare its cgroup namespace once it is
	// in its cgroup (so the namespace's root is the container's cgroup).
	NewCgroupNS bool `json:"newCgroupNs,omitempty"`
	// NewUserNS tells the init it runs in a fresh user namespace.
	NewUserNS bool `json:"newUserNs,omitempty"`
	// StateJSON is the OCI state passed on stdin to createContainer and
	// startContainer hooks.
	StateJSON json.RawMessage `json:"state,omitempty"`
	// Exec marks a process joining a running container (`hako exec`):
	// Spec then holds only process and linux; there is no rootfs work.
	Exec bool `json:"exec,omitempty"`
	// Seccomp is linux.seccomp compiled by the parent (nil: no profile):
	// the init only loads it.
	Seccomp *Seccomp `json:"seccomp,omitempty"`
}

// Seccomp is a compiled seccomp profile.
type Seccomp struct {
	// Filter is the BPF program: struct sock_filter entries in the host's
	// byte order.
	Filter []byte `json:"filter"`
	// Flags are the seccomp(SECCOMP_SET_MODE_FILTER) flags.
	Flags uint `json:"flags,omitempty"`
}

// ErrorInfo is a failure inside the init.
type ErrorInfo struct {
	Step    string `json:"step"`
	Message string `json:"message"`
	Errno   int    `json:"errno,omitempty"`
}

func (e *ErrorInfo) Error() string { return e.Message }

// Unwrap exposes the errno so callers can errors.Is(err, unix.ENOENT).
func (e *ErrorInfo) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return syscall.Errno(e.Errno)
}

// Message is one packet.
type Message struct {
	Kind   Kind       `json:"kind"`
	Config *Config    `json:"config,omitempty"`
	Error  *ErrorInfo `json:"error,omitempty"`
}

// MaxMessage bounds one packet; config.json files are far smaller.
const MaxMessage = 4 << 20

// Conn is one end of the socketpair.
type Conn struct{ f *os.File }

// NewConn wraps a socket fd.
func NewConn(f *os.File) *Conn { return &Conn{f: f} }

// File returns the underlying socket.
func (c *Conn) File() *os.File { return c.f }

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

// Pair returns a connected pair: (parent end, child end). Both are
// close-on-exec; the child end is passed to the init with ExtraFiles.
func Pair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return NewConn(os.NewFile(uintptr(fds[0]), "init-parent")), os.NewFile(uintptr(fds[1]), "init-child"), nil
}

// Send writes one message, with fds attached if any.
func (c *Conn) Send(m *Message, fds ...int) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(data) > MaxMessage {
		return fmt.Errorf("init protocol: %s message of %d bytes exceeds %d", m.Kind, len(data), MaxMessage)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err = unix.Sendmsg(int(c.f.Fd()), data, oob, nil, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("init protocol: sending %s: %w", m.Kind, err)
	}
	return nil
}

// ErrClosed is returned by Recv when the other side went away.
var ErrClosed = errors.New("init protocol: the other side closed the connection")

// Recv reads one message and any fds attached to it.
func (c *Conn) Recv() (*Message, []*os.File, error) {
	// Peek at the packet's length first (MSG_TRUNC reports all of it) and
	// allocate just that: a MaxMessage buffer per message cost the init
	// and the parent 4 MiB of page faults each (see README, Performance).
	var size int
	var err error
	for {
		size, _, _, _, err = unix.Recvmsg(int(c.f.Fd()), nil, nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		// ECONNRESET: the other side exited with a message of ours
		// unread (an init that failed early). The kernel reports that
		// once, ahead of the messages it sent: read on.
		if err != unix.EINTR && err != unix.ECONNRESET {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("init protocol: receiving: %w", err)
	}
	buf := make([]byte, min(max(size, 1), MaxMessage))
	oob := make([]byte, unix.CmsgSpace(4*4))
	var n, oobn int
	for {
		n, oobn, _, _, err = unix.Recvmsg(int(c.f.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR && err != unix.ECONNRESET {
			break
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("init protocol: receiving: %w", err)
	}
	var files []*os.File
	if oobn > 0 {
		scms, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, nil, fmt.Errorf("init protocol: control message: %w", err)
		}
		for _, scm := range scms {
			fds, err := unix.ParseUnixRights(&scm)
			if err != nil {
				continue
			}
			for _, fd := range fds {
				files = append(files, os.NewFile(uintptr(fd), "passed-fd"))
			}
		}
	}
	if n == 0 {
		closeAll(files)
		return nil, nil, ErrClosed
	}
	var m Message
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeAll(files)
		return nil, nil, fmt.Errorf("init protocol: malformed message: %w", err)
	}
	if m.Kind == "" {
		closeAll(files)
		return nil, nil, fmt.Errorf("init protocol: message without kind")
	}
	return &m, files, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// Expect receives one message and checks its kind. An Error message from
// the other side is returned as *ErrorInfo.
func (c *Conn) Expect(k Kind) (*Message, []*os.File, error) {
	m, files, err := c.Recv()
	if err != nil {
		return nil, nil, err
	}
	if m.Kind == KindError && m.Error != nil {
		closeAll(files)
		return nil, nil, m.Error
	}
	if m.Kind != k {
		closeAll(files)
		return nil, nil, fmt.Errorf("init protocol: expected %s, got %s", k, m.Kind)
	}
	return m, files, nil
}
