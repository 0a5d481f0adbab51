package spawn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/sysprog"
)

// Options describe one container to start.
type Options struct {
	ID      string
	Bundle  string
	Rootfs  string
	Spec    *specs.Spec
	NoPivot bool
	// ExtraFiles are the --preserve-fds files, in order (fds 3, 4, ...).
	ExtraFiles []*os.File
	// Stdio of the process; nil means the caller's own 0, 1, 2.
	Stdin, Stdout, Stderr *os.File
	// Fifo is the exec fifo, opened O_PATH; nil for no start barrier.
	Fifo *os.File
	// StateJSON is given to createContainer/startContainer hooks.
	StateJSON []byte
	// ApplyCgroup puts the runner (by pid) in its cgroup; called while
	// the runner mounts, before its first cgroup mount.
	ApplyCgroup func(pid int) error
	// PrePivot runs in the parent when the runner's mounts are done and
	// before pivot_root: createRuntime hooks.
	PrePivot func(pid int) error
	// Seccomp is linux.seccomp, compiled; nil when there is no profile.
	Seccomp *seccomp.Program
	// SeccompListener gets the listener of a profile with SCMP_ACT_NOTIFY
	// and the pid of the process it filters, as soon as the filter is
	// loaded (for linux.seccomp.listenerPath); it must hand it on at once:
	// the process may be waiting for an answer.
	SeccompListener func(listener *os.File, pid int) error
}

// ExecOptions describe a process joining a running container.
type ExecOptions struct {
	// Spec holds the process and, for seccomp, linux.seccomp.
	Spec *specs.Spec
	// Namespaces maps namespace type to the path holding the container's
	// namespace (/proc/INIT/ns/...).
	Namespaces            map[string]string
	ExtraFiles            []*os.File
	Stdin, Stdout, Stderr *os.File
	// JoinCgroup moves the runner into the container's cgroup before it
	// joins anything.
	JoinCgroup func(pid int) error
	// Seccomp is the container's linux.seccomp, compiled; nil without one.
	Seccomp *seccomp.Program
	// SeccompListener is Options.SeccompListener for the exec'd process.
	SeccompListener func(listener *os.File, pid int) error
}

// Init is a started container process: the container's init waiting for
// start, or an exec'd process.
type Init struct {
	Pid     int
	Console *os.File // pty master when process.terminal

	proc     *sysprog.Child
	execDone func() error // waits for the execve of the process
	release  func()
}

// Kill sends SIGKILL to the process.
func (in *Init) Kill() error { return in.proc.Signal(syscall.SIGKILL) }

// Signal sends sig to the process; once Wait has reaped it, never to a
// process that reused its pid (it is signalled through a pidfd).
func (in *Init) Signal(sig syscall.Signal) error { return in.proc.Signal(sig) }

// Wait waits for the process to exit (it is hako's child) and reaps it.
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

// Release lets go of the process, without waiting for its execve or its
// exit.
func (in *Init) Release() {
	if in.release != nil {
		in.release()
	}
	in.execDone, in.release = nil, nil
	in.proc.Release()
}

// Error is a failure of the container's setup, with the step that failed.
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

// Start compiles the container's setup, starts a runner with it and
// drives it until the container is ready (waiting for start). On failure
// the runner is killed and reaped; nothing is left.
func Start(o *Options) (_ *Init, err error) {
	s := o.Spec
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Process != nil && len(s.Process.Args) == 0 {
		return nil, errors.New("process.args: empty — hint: name the program to run")
	}
	if err := checkSeccomp(s, o.Seccomp, o.SeccompListener); err != nil {
		return nil, err
	}
	pl, err := compileCreate(o)
	if err != nil {
		return nil, err
	}
	defer pl.close()
	r := chooseRunner(pl.p)
	child, err := pl.start(r)
	if err != nil {
		return nil, err
	}
	if pl.respawn {
		next, err := moved(child, "entering the pid namespace")
		if err != nil {
			return nil, err
		}
		child = next
	}
	proc := child
	in := &Init{Pid: child.Pid, proc: child}
	defer func() {
		if err != nil {
			abandon(child, proc)
			if in.Console != nil {
				in.Console.Close()
			}
		}
		child.KeepAlive() // the raw child used the program's memory until now
	}()
	if pl.userSync {
		if err := pl.userMaps(r, child); err != nil {
			return nil, err
		}
	}
	if s.Process == nil {
		// nothing to adjust
	} else if a := s.Process.OOMScoreAdj; a != nil {
		// Before any spawn: children inherit it.
		path := "/proc/" + strconv.Itoa(child.Pid) + "/oom_score_adj"
		if err := os.WriteFile(path, []byte(strconv.Itoa(*a)), 0); err != nil {
			if cerr := child.Failed(); cerr != nil {
				return nil, childErr(cerr)
			}
			return nil, fmt.Errorf("process.oomScoreAdj %d: %w", *a, err)
		}
	}

	if err := cgroupThenGo(child, o.ApplyCgroup); err != nil {
		return nil, err
	}
	if pl.prePivot {
		if err := child.Expect('P'); err != nil {
			return nil, childErr(err)
		}
		if o.PrePivot != nil {
			if err := o.PrePivot(child.Pid); err != nil {
				return nil, err
			}
		}
		if err := child.Continue(); err != nil {
			return nil, childErr(child.Expect('R'))
		}
	}
	p, console, err := ready(pl, r, child)
	in.Console = console
	if err != nil {
		return nil, err
	}
	proc = p
	in.Pid, in.proc = proc.Pid, proc
	in.execDone = func() error {
		defer child.Close()
		return childErr0(child.Done())
	}
	in.release = func() { child.Close() }
	return in, nil
}

// ready waits until the runner is ready: the pty master first, with a
// terminal; then 'R', from the trampoline run by the process, or a
// failure of either. It returns the process (see spawned).
func ready(pl *plan, r runner, child *sysprog.Child) (proc *sysprog.Child, console *os.File, err error) {
	if pl.console {
		if console, err = child.RecvFD("pty-master"); err != nil {
			return nil, nil, childErr(err)
		}
	}
	if pl.listener != nil {
		// The runner is the process here (an exec with a listener has
		// the Go runner): it goes on to its next notified call, which
		// waits for the agent.
		listener, err := child.RecvFD("seccomp-listener")
		if err != nil {
			return nil, console, childErr(err)
		}
		err = pl.listener(listener, child.Pid)
		listener.Close()
		if err != nil {
			return nil, console, err
		}
	}
	if err := child.Expect('R'); err != nil {
		return nil, console, childErr(err)
	}
	proc, err = spawned(pl, r, child)
	return proc, console, err
}

// spawned is the container's process once the runner reported ready: the
// one the raw child spawned (the raw child has exited then), or the
// runner itself.
func spawned(pl *plan, r runner, child *sysprog.Child) (*sysprog.Child, error) {
	if !pl.spawn || !sysprog.Supported || r.name != rawRunner {
		return child, nil
	}
	ws, err := child.Wait()
	if err != nil {
		return nil, err
	}
	forked, ferr := child.Forked()
	switch {
	case ferr != nil:
		return nil, &Error{Step: "starting the container's process", Err: ferr}
	case !ws.Exited() || ws.ExitStatus() != 0:
		forked.Signal(syscall.SIGKILL)
		forked.Wait()
		return nil, &Error{Step: "starting the container's process", Err: fmt.Errorf("the setup process ended with %v", ws)}
	}
	return forked, nil
}

// moved is the process that goes on with the program after the runner
// child forked or spawned it and exited (Program.Respawn, a Handover with
// spawn).
func moved(child *sysprog.Child, step string) (*sysprog.Child, error) {
	ws, err := child.Wait()
	if err != nil {
		return nil, err
	}
	next, ferr := child.Forked()
	switch {
	case ferr != nil:
		if cerr := child.Failed(); cerr != nil {
			return nil, childErr(cerr)
		}
		return nil, &Error{Step: step, Err: ferr}
	case !ws.Exited() || ws.ExitStatus() != 0:
		next.Signal(syscall.SIGKILL)
		next.Wait()
		return nil, &Error{Step: step, Err: fmt.Errorf("the setup process ended with %v", ws)}
	}
	return next, nil
}

// StartExec starts a process in a running container's namespaces and
// returns once it has executed.
func StartExec(o *ExecOptions) (_ *Init, err error) {
	if err := checkSeccomp(o.Spec, o.Seccomp, o.SeccompListener); err != nil {
		return nil, err
	}
	pl, err := compileExecProcess(o)
	if err != nil {
		return nil, err
	}
	defer pl.close()
	if debugging() {
		for _, n := range pl.ns.join {
			slog.Debug(fmt.Sprintf("setns(%#x) into %s namespace (with path %s)", nsFlags[n.Type], nsFile(n.Type), n.Path))
		}
	}
	r := chooseRunner(pl.p)
	child, err := pl.start(r)
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	proc := child
	var master *os.File
	defer func() {
		if err != nil {
			abandon(child, proc)
			if master != nil {
				master.Close()
			}
		}
		child.KeepAlive()
	}()
	// In the container's cgroup before it joins anything (and before a
	// handover: the Go runner is born there).
	if err := cgroupThenGo(child, o.JoinCgroup); err != nil {
		return nil, err
	}
	if pl.respawn {
		next, err := moved(child, "joining the container's time namespace")
		if err != nil {
			return nil, err
		}
		child = next
		proc = child
	}
	if r.name == goRunner && sysprog.Supported {
		// The raw child spawned the Go runner into the pid namespace.
		next, err := moved(child, "starting the Go runner")
		if err != nil {
			return nil, err
		}
		child = next
		proc = child
	}
	p, console, err := ready(pl, r, child)
	master = console
	if err != nil {
		return nil, err
	}
	proc = p
	// The records after the spawn are the process's to read.
	if err := proc.Done(); err != nil {
		return nil, childErr(err)
	}
	child.Close()
	slog.Debug("exec process started", "pid", proc.Pid)
	return &Init{Pid: proc.Pid, proc: proc, Console: master}, nil
}

// debugging reports whether debug lines are written (--debug), so that
// building them costs nothing otherwise.
func debugging() bool { return slog.Default().Enabled(context.Background(), slog.LevelDebug) }

// abandon kills and reaps what a start that failed began: the process,
// when the runner already handed over to one, and the runner.
func abandon(child, proc *sysprog.Child) {
	if proc != child {
		proc.Signal(syscall.SIGKILL)
		proc.Wait()
	}
	child.Signal(syscall.SIGKILL)
	child.Wait()
	child.Close()
}

// cgroupThenGo puts the runner into its cgroup with apply (nil: none) and
// lets it past its Wait. When apply fails, the runner may have failed
// first (it mounts while the cgroup is made): its reason comes first.
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

// childErr is a runner's failure as an error naming its step.
func childErr(err error) error {
	if err == nil {
		return errors.New("container setup: the setup process stopped without a reason")
	}
	return childErr0(err)
}

func childErr0(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, sysprog.ErrExited) {
		return &Error{Step: "container setup", Err: errors.New("exited before it was ready (see its stderr above)")}
	}
	var se *sysprog.StageError
	if errors.As(err, &se) {
		return &Error{Err: err}
	}
	return &Error{Err: err}
}

// checkSeccomp refuses a profile that was not compiled: the caller compiles
// linux.seccomp before anything is created.
func checkSeccomp(s *specs.Spec, p *seccomp.Program, listener func(*os.File, int) error) error {
	if s.Linux != nil && s.Linux.Seccomp != nil && p == nil {
		return errors.New("linux.seccomp: the profile was not compiled before the container was started (a bug in hako)")
	}
	if notifies(s) && listener == nil {
		return errors.New("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath, the socket of the agent that answers — hint: set it")
	}
	return nil
}

// notifies reports whether linux.seccomp notifies an agent of some system
// call (SCMP_ACT_NOTIFY).
func notifies(s *specs.Spec) bool {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return false
	}
	sc := s.Linux.Seccomp
	if sc.DefaultAction == specs.ActNotify {
		return true
	}
	for _, r := range sc.Syscalls {
		if r.Action == specs.ActNotify {
			return true
		}
	}
	return false
}
