package spawn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/security"
	"github.com/hako-dev/hako/internal/sysprog"
	"github.com/hako-dev/hako/internal/timerslack"
)

// execFastBlocker says why an exec needs the Go init, or nil.
func execFastBlocker(o *ExecOptions, join []specs.LinuxNamespace) error {
	switch {
	case !sysprog.Supported:
		return slow("no setup programs on this architecture")
	case os.Getenv("HAKO_INIT") == "go":
		return slow("HAKO_INIT=go")
	case o.Spec.Process.Terminal:
		return slow("a terminal")
	}
	for _, n := range join {
		if n.Type == specs.TimeNamespace {
			// setns into a time namespace needs a process that shares its
			// memory with no other; the setup child shares hako's.
			return slow("a time namespace")
		}
	}
	return nil
}

// startExecFast starts a process in a running container through a setup
// program, without a second Go runtime. The setup child shares hako's
// memory and is never in the container's pid namespace, so no process of
// the container can see it. It waits until hako has moved it into the
// container's cgroup, joins the container's namespaces (mount last), sets
// up the process as the Go init would (rlimits, seccomp, user and
// capabilities, cwd, no_new_privs, close-on-exec for every other fd), and
// vforks the process (sysprog's SpawnThrough): born in the container's pid
// namespace and cgroup with all of that, it executes the trampoline at
// once, which starts a session and executes process.args[0]. Only during
// the vfork, as for the vfork child of os/exec on the Go init's way, is
// the new process hako's memory and binary; from its first instruction of
// its own it is the sealed trampoline (CVE-2019-5736). The setup child
// exits once the process has executed the trampoline.
func startExecFast(o *ExecOptions, join []specs.LinuxNamespace) (*Init, error) {
	proc := o.Spec.Process
	parentEnd, childEnd, err := sysprog.Pair()
	if err != nil {
		return nil, err
	}
	fds := &fdSet{base: 3 + len(o.ExtraFiles) + 1}
	defer fds.close()
	syncFD, err := fds.high(childEnd)
	childEnd.Close()
	if err != nil {
		unix.Close(parentEnd)
		return nil, err
	}
	p := sysprog.New(syncFD)
	ok, started := false, false
	defer func() {
		if !ok && !started {
			unix.Close(parentEnd) // else the child owns it
		}
	}()
	// The namespaces are opened here, through the host's /proc, and
	// joined by the child.
	nsFDs := make([]int, len(join))
	for i, n := range join {
		f, err := os.OpenFile(n.Path, os.O_RDONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("container's %s namespace %q: %w", n.Type, n.Path, err)
		}
		nsFDs[i], err = fds.high(f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if o := timerslack.Original(); o != 0 {
		p.Call(stepFail("prctl(PR_SET_TIMERSLACK)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_TIMERSLACK), sysprog.Imm(o), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	}
	p.Call(stepFail("prctl(PR_SET_DUMPABLE, 0)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_DUMPABLE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(parentEnd))
	place := func(f *os.File, to int) error {
		from, err := fds.high(f)
		if err != nil {
			return err
		}
		p.Call(nil, unix.SYS_DUP3, sysprog.Imm(from), sysprog.Imm(to), sysprog.Imm(0))
		return nil
	}
	for i, f := range []*os.File{o.Stdin, o.Stdout, o.Stderr} {
		if f == nil {
			f = []*os.File{os.Stdin, os.Stdout, os.Stderr}[i]
		}
		if err := place(f, i); err != nil {
			return nil, err
		}
	}
	for i, f := range o.ExtraFiles {
		if err := place(f, 3+i); err != nil {
			return nil, err
		}
	}
	tramp, err := sysprog.Trampoline(syncFD, -1, true)
	if err != nil {
		return nil, err
	}
	trampFD, err := fds.high(tramp)
	tramp.Close()
	if err != nil {
		return nil, err
	}
	keep := append([]int{syncFD, trampFD}, nsFDs...)
	slices.Sort(keep)
	from := 3 + len(o.ExtraFiles)
	for _, k := range keep {
		if k > from {
			p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(from), sysprog.Imm(k-1), sysprog.Imm(0))
		}
		from = k + 1
	}
	p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(from), sysprog.Imm(^uint(0)), sysprog.Imm(0))

	p.Wait(stepFail("waiting for the cgroup", ""))
	for i, n := range join {
		fail := func(errno syscall.Errno) error {
			return &Error{Step: "joining the container's namespaces", Err: fmt.Errorf("setns(%s): %w", n.Path, errno)}
		}
		p.Call(fail, unix.SYS_SETNS, sysprog.Imm(nsFDs[i]), sysprog.Imm(nsFlags[n.Type]))
		p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(nsFDs[i]))
	}
	if err := security.CompileRlimits(p, proc.Rlimits); err != nil {
		return nil, &Error{Step: "setting rlimits", Err: err}
	}
	var loadSeccomp func(*sysprog.Program)
	if o.Seccomp != nil {
		loadSeccomp = security.CompileSeccomp(o.Seccomp.Filter, o.Seccomp.Flags)
	}
	if loadSeccomp != nil && !proc.NoNewPrivileges {
		loadSeccomp(p)
		loadSeccomp = nil
	}
	if err := security.CompileUser(p, proc.User, proc.Capabilities); err != nil {
		return nil, &Error{Step: "changing user", Err: err}
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
	p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(3+len(o.ExtraFiles)), sysprog.Imm(^uint(0)), sysprog.Imm(unix.CLOSE_RANGE_CLOEXEC))
	p.SetExecFail(func(errno syscall.Errno) error {
		return &Error{Step: "exec", Err: execFailure(proc.Args[0], errno)}
	})
	p.SpawnThrough(stepFail("exec", proc.Args[0]), trampFD, paths, idx, proc.Args, proc.Env)

	started = true // Start owns the parent's end now
	child, err := p.Start(0, parentEnd)
	if err != nil {
		return nil, &Error{Step: "starting the setup of the exec", Err: err}
	}
	fds.close()
	fds.files = nil
	var forked *sysprog.Child
	reaped := false
	defer func() {
		if !ok {
			if forked != nil {
				forked.Signal(syscall.SIGKILL)
				forked.Wait()
			}
			if !reaped {
				child.Signal(syscall.SIGKILL)
				child.Wait()
			}
			child.Close()
		}
		child.KeepAlive() // the child used the program's memory until now
	}()
	if o.JoinCgroup != nil {
		if err := o.JoinCgroup(child.Pid); err != nil {
			if cerr := child.Failed(); cerr != nil {
				return nil, childErr(cerr)
			}
			return nil, err
		}
	}
	if err := child.Continue(); err != nil {
		return nil, childErr(child.Expect('R'))
	}
	// 'R' comes from the trampoline, run by the new process; a failure
	// from either. The child exits once the new process executed the
	// trampoline, or when it failed.
	rerr := child.Expect('R')
	ws, werr := child.Wait()
	reaped = werr == nil
	if f, err := child.Forked(); err == nil {
		forked = f
	}
	switch {
	case rerr != nil:
		return nil, childErr(rerr)
	case werr != nil:
		return nil, werr
	case forked == nil:
		return nil, &Error{Step: "joining the container", Err: errors.New("the setup process reported ready without starting the process")}
	case !ws.Exited() || ws.ExitStatus() != 0:
		return nil, &Error{Step: "joining the container", Err: fmt.Errorf("the setup process ended with %v", ws)}
	}
	if err := child.Done(); err != nil {
		return nil, childErr(err)
	}
	child.Close()
	ok = true
	slog.Debug("exec setup program done", "pid", forked.Pid, "ops", p.Len())
	return &Init{Pid: forked.Pid, proc: forked}, nil
}
