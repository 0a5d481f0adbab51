package spawn

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/initproto"
	"github.com/hako-dev/hako/internal/seccomp"

	"github.com/hako-dev/hako/internal/timerslack"
)

// Init argv[0] and fd variable; they must match internal/containerinit.
const (
	initArg0 = "hako-init"
	envFD    = "_HAKO_INIT_FD"
)

var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// Options describe one init to start.
type Options struct {
	ID       string
	Bundle   string
	Rootfs   string
	Spec     *specs.Spec
	SpecJSON []byte
	NoPivot  bool
	// ExtraFiles are the --preserve-fds files, in order (fds 3, 4, ...).
	ExtraFiles []*os.File
	// Stdio of the init; nil means the caller's own 0, 1, 2.
	Stdin, Stdout, Stderr *os.File
	// Fifo is the exec fifo, opened O_PATH; nil for no start barrier.
	Fifo *os.File
	// StateJSON is given to createContainer/startContainer hooks.
	StateJSON []byte
	// ApplyCgroup puts the init (by pid) in its cgroup; called while the
	// init prepares, before it mounts anything.
	ApplyCgroup func(pid int) error
	// PrePivot runs in the parent when the init's mounts are done and
	// before pivot_root: createRuntime hooks.
	PrePivot func(pid int) error
	// Seccomp is linux.seccomp, compiled; nil when there is no profile.
	Seccomp *seccomp.Program
}

// Init is a started, ready container init.
type Init struct {
	Pid     int
	Console *os.File // pty master when process.terminal

	proc     process
	execDone func() error // fast path: waits for the execve of the process
	release  func()
}

// process is the init seen as a process: the setup program's child
// (pidfd, waited for through the poller) or an os.Process (the Go init).
type process interface {
	Signal(syscall.Signal) error
	Wait() (syscall.WaitStatus, error)
	Release()
}

// osProcess adapts an os.Process started by os/exec.
type osProcess struct{ p *os.Process }

func (o osProcess) Signal(sig syscall.Signal) error { return o.p.Signal(sig) }
func (o osProcess) Release()                        { o.p.Release() }
func (o osProcess) Wait() (syscall.WaitStatus, error) {
	ps, err := o.p.Wait()
	if err != nil {
		return 0, err
	}
	return ps.Sys().(syscall.WaitStatus), nil
}

// Kill sends SIGKILL to the init.
func (in *Init) Kill() error { return in.proc.Signal(syscall.SIGKILL) }

// Signal sends sig to the init; once Wait has reaped it, never to a
// process that reused its pid (the setup program's child is a pidfd).
func (in *Init) Signal(sig syscall.Signal) error { return in.proc.Signal(sig) }

// Wait waits for the init to exit (it is hako's child) and reaps it.
func (in *Init) Wait() (syscall.WaitStatus, error) { return in.proc.Wait() }

// ExecDone waits, after start, until the container's process was executed
// and returns why it could not be, if it could not. Call it or Release.
func (in *Init) ExecDone() error {
	if in.execDone == nil {
		return nil
	}
	f := in.execDone
	in.execDone, in.release = nil, nil
	return f()
}

// Release lets go of the init, without waiting for its execve or its
// exit.
func (in *Init) Release() {
	if in.release != nil {
		in.release()
	}
	in.execDone, in.release = nil, nil
	in.proc.Release()
}

// Error is a failure of the init, with the step that failed.
type Error struct {
	Step string
	Err  error
}

func (e *Error) Error() string {
	if e.Step == "" {
		return e.Err.Error()
	}
	return e.Step + ": " + e.Err.Error()
}
func (e *Error) Unwrap() error { return e.Err }

// Start starts the init and drives it until it is ready (waiting on the
// exec fifo). On failure the init is killed and reaped; nothing is left.
func Start(o *Options) (*Init, error) {
	s := o.Spec
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if err := checkSeccomp(s, o.Seccomp); err != nil {
		return nil, err
	}
	in, err := startFast(o)
	if !errors.Is(err, errSlowPath) {
		return in, err
	}
	slog.Debug("using the Go init", "reason", err)
	var cloneFlags uintptr
	var join []specs.LinuxNamespace
	newUser, newCgroupNS := false, false
	for _, n := range s.Linux.Namespaces {
		f, ok := nsFlags[n.Type]
		if !ok {
			return nil, fmt.Errorf("linux.namespaces: unknown namespace type %q", n.Type)
		}
		if n.Path != "" {
			if n.Type == specs.UserNamespace {
				return nil, fmt.Errorf("linux.namespaces: joining an existing user namespace (path %q) is not supported yet: a multi-threaded Go process cannot setns into a user namespace — hint: remove the path to create a new user namespace", n.Path)
			}
			join = append(join, n)
			continue
		}
		switch n.Type {
		case specs.UserNamespace:
			newUser = true
		case specs.CgroupNamespace:
			// unshared by the init once it is inside its cgroup
			newCgroupNS = true
			continue
		}
		cloneFlags |= f
	}
	ic, err := newInitCmd(o.ExtraFiles, o.Fifo, o.Stdin, o.Stdout, o.Stderr)
	if err != nil {
		return nil, err
	}
	defer ic.close()
	cmd, parent, childSock, fifoFD := ic.cmd, ic.parent, ic.childSock, ic.fifoFD
	attr := &syscall.SysProcAttr{Cloneflags: cloneFlags}
	if newUser {
		attr.UidMappings = idMaps(s.Linux.UIDMappings)
		attr.GidMappings = idMaps(s.Linux.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
		if len(attr.UidMappings) == 0 || len(attr.GidMappings) == 0 {
			return nil, fmt.Errorf("linux.uidMappings and linux.gidMappings: a new user namespace needs both mappings — hint: map container uid 0 to a host uid, e.g. {\"containerID\":0,\"hostID\":100000,\"size\":65536}")
		}
		if !mapsZero(s.Linux.UIDMappings) || !mapsZero(s.Linux.GIDMappings) {
			return nil, fmt.Errorf("linux.uidMappings and linux.gidMappings: container uid and gid 0 must be mapped (the init sets up the container as root of its user namespace) — hint: add {\"containerID\":0,\"hostID\":100000,\"size\":65536}")
		}
		// Become root of the new user namespace before the init is
		// executed: the clone leaves us with the host's (unmapped) uid, and
		// execve would then drop every capability the init needs.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	cmd.SysProcAttr = attr

	if err := startJoined(cmd, join); err != nil {
		childSock.Close()
		return nil, err
	}
	childSock.Close()
	init := &Init{Pid: cmd.Process.Pid, proc: osProcess{cmd.Process}}
	ok := false
	defer func() {
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			if init.Console != nil {
				init.Console.Close()
			}
		}
	}()
	if s.Process != nil && s.Process.OOMScoreAdj != nil {
		p := "/proc/" + strconv.Itoa(init.Pid) + "/oom_score_adj"
		if err := os.WriteFile(p, []byte(strconv.Itoa(*s.Process.OOMScoreAdj)), 0); err != nil {
			return nil, fmt.Errorf("process.oomScoreAdj %d: %w", *s.Process.OOMScoreAdj, err)
		}
	}
	cfg := &initproto.Config{
		Spec:        json.RawMessage(o.SpecJSON),
		Rootfs:      o.Rootfs,
		Bundle:      o.Bundle,
		ID:          o.ID,
		NoPivot:     o.NoPivot,
		PreserveFDs: len(o.ExtraFiles),
		FifoFD:      fifoFD,
		NewCgroupNS: newCgroupNS,
		NewUserNS:   newUser,
		StateJSON:   json.RawMessage(o.StateJSON),
		Seccomp:     wireSeccomp(o.Seccomp),
	}
	if err := parent.Send(&initproto.Message{Kind: initproto.KindConfig, Config: cfg}); err != nil {
		return nil, initFailed(parent, err)
	}
	if o.ApplyCgroup != nil {
		if err := o.ApplyCgroup(init.Pid); err != nil {
			return nil, err
		}
	}
	if err := parent.Send(&initproto.Message{Kind: initproto.KindCgroupReady}); err != nil {
		return nil, initFailed(parent, err)
	}
	if _, _, err := parent.Expect(initproto.KindPrePivot); err != nil {
		return nil, initFailed(parent, err)
	}
	if o.PrePivot != nil {
		if err := o.PrePivot(init.Pid); err != nil {
			return nil, err
		}
	}
	if err := parent.Send(&initproto.Message{Kind: initproto.KindContinue}); err != nil {
		return nil, initFailed(parent, err)
	}
	for {
		m, files, err := parent.Recv()
		if err != nil {
			return nil, initFailed(parent, err)
		}
		switch m.Kind {
		case initproto.KindConsole:
			if len(files) != 1 {
				closeFiles(files)
				return nil, fmt.Errorf("init protocol: console message without exactly one fd")
			}
			init.Console = files[0]
			continue
		case initproto.KindReady:
			closeFiles(files)
			ok = true
			return init, nil
		case initproto.KindError:
			closeFiles(files)
			return nil, fromInfo(m.Error)
		default:
			closeFiles(files)
			return nil, fmt.Errorf("init protocol: unexpected %s", m.Kind)
		}
	}
}

func fromInfo(e *initproto.ErrorInfo) error {
	if e == nil {
		return &Error{Err: errors.New("container init failed without a reason")}
	}
	return &Error{Step: "", Err: e}
}

// initFailed turns a protocol failure into the init's own error when it
// sent one before going away.
func initFailed(c *initproto.Conn, err error) error {
	var ei *initproto.ErrorInfo
	if errors.As(err, &ei) {
		return &Error{Err: ei}
	}
	if errors.Is(err, initproto.ErrClosed) || errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET) {
		// A send failed because the init went away; its last words may
		// still wait in our receive queue.
		if !errors.Is(err, initproto.ErrClosed) {
			if m, files, rerr := c.Recv(); rerr == nil {
				closeFiles(files)
				if m.Kind == initproto.KindError {
					return fromInfo(m.Error)
				}
			}
		}
		return &Error{Step: "container init", Err: errors.New("exited before it was ready (see its stderr above)")}
	}
	return err
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}

func mapsZero(m []specs.LinuxIDMapping) bool {
	for _, x := range m {
		if x.ContainerID == 0 && x.Size > 0 {
			return true
		}
	}
	return false
}

func idMaps(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	var out []syscall.SysProcIDMap
	for _, x := range m {
		out = append(out, syscall.SysProcIDMap{ContainerID: int(x.ContainerID), HostID: int(x.HostID), Size: int(x.Size)})
	}
	return out
}

// startJoined starts cmd, first joining the namespaces given by path on a
// dedicated OS thread. That thread is never unlocked, so it exits with its
// goroutine and never serves other goroutines in foreign namespaces.
func startJoined(cmd *exec.Cmd, join []specs.LinuxNamespace) error {
	if len(join) == 0 {
		return startErr(timerslack.Fork(cmd.Start))
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// never UnlockOSThread: the thread is tainted
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_FS): %w", err)
			return
		}
		// Open every namespace first: once the mount namespace is joined,
		// /proc/PID paths would resolve in the container's /proc.
		fds := make([]int, len(join))
		defer func() {
			for _, fd := range fds {
				if fd > 0 {
					unix.Close(fd)
				}
			}
		}()
		for i, n := range join {
			fd, err := unix.Open(n.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				errc <- fmt.Errorf("linux.namespaces: %s namespace path %q: %w", n.Type, n.Path, err)
				return
			}
			fds[i] = fd
		}
		for i, n := range join {
			if err := unix.Setns(fds[i], int(nsFlags[n.Type])); err != nil {
				hint := ""
				if errors.Is(err, unix.EINVAL) {
					hint = fmt.Sprintf(" — hint: is %q really a %s namespace (e.g. /proc/PID/ns/%s)?", n.Path, n.Type, nsFile(n.Type))
				}
				errc <- fmt.Errorf("linux.namespaces: joining %s namespace %q: %w%s", n.Type, n.Path, err, hint)
				return
			}
		}
		errc <- startErr(timerslack.Fork(cmd.Start))
	}()
	return <-errc
}

func nsFile(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

func startErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("starting the container init: %w", err)
}

// initCmd is an init process about to be started: the command, executed
// from SafeExecutable, with fds 3.. = extra files, then the init socket,
// then (for create) the exec fifo.
type initCmd struct {
	cmd       *exec.Cmd
	parent    *initproto.Conn
	childSock *os.File
	fifoFD    int
	exe       []*os.File
}

func newInitCmd(extra []*os.File, fifo, stdin, stdout, stderr *os.File) (*initCmd, error) {
	exe, err := SafeExecutable()
	if err != nil {
		return nil, err
	}
	// The exe fd must not collide with the fds the child gets at 3...
	highFD, err := unix.FcntlInt(exe.Fd(), unix.F_DUPFD_CLOEXEC, 3+len(extra)+4)
	if err != nil {
		exe.Close()
		return nil, fmt.Errorf("duplicating the executable fd: %w", err)
	}
	ic := &initCmd{exe: []*os.File{exe, os.NewFile(uintptr(highFD), "hako-exe")}, fifoFD: -1}
	ic.parent, ic.childSock, err = initproto.Pair()
	if err != nil {
		ic.close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:   "/proc/self/fd/" + strconv.Itoa(highFD),
		Args:   []string{initArg0},
		Stdin:  orStd(stdin, os.Stdin),
		Stdout: orStd(stdout, os.Stdout),
		Stderr: orStd(stderr, os.Stderr),
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, extra...)
	sockFD := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, ic.childSock)
	if fifo != nil {
		ic.fifoFD = 3 + len(cmd.ExtraFiles)
		cmd.ExtraFiles = append(cmd.ExtraFiles, fifo)
	}
	// The init's Go runtime starts with one P (main would cut it to one
	// anyway, which costs a stop-the-world and a P's teardown, ~0.2 ms).
	// The environment is the init's own: the process gets process.env,
	// hooks their own env.
	cmd.Env = []string{envFD + "=" + strconv.Itoa(sockFD), "GOMAXPROCS=1"}
	ic.cmd = cmd
	return ic, nil
}

// close releases the parent's copies of the exe fds and the init socket's
// parent end (the child end is closed by the caller right after start).
func (ic *initCmd) close() {
	for _, f := range ic.exe {
		f.Close()
	}
	if ic.parent != nil {
		ic.parent.Close()
	}
}

// wireSeccomp is a compiled profile as the init protocol carries it.
func wireSeccomp(p *seccomp.Program) *initproto.Seccomp {
	if p == nil {
		return nil
	}
	return &initproto.Seccomp{Filter: seccomp.FilterBytes(p.Filter), Flags: p.Flags}
}

// checkSeccomp refuses a profile that was not compiled: the caller compiles
// linux.seccomp before anything is created.
func checkSeccomp(s *specs.Spec, p *seccomp.Program) error {
	if s.Linux != nil && s.Linux.Seccomp != nil && p == nil {
		return errors.New("linux.seccomp: the profile was not compiled before the container was started (a bug in hako)")
	}
	return nil
}
