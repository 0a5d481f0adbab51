package spawn

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/security"
	"github.com/hako-dev/hako/internal/sysprog"
)

// compileProcess appends what makes the process of a container or of an
// exec, after its namespaces, mounts and session: close-on-exec for every
// fd above the preserved ones, rlimits, the seccomp filter when it must be
// loaded before the capabilities go (without no_new_privs), user and
// capabilities, cwd (which must resolve inside the root), the search for
// process.args[0], no_new_privs. With no_new_privs the filter is loaded
// last, by compileExec. It returns the candidates and the register holding
// the index of the one found, for the final exec. l is the container's
// linux (its personality and memory policy); spawn: the runner forks the
// process after these ops (see compileAttrs).
func compileProcess(p *sysprog.Program, proc *specs.Process, l *specs.Linux, sc *seccomp.Program, preserved int, inUserNS, spawn, notify bool) ([]string, sysprog.Reg, error) {
	// Before any filter: a profile need not allow close_range, and
	// nothing hako needs should run under the container's filter.
	p.CloexecFrom(stepFail("closing inherited fds", ""), 3+preserved)
	if err := security.CompileRlimits(p, proc.Rlimits); err != nil {
		return nil, 0, &Error{Step: "setting rlimits", Err: err}
	}
	// The working directory is entered first as the runtime, which may
	// enter what the process's user may not (a volume of root's), before
	// any filter; where the runtime may not (a directory of the user's
	// only, on a filesystem root's privileges do not reach), again as the
	// user, as runc does.
	cwd := proc.Cwd
	if cwd == "" {
		cwd = "/"
	}
	refused := p.TryChdir(cwdFail(cwd), cwd)
	if err := compileAttrs(p, proc, l, spawn); err != nil {
		return nil, 0, err
	}
	if sc != nil && !proc.NoNewPrivileges {
		// Loading a filter without no_new_privs needs CAP_SYS_ADMIN,
		// which the process may be about to lose. What runs after it
		// (user, capabilities, the executable's search, the trampoline)
		// the profile must allow, as with runc.
		loadSeccomp(p, sc, notify)
	}
	compileUser := security.CompileUser
	if inUserNS {
		compileUser = security.CompileUserInNamespace
	}
	if err := compileUser(p, proc.User, proc.Capabilities); err != nil {
		return nil, 0, &Error{Step: "changing user", Err: err}
	}
	p.SkipIfZero(refused, 1)
	p.Call(cwdFail(cwd), unix.SYS_CHDIR, p.Str(cwd))
	p.CheckCwd(func(syscall.Errno) error {
		return &Error{Step: "entering the working directory", Err: fmt.Errorf("process.cwd %q resolves outside the container's root; refusing to start", cwd)}
	})
	paths, notFound := candidates(proc.Args[0], proc.Env)
	idx := p.FindExec(notFound, paths)
	if proc.NoNewPrivileges {
		security.CompileNoNewPrivileges(p)
		if sc != nil && notify && sysprog.Supported {
			// Here, not in the trampoline: the listener comes back.
			loadSeccomp(p, sc, true)
		}
	}
	p.SetExecFail(func(errno syscall.Errno) error {
		return &Error{Step: "exec", Err: execFailure(proc.Args[0], errno)}
	})
	return paths, idx, nil
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

// trampSeccomp is the seccomp program the trampoline loads right before
// its execve: linux.seccomp's with no_new_privs (without, the program
// loads it while it still has the capability to).
func trampSeccomp(sc *seccomp.Program, proc *specs.Process, notify bool) *sysprog.TrampolineSeccomp {
	if sc == nil || !proc.NoNewPrivileges || !sysprog.Supported || notify {
		return nil
	}
	return &sysprog.TrampolineSeccomp{Filter: seccomp.FilterBytes(sc.Filter), Flags: sc.Flags}
}

// compileExec ends the program: the process is executed through the
// trampoline (in trampFD), which loads the filter with no_new_privs; with
// spawn (the raw child is not in the process's pid namespace, only its
// children would be) the raw child makes the process with SpawnThrough
// and exits; the Go runner was spawned there, and executes it itself. Where there is no trampoline the Go runner, started where the
// process must be, executes it directly, the filter loaded just before.
func compileExec(p *sysprog.Program, spawn bool, trampFD int, paths []string, idx sysprog.Reg, proc *specs.Process, sc *seccomp.Program, notify bool) {
	fail := stepFail("exec", proc.Args[0])
	switch {
	case !sysprog.Supported:
		p.ResetSignals()
		if sc != nil && proc.NoNewPrivileges {
			loadSeccomp(p, sc, notify)
		}
		p.Execve(fail, paths, idx, proc.Args, proc.Env)
	case spawn:
		// The Go runner is where the process must be: the handover
		// spawned it there.
		from := p.Len()
		p.SpawnThrough(fail, trampFD, paths, idx, proc.Args, proc.Env)
		p.OnlyRaw(from)
		from = p.Len()
		p.ExecThrough(fail, trampFD, paths, idx, proc.Args, proc.Env)
		p.OnlyGo(from)
	default:
		p.ExecThrough(fail, trampFD, paths, idx, proc.Args, proc.Env)
	}
}

// loadSeccomp loads the filter; with notify (SCMP_ACT_NOTIFY) it asks for
// the listener and sends it to the parent, which hands it to the agent:
// the process may stop at its next notified system call until the agent
// answers.
func loadSeccomp(p *sysprog.Program, sc *seccomp.Program, notify bool) {
	if !notify {
		security.CompileSeccomp(sc.Filter, sc.Flags)(p)
		return
	}
	l := security.CompileSeccompListener(p, sc.Filter, sc.Flags)
	p.SendFD(stepFail("handing the seccomp listener to hako", ""), l)
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(l))
}
