package spawn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/mount"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/security"
	"github.com/hako-dev/hako/internal/sysprog"

	"github.com/hako-dev/hako/internal/timerslack"
)

// The fast path: the container's setup compiled into a sysprog.Program and
// run by a child forked from hako itself, with no second Go runtime and
// without ever executing the host binary inside the container. What the
// program cannot express yet (user namespaces, joined namespaces, a
// terminal, createContainer/startContainer hooks, --no-pivot, tmpcopyup)
// takes the Go init (hako-init); HAKO_INIT=go forces the Go init, for
// comparison.

// errSlowPath means: use the Go init.
var errSlowPath = errors.New("the Go init is needed")

// slowError is errSlowPath with the reason the Go init is needed.
type slowError struct{ reason string }

func (e *slowError) Error() string        { return errSlowPath.Error() + ": " + e.reason }
func (e *slowError) Is(target error) bool { return target == errSlowPath }

func slow(format string, args ...any) error {
	return &slowError{reason: fmt.Sprintf(format, args...)}
}

func fastPathBlocker(o *Options) error {
	s := o.Spec
	switch {
	case !sysprog.Supported:
		return slow("no setup programs on this architecture")
	case os.Getenv("HAKO_INIT") == "go":
		return slow("HAKO_INIT=go")
	case o.NoPivot:
		return slow("--no-pivot")
	case s.Process == nil || len(s.Process.Args) == 0:
		return slow("no process")
	case s.Process.Terminal:
		return slow("a terminal")
	case s.Hooks != nil && (len(s.Hooks.CreateContainer) > 0 || len(s.Hooks.StartContainer) > 0):
		return slow("createContainer or startContainer hooks")
	}
	hasMnt := false
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.UserNamespace {
			return slow("a user namespace")
		}
		if n.Path != "" {
			return slow("a namespace joined by path")
		}
		if n.Type == specs.MountNamespace {
			hasMnt = true
		}
	}
	if !hasMnt {
		return slow("no mount namespace")
	}
	if o.Fifo != nil {
		// The trampoline reopens the exec fifo through the container's
		// /proc/self/fd.
		proc := false
		for _, m := range s.Mounts {
			if m.Type == "proc" && filepath.Clean(m.Destination) == "/proc" {
				proc = true
			}
		}
		if !proc {
			return slow("no procfs at /proc")
		}
	}
	return nil
}

// fdSet duplicates the fds the child uses above the ones it is given at
// 0..base-1, so that placing those can never clobber one of them.
type fdSet struct {
	base  int
	files []*os.File
}

func (s *fdSet) high(f *os.File) (int, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, s.base)
	if err != nil {
		return -1, fmt.Errorf("duplicating fd %d: %w", f.Fd(), err)
	}
	s.files = append(s.files, os.NewFile(uintptr(fd), f.Name()))
	return fd, nil
}

func (s *fdSet) close() {
	for _, f := range s.files {
		f.Close()
	}
}

// setup is a setup program being built: the program, the fds its child
// is to get, and the two ends of the socket between them.
type setup struct {
	p                 *sysprog.Program
	fds               *fdSet
	parentEnd, syncFD int
	started           bool
}

// newSetup starts a program for a child that gets extra files at 3...:
// the socket's child end goes above them, and the program begins with the
// timer slack hako was started with (the child inherits hako's coarse
// one), non-dumpable (until it executes the trampoline, the child is hako:
// no process may reach its /proc/PID files — exe, fd, mem — without
// CAP_SYS_PTRACE), and the parent's end closed.
func newSetup(extra int) (*setup, error) {
	parentEnd, childEnd, err := sysprog.Pair()
	if err != nil {
		return nil, err
	}
	fds := &fdSet{base: 3 + extra + 1}
	syncFD, err := fds.high(childEnd)
	childEnd.Close()
	if err != nil {
		unix.Close(parentEnd)
		fds.close()
		return nil, err
	}
	p := sysprog.New(syncFD)
	if o := timerslack.Original(); o != 0 {
		p.Call(stepFail("prctl(PR_SET_TIMERSLACK)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_TIMERSLACK), sysprog.Imm(o), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	}
	p.Call(stepFail("prctl(PR_SET_DUMPABLE, 0)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_DUMPABLE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(parentEnd))
	return &setup{p: p, fds: fds, parentEnd: parentEnd, syncFD: syncFD}, nil
}

// start clones the child (which owns the parent's end of the socket from
// now on) and closes the fds it was given.
func (s *setup) start(cloneFlags uintptr) (*sysprog.Child, error) {
	s.started = true
	c, err := s.p.Start(cloneFlags, s.parentEnd)
	s.fds.close()
	s.fds.files = nil
	return c, err
}

// close releases what the setup still holds.
func (s *setup) close() {
	s.fds.close()
	if !s.started {
		unix.Close(s.parentEnd)
	}
}

// placeFiles makes the program put stdio (nil: inherited as is) at 0..2
// and extra at 3...
func placeFiles(p *sysprog.Program, fds *fdSet, stdio, extra []*os.File) error {
	place := func(f *os.File, to int) error {
		from, err := fds.high(f)
		if err != nil {
			return err
		}
		p.Call(nil, unix.SYS_DUP3, sysprog.Imm(from), sysprog.Imm(to), sysprog.Imm(0))
		return nil
	}
	for i, f := range stdio {
		if f != nil {
			if err := place(f, i); err != nil {
				return err
			}
		}
	}
	for i, f := range extra {
		if err := place(f, 3+i); err != nil {
			return err
		}
	}
	return nil
}

// closeInherited makes the program close every fd from from on but the
// ones in keep: the Go runtime's, the state store's lock (a flock the
// child would otherwise keep holding), the sources of placeFiles.
func closeInherited(p *sysprog.Program, from int, keep []int) {
	keep = slices.Sorted(slices.Values(keep))
	for _, k := range keep {
		if k > from {
			p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(from), sysprog.Imm(k-1), sysprog.Imm(0))
		}
		from = k + 1
	}
	p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(from), sysprog.Imm(^uint(0)), sysprog.Imm(0))
}

// compileProcess appends what makes the process of a container or of an
// exec, after its namespaces, mounts and session: rlimits, the seccomp
// filter (before the capabilities go, without no_new_privs), user and
// capabilities, cwd (which must resolve inside the root), the search for
// process.args[0], no_new_privs, the filter, and close-on-exec for every fd
// above the preserved ones. It returns the candidates and the register
// holding the index of the one found, for the final exec.
func compileProcess(p *sysprog.Program, proc *specs.Process, sc *seccomp.Program, preserved int) ([]string, sysprog.Reg, error) {
	if err := security.CompileRlimits(p, proc.Rlimits); err != nil {
		return nil, 0, &Error{Step: "setting rlimits", Err: err}
	}
	// Every fd above the preserved ones becomes close-on-exec before a
	// seccomp filter is loaded: a profile need not allow close_range, and
	// nothing hako needs should run under the container's filter.
	p.CloexecFrom(stepFail("closing inherited fds", ""), 3+preserved)
	var loadSeccomp func(*sysprog.Program)
	if sc != nil {
		loadSeccomp = security.CompileSeccomp(sc.Filter, sc.Flags)
	}
	if loadSeccomp != nil && !proc.NoNewPrivileges {
		loadSeccomp(p)
		loadSeccomp = nil
	}
	if err := security.CompileUser(p, proc.User, proc.Capabilities); err != nil {
		return nil, 0, &Error{Step: "changing user", Err: err}
	}
	cwd := proc.Cwd
	if cwd == "" {
		cwd = "/"
	}
	p.Call(cwdFail(cwd), unix.SYS_CHDIR, p.Str(cwd))
	p.CheckCwd(func(syscall.Errno) error {
		return &Error{Step: "entering the working directory", Err: fmt.Errorf("process.cwd %q resolves outside the container's root; refusing to start", cwd)}
	})
	paths, notFound := candidates(proc.Args[0], proc.Env)
	idx := p.FindExec(notFound, paths)
	if proc.NoNewPrivileges {
		security.CompileNoNewPrivileges(p)
	}
	if loadSeccomp != nil {
		loadSeccomp(p)
	}
	p.SetExecFail(func(errno syscall.Errno) error {
		return &Error{Step: "exec", Err: execFailure(proc.Args[0], errno)}
	})
	return paths, idx, nil
}

// startFast starts the container's process through a setup program.
func startFast(o *Options) (*Init, error) {
	s := o.Spec
	if err := fastPathBlocker(o); err != nil {
		return nil, err
	}
	su, err := newSetup(len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	defer su.close()
	p, fds, syncFD := su.p, su.fds, su.syncFD
	ok := false
	if err := placeFiles(p, fds, []*os.File{o.Stdin, o.Stdout, o.Stderr}, o.ExtraFiles); err != nil {
		return nil, err
	}
	fifoFD := -1
	if o.Fifo != nil {
		if fifoFD, err = fds.high(o.Fifo); err != nil {
			return nil, err
		}
	}
	tramp, err := sysprog.Trampoline(syncFD, fifoFD, sysprog.KeepSession, nil)
	if err != nil {
		return nil, err
	}
	trampFD, err := fds.high(tramp)
	tramp.Close()
	if err != nil {
		return nil, err
	}

	// Every other inherited fd is closed now: the Go runtime's, the
	// state store's lock (a flock the child would otherwise keep holding),
	// the sources just placed.
	keep := []int{syncFD, trampFD}
	if fifoFD >= 0 {
		keep = append(keep, fifoFD)
	}
	closeInherited(p, 3+len(o.ExtraFiles), keep)

	var cloneFlags uintptr
	newCgroupNS, newNet, uts := false, false, false
	for _, n := range s.Linux.Namespaces {
		switch n.Type {
		case specs.CgroupNamespace:
			newCgroupNS = true
			continue
		case specs.NetworkNamespace:
			newNet = true
		case specs.UTSNamespace:
			uts = true
		}
		f, known := nsFlags[n.Type]
		if !known {
			return nil, fmt.Errorf("linux.namespaces: unknown namespace type %q", n.Type)
		}
		cloneFlags |= f
	}

	if err := compileSysctls(p, s.Linux.Sysctl); err != nil {
		return nil, err
	}
	if uts {
		if s.Hostname != "" {
			p.Call(stepFail("setting hostname", fmt.Sprintf("hostname %q", s.Hostname)), unix.SYS_SETHOSTNAME, p.Str(s.Hostname), sysprog.Imm(len(s.Hostname)))
		}
		if s.Domainname != "" {
			p.Call(stepFail("setting domainname", fmt.Sprintf("domainname %q", s.Domainname)), unix.SYS_SETDOMAINNAME, p.Str(s.Domainname), sysprog.Imm(len(s.Domainname)))
		}
	}
	if newNet {
		compileLoopback(p)
	}
	hasPrePivot := s.Hooks != nil && (len(s.Hooks.Prestart) > 0 || len(s.Hooks.CreateRuntime) > 0) //nolint:staticcheck // prestart is deprecated but still honoured
	mc := mount.FromSpec(s, o.Rootfs, o.Bundle)
	mc.CgroupNS = newCgroupNS
	err = mount.Compile(mc, p, mount.Stages{
		Cgroup: func() {
			p.Wait(stepFail("waiting for the cgroup", ""))
			if newCgroupNS {
				p.Call(stepFail("creating the cgroup namespace", ""), unix.SYS_UNSHARE, sysprog.Imm(unix.CLONE_NEWCGROUP))
			}
		},
		PrePivot: func() {
			if hasPrePivot {
				p.Signal('P')
				p.Wait(stepFail("waiting for createRuntime hooks", ""))
			}
		},
	})
	if err != nil {
		if errors.Is(err, mount.ErrNotCompiled) {
			return nil, slow("%v", err)
		}
		return nil, &Error{Step: "preparing the rootfs", Err: err}
	}
	p.Call(stepFail("setsid", ""), unix.SYS_SETSID)
	proc := s.Process
	paths, idx, err := compileProcess(p, proc, o.Seccomp, len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	if fifoFD >= 0 {
		// The trampoline opens the exec fifo through it, then closes it.
		p.Call(stepFail("waiting for start", "keeping the exec fifo"), unix.SYS_FCNTL, sysprog.Imm(fifoFD), sysprog.Imm(unix.F_SETFD), sysprog.Imm(0))
	}
	p.ExecThrough(stepFail("exec", proc.Args[0]), trampFD, paths, idx, proc.Args, proc.Env)

	child, err := su.start(cloneFlags)
	if err != nil {
		return nil, &Error{Step: "starting the container's setup", Err: err}
	}
	in := &Init{Pid: child.Pid, proc: child}
	defer func() {
		if !ok {
			child.Signal(syscall.SIGKILL)
			child.Wait()
			child.Close()
		}
		child.KeepAlive() // the child used the program's memory until now
	}()
	if s.Process.OOMScoreAdj != nil {
		path := "/proc/" + strconv.Itoa(in.Pid) + "/oom_score_adj"
		if err := os.WriteFile(path, []byte(strconv.Itoa(*s.Process.OOMScoreAdj)), 0); err != nil {
			if cerr := child.Failed(); cerr != nil {
				return nil, childErr(cerr)
			}
			return nil, fmt.Errorf("process.oomScoreAdj %d: %w", *s.Process.OOMScoreAdj, err)
		}
	}
	if err := cgroupThenGo(child, o.ApplyCgroup); err != nil {
		return nil, err
	}
	if hasPrePivot {
		if err := child.Expect('P'); err != nil {
			return nil, childErr(err)
		}
		if o.PrePivot != nil {
			if err := o.PrePivot(in.Pid); err != nil {
				return nil, err
			}
		}
		if err := child.Continue(); err != nil {
			return nil, childErr(child.Expect('R'))
		}
	}
	if err := child.Expect('R'); err != nil {
		return nil, childErr(err)
	}
	in.execDone = func() error {
		defer child.Close()
		return child.Done()
	}
	in.release = func() { child.Close() }
	ok = true
	slog.Debug("container setup program started", "pid", in.Pid, "ops", p.Len())
	return in, nil
}

// cgroupThenGo puts the child into its cgroup with apply (nil: none) and
// lets it past its Wait. When apply fails, the child may have failed first
// (it mounts while the cgroup is made): its reason comes first.
func cgroupThenGo(child *sysprog.Child, apply func(pid int) error) error {
	if apply != nil {
		if err := apply(child.Pid); err != nil {
			if cerr := child.Failed(); cerr != nil {
				return childErr(cerr)
			}
			return err
		}
	}
	if err := child.Continue(); err != nil {
		return childErr(child.Expect('R'))
	}
	return nil
}

func childErr(err error) error {
	if err == nil {
		return errors.New("container setup: the setup process stopped without a reason")
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sysprog.ErrExited) {
		return &Error{Step: "container init", Err: errors.New("exited before it was ready (see its stderr above)")}
	}
	return &Error{Err: err}
}

func stepFail(step, what string) sysprog.Fail {
	return func(errno syscall.Errno) error {
		if what == "" {
			return &Error{Step: step, Err: errno}
		}
		return &Error{Step: step, Err: fmt.Errorf("%s: %w", what, errno)}
	}
}

func compileSysctls(p *sysprog.Program, m map[string]string) error {
	for k, v := range m {
		rel := strings.ReplaceAll(k, ".", "/")
		if strings.Contains(k, "/") || strings.Contains(rel, "..") || k == "" {
			return &Error{Step: "setting sysctls", Err: fmt.Errorf("linux.sysctl[%q]: not a sysctl name", k)}
		}
		fail := stepFail("setting sysctls", fmt.Sprintf("linux.sysctl[%q] = %q", k, v))
		fd := p.Result(fail, unix.SYS_OPENAT, sysprog.Imm(^uintptr(99)), p.Str("/proc/sys/"+rel), sysprog.Imm(unix.O_WRONLY|unix.O_CLOEXEC|unix.O_TRUNC), sysprog.Imm(0))
		p.Call(fail, unix.SYS_WRITE, sysprog.R(fd), p.Bytes([]byte(v)), sysprog.Imm(len(v)))
		p.Call(nil, unix.SYS_CLOSE, sysprog.R(fd))
	}
	return nil
}

// compileLoopback brings lo up in the new network namespace.
func compileLoopback(p *sysprog.Program) {
	fail := stepFail("bringing up the loopback interface", "")
	s := p.Result(fail, unix.SYS_SOCKET, sysprog.Imm(unix.AF_INET), sysprog.Imm(unix.SOCK_DGRAM|unix.SOCK_CLOEXEC), sysprog.Imm(0))
	ifr := make([]byte, unix.IFNAMSIZ+24)
	copy(ifr, "lo")
	*(*uint16)(unsafe.Pointer(&ifr[unix.IFNAMSIZ])) = unix.IFF_UP | unix.IFF_LOOPBACK | unix.IFF_RUNNING
	p.Call(fail, unix.SYS_IOCTL, sysprog.R(s), sysprog.Imm(unix.SIOCSIFFLAGS), p.Bytes(ifr))
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(s))
}

func cwdFail(cwd string) sysprog.Fail {
	return func(errno syscall.Errno) error {
		var hint string
		switch errno {
		case unix.ENOENT:
			hint = "create it in the rootfs or change process.cwd"
		case unix.ENOTDIR:
			hint = "process.cwd must name a directory"
		case unix.EACCES:
			hint = "the container's user may not enter it"
		}
		msg := fmt.Sprintf("process.cwd %q: %s (%s)", cwd, errno.Error(), unix.ErrnoName(errno))
		if hint != "" {
			msg += " — hint: " + hint
		}
		return &Error{Step: "entering the working directory", Err: &wrapped{msg: msg, err: errno}}
	}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// candidates lists where process.args[0] may be, in $PATH order, and the
// error (in runc's words, which docker maps to exit code 127) for none.
func candidates(name string, env []string) ([]string, sysprog.Fail) {
	if strings.Contains(name, "/") {
		return []string{name}, func(errno syscall.Errno) error {
			return &Error{Step: "finding the executable", Err: &wrapped{msg: fmt.Sprintf("process.args[0] %q: %s", name, execProblem(errno)), err: errno}}
		}
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var list []string
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		list = append(list, filepath.Join(dir, name))
	}
	return list, func(errno syscall.Errno) error {
		msg := fmt.Sprintf("exec: %q: executable file not found in $PATH (searched %s in the container's rootfs)", name, path)
		if errno != unix.ENOENT {
			msg += "; " + execProblem(errno)
		}
		return &Error{Step: "finding the executable", Err: &wrapped{msg: msg + " — hint: install it in the image or give process.args[0] as an absolute path", err: unix.ENOENT}}
	}
}

func execProblem(errno syscall.Errno) string {
	switch errno {
	case unix.ENOENT:
		return "no such file or directory"
	case unix.EACCES:
		return "permission denied: not an executable regular file, or its mode lacks x for the container's user"
	case unix.EISDIR:
		return "is a directory"
	}
	return errno.Error()
}

func execFailure(arg0 string, errno syscall.Errno) error {
	msg := fmt.Sprintf("exec %q: %s (%s)", arg0, errno.Error(), unix.ErrnoName(errno))
	switch errno {
	case unix.ENOENT:
		msg = fmt.Sprintf("exec %q: no such file or directory — hint: the file exists, so its interpreter (#! line or ELF loader) is missing from the rootfs", arg0)
	case unix.ENOEXEC:
		msg += " — hint: is it built for this architecture, or a script without a #! line?"
	}
	return &wrapped{msg: msg, err: errno}
}
