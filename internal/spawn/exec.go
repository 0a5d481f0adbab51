package spawn

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/initproto"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/spec"
)

// ExecOptions describe a process joining a running container.
type ExecOptions struct {
	// Spec holds the process and, for seccomp, linux.seccomp.
	Spec *specs.Spec
	// Namespaces maps namespace type to the path holding the container's
	// namespace (/proc/INIT/ns/...).
	Namespaces            map[string]string
	ExtraFiles            []*os.File
	Stdin, Stdout, Stderr *os.File
	// JoinCgroup moves the process into the container's cgroup before it
	// runs anything of the user's.
	JoinCgroup func(pid int) error
	// Seccomp is the container's linux.seccomp, compiled; nil without one.
	Seccomp *seccomp.Program
}

// StartExec starts a process in a running container's namespaces and
// returns once it has exec'd. The parent's locked thread joins every
// namespace, the mount namespace last, so the child is never visible in the
// container's pid namespace while it still holds the host's root (CVE-2016-9962
// class); only the user namespace cannot be joined by a multi-threaded Go
// process. The init binary is then found through the container's /proc.
func StartExec(o *ExecOptions) (*Init, error) {
	if err := checkSeccomp(o.Spec, o.Seccomp); err != nil {
		return nil, err
	}
	// The user namespace first: the others belong to it.
	var join []specs.LinuxNamespace
	for _, t := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.CgroupNamespace, specs.IPCNamespace, specs.UTSNamespace,
		specs.NetworkNamespace, specs.PIDNamespace, specs.TimeNamespace, specs.MountNamespace} {
		if p := o.Namespaces[string(t)]; p != "" {
			join = append(join, specs.LinuxNamespace{Type: t, Path: p})
		}
	}
	// The setup program's child is a process of its own (it shares only
	// hako's memory), so it can join a user namespace too.
	err := execFastBlocker(o, join)
	if err == nil {
		return startExecFast(o, join)
	}
	slog.Debug("exec through the Go init", "reason", err)
	if se := (*slowError)(nil); len(join) > 0 && join[0].Type == specs.UserNamespace && errors.As(err, &se) {
		return nil, fmt.Errorf("exec into a container with its own user namespace through the Go init (needed for %s) is not supported yet: a multi-threaded Go process cannot setns into a user namespace", se.reason)
	}
	if o.Namespaces[string(specs.MountNamespace)] != "" && !selfIsStatic() {
		return nil, fmt.Errorf("this hako binary is dynamically linked, so it cannot run inside the container's mount namespace — hint: build it with `make build` (static), or `CGO_ENABLED=0 go build -tags osusergo,netgo ./cmd/hako`")
	}
	specJSON := execSpecJSON(o.Spec)
	ic, err := newInitCmd(o.ExtraFiles, nil, o.Stdin, o.Stdout, o.Stderr)
	if err != nil {
		return nil, err
	}
	defer ic.close()
	cmd, parent, childSock := ic.cmd, ic.parent, ic.childSock
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if err := startJoined(cmd, join); err != nil {
		childSock.Close()
		return nil, err
	}
	childSock.Close()
	in := &Init{Pid: cmd.Process.Pid, proc: osProcess{cmd.Process}}
	ok := false
	defer func() {
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			if in.Console != nil {
				in.Console.Close()
			}
		}
	}()
	cfg := &initproto.Config{Spec: specJSON, Exec: true, PreserveFDs: len(o.ExtraFiles), FifoFD: -1, Seccomp: wireSeccomp(o.Seccomp)}
	if err := parent.Send(&initproto.Message{Kind: initproto.KindConfig, Config: cfg}); err != nil {
		return nil, initFailed(parent, err)
	}
	if o.JoinCgroup != nil {
		if err := o.JoinCgroup(in.Pid); err != nil {
			return nil, err
		}
	}
	if err := parent.Send(&initproto.Message{Kind: initproto.KindCgroupReady}); err != nil {
		return nil, initFailed(parent, err)
	}
	for {
		m, files, err := parent.Recv()
		if err != nil {
			return nil, initFailed(parent, err)
		}
		closeExtra := func() {
			for _, f := range files {
				f.Close()
			}
		}
		switch m.Kind {
		case initproto.KindConsole:
			if len(files) != 1 {
				closeExtra()
				return nil, fmt.Errorf("init protocol: console message without exactly one fd")
			}
			in.Console = files[0]
		case initproto.KindReady:
			closeExtra()
			// The socket is close-on-exec: EOF means execve succeeded; an
			// Error message means it failed.
			m, _, err := parent.Recv()
			if errors.Is(err, initproto.ErrClosed) {
				ok = true
				return in, nil
			}
			if err != nil {
				return nil, err
			}
			if m.Kind == initproto.KindError {
				return nil, fromInfo(m.Error)
			}
			return nil, fmt.Errorf("init protocol: unexpected %s after ready", m.Kind)
		case initproto.KindError:
			closeExtra()
			return nil, fromInfo(m.Error)
		default:
			closeExtra()
			return nil, fmt.Errorf("init protocol: unexpected %s", m.Kind)
		}
	}
}

// execSpecJSON is what the init of an exec needs of the spec: the version
// and the process (linux.seccomp travels compiled, in the Config), encoded
// without encoding/json's cold start (spec.AppendProcessSpec).
func execSpecJSON(s *specs.Spec) []byte {
	return spec.AppendProcessSpec(make([]byte, 0, 1024), s.Version, s.Process)
}
