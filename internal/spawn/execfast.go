package spawn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

// execFastBlocker says why an exec needs the Go init, or nil.
func execFastBlocker(o *ExecOptions, join []specs.LinuxNamespace) error {
	switch {
	case !sysprog.Supported:
		return slow("no setup programs on this architecture")
	case os.Getenv("HAKO_INIT") == "go":
		return slow("HAKO_INIT=go")
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
	su, err := newSetup(len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	defer su.close()
	p, fds, syncFD := su.p, su.fds, su.syncFD
	ok := false
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
	stdio := []*os.File{orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)}
	if err := placeFiles(p, fds, stdio, o.ExtraFiles); err != nil {
		return nil, err
	}
	session := sysprog.NewSession
	if proc.Terminal {
		session = sysprog.NewSessionTTY
	}
	tramp, err := sysprog.Trampoline(syncFD, -1, session, nil)
	if err != nil {
		return nil, err
	}
	trampFD, err := fds.high(tramp)
	tramp.Close()
	if err != nil {
		return nil, err
	}
	closeInherited(p, 3+len(o.ExtraFiles), append([]int{syncFD, trampFD}, nsFDs...))

	p.Wait(stepFail("waiting for the cgroup", ""))
	for i, n := range join {
		fail := func(errno syscall.Errno) error {
			return &Error{Step: "joining the container's namespaces", Err: fmt.Errorf("setns(%s): %w", n.Path, errno)}
		}
		p.Call(fail, unix.SYS_SETNS, sysprog.Imm(nsFDs[i]), sysprog.Imm(nsFlags[n.Type]))
		p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(nsFDs[i]))
		if n.Type == specs.UserNamespace {
			// Become the container's root (when it has one) before
			// anything is made: the terminal's pty belongs to its opener.
			// The user's own ids come last, from process.user.
			p.Call(stepFail("becoming root in the container's user namespace", ""), unix.SYS_SETRESGID, sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
			p.Tolerate(unix.EINVAL)
			p.Call(stepFail("becoming root in the container's user namespace", ""), unix.SYS_SETRESUID, sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
			p.Tolerate(unix.EINVAL)
		}
	}
	if proc.Terminal {
		compileTerminal(p, proc.ConsoleSize)
	}
	paths, idx, err := compileProcess(p, proc, o.Seccomp, len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	p.SpawnThrough(stepFail("exec", proc.Args[0]), trampFD, paths, idx, proc.Args, proc.Env)

	child, err := su.start(0)
	if err != nil {
		return nil, &Error{Step: "starting the setup of the exec", Err: err}
	}
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
	if err := cgroupThenGo(child, o.JoinCgroup); err != nil {
		return nil, err
	}
	var master *os.File
	if proc.Terminal {
		if master, err = child.RecvFD("pty-master"); err != nil {
			return nil, childErr(err)
		}
		defer func() {
			if !ok {
				master.Close()
			}
		}()
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
	return &Init{Pid: forked.Pid, proc: forked, Console: master}, nil
}

// compileTerminal makes the child open a pty in the container's devpts
// (its /dev/ptmx, after the mount namespace was joined), unlock it, size
// it, send the master to the parent and put the slave on fds 0, 1 and 2;
// the trampoline makes it the controlling terminal of the new session.
func compileTerminal(p *sysprog.Program, size *specs.Box) {
	fail := stepFail("setting up the terminal", "opening /dev/ptmx in the container (is /dev/pts mounted with newinstance and ptmxmode=0666?)")
	m := p.Result(fail, unix.SYS_OPENAT, sysprog.Imm(^uintptr(99)), p.Str("/dev/ptmx"), sysprog.Imm(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC), sysprog.Imm(0))
	p.Call(stepFail("setting up the terminal", "unlocking the pty"), unix.SYS_IOCTL, sysprog.R(m), sysprog.Imm(unix.TIOCSPTLCK), p.Buffer(4))
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		p.Call(stepFail("setting up the terminal", "process.consoleSize"), unix.SYS_IOCTL, sysprog.R(m), sysprog.Imm(unix.TIOCSWINSZ), sysprog.Value(p, ws))
	}
	slave := p.Result(stepFail("setting up the terminal", "opening the pty's slave"), unix.SYS_IOCTL, sysprog.R(m), sysprog.Imm(unix.TIOCGPTPEER), sysprog.Imm(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	p.SendFD(stepFail("setting up the terminal", "sending the pty master"), m)
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(m))
	for fd := 0; fd <= 2; fd++ {
		p.Call(stepFail("setting up the terminal", "dup2 of the pty"), unix.SYS_DUP3, sysprog.R(slave), sysprog.Imm(fd), sysprog.Imm(0))
	}
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(slave))
}
