package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/spawn"
	"github.com/hako-dev/hako/internal/state"
)

// ExecOptions are the flags of `exec`.
type ExecOptions struct {
	Process       *specs.Process
	Detach        bool
	PidFile       string
	ConsoleSocket string
	PidfdSocket   string // receives a pidfd of the process (runc's --pidfd-socket)
	PreserveFDs   int
	IgnorePaused  bool
	// SubCgroups places the process in sub-cgroups of the container's
	// (--cgroup): a v1 controller, or "" for every hierarchy, to a path
	// below the container's cgroup.
	SubCgroups map[string]string
}

// DefaultProcess returns the container's own process settings, the base
// that `exec` flags change.
func (r *Runtime) DefaultProcess(id string) (*specs.Process, error) {
	c, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	s, err := c.spec()
	if err != nil {
		return nil, err
	}
	if s.Process == nil {
		return &specs.Process{Cwd: "/"}, nil
	}
	p := *s.Process
	p.Terminal = false
	p.ConsoleSize = nil
	return &p, nil
}

// Exec runs another process in a running container. In the foreground it
// returns the process's exit code (128+N when killed by signal N).
func (r *Runtime) Exec(id string, o ExecOptions) (int, error) {
	sigc, stop, err := catchSignals(!o.Detach)
	if err != nil {
		return -1, err
	}
	defer stop()
	c, err := r.Load(id)
	if err != nil {
		return -1, err
	}
	switch c.Status {
	case state.Running, state.Created:
	case state.Paused:
		if !o.IgnorePaused {
			return -1, &StateError{ID: id, Status: c.Status, Op: "exec in", Hint: "resume it first (`hako resume " + id + "`) or pass --ignore-paused"}
		}
	default:
		return -1, &StateError{ID: id, Status: c.Status, Op: "exec in", Hint: "only a running container can run more processes"}
	}
	if o.Process == nil || len(o.Process.Args) == 0 {
		return -1, fmt.Errorf("exec: no command given — usage: hako exec ID COMMAND [ARGS...]")
	}
	if err := checkPidFileDir(o.PidFile); err != nil {
		return -1, err
	}
	if o.Process.Terminal && o.Detach && o.ConsoleSocket == "" {
		return -1, fmt.Errorf("exec: --tty with --detach needs --console-socket to receive the terminal")
	}
	cs, err := c.spec()
	if err != nil {
		return -1, err
	}
	// An exec'd process has the container's filter, execution domain
	// and memory policy.
	proc := *o.Process
	if proc.Env, err = processEnv("exec: the environment", proc.Env, proc.User.UID, c.Rootfs, cs.Mounts); err != nil {
		return -1, err
	}
	ps := &specs.Spec{Version: cs.Version, Process: &proc}
	if l := cs.Linux; l != nil {
		ps.Linux = &specs.Linux{Seccomp: l.Seccomp, Personality: l.Personality, MemoryPolicy: l.MemoryPolicy}
	}
	prog, err := r.compileSeccomp(ps)
	if err != nil {
		return -1, fmt.Errorf("exec in container %q: %w", id, err)
	}
	cg, err := c.cgroup()
	if err != nil {
		return -1, err
	}
	if cg == nil && len(o.SubCgroups) > 0 {
		return -1, fmt.Errorf("exec --cgroup: container %q has no cgroup of its own to have sub-cgroups", id)
	}
	extra, err := preservedFiles(o.PreserveFDs)
	if err != nil {
		return -1, err
	}
	if !c.InitAlive() {
		return -1, fmt.Errorf("container %q: %w", id, ErrNotRunning)
	}
	join := func(pid int) error {
		if cg == nil {
			return nil
		}
		return cg.JoinSub(pid, o.SubCgroups) // (none: the container's own)
	}
	// In a paused container (--ignore-paused) a runner that joined the
	// frozen cgroup first would freeze before its program starts, and
	// hako with it: the process joins once it runs, and freezes there.
	frozen := c.Status == state.Paused
	early := join
	if frozen {
		early = nil
	}
	in, err := spawn.StartExec(&spawn.ExecOptions{
		Spec: ps, Namespaces: c.Namespaces, ExtraFiles: extra, Seccomp: prog,
		SeccompListener: seccompAgent(ps, c.Container, c.Status),
		JoinCgroup:      early,
	})
	if err != nil {
		return -1, fmt.Errorf("exec in container %q: %w", id, err)
	}
	if frozen {
		if err := join(in.Pid); err != nil {
			in.Kill()
			in.Wait()
			return -1, fmt.Errorf("exec in container %q: %w", id, err)
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, in.Pid); err != nil {
			in.Kill()
			in.Wait()
			return -1, err
		}
	}
	if o.PidfdSocket != "" {
		if err := sendPidfd(o.PidfdSocket, in.Pid); err != nil {
			in.Kill()
			in.Wait()
			return -1, err
		}
	}
	if in.Console != nil && o.ConsoleSocket != "" {
		err := sendConsole(o.ConsoleSocket, in.Console)
		in.Console.Close()
		in.Console = nil
		if err != nil {
			in.Kill()
			in.Wait()
			return -1, err
		}
	}
	if o.Detach {
		in.Release()
		return 0, nil
	}
	return foreground(in, sigc).code(), nil
}
