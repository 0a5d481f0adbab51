package containerinit

import (
	"encoding/json"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/initproto"
	"github.com/hako-dev/hako/internal/security"
)

// runExec prepares a process joining a running container (`hako exec`).
// The parent already joined every namespace for it; this sets up the
// process exactly like the container's own: terminal, rlimits, seccomp,
// user and capabilities, cwd, and execs.
func runExec(conn *initproto.Conn, cfg *initproto.Config) error {
	var s specs.Spec
	if err := json.Unmarshal(cfg.Spec, &s); err != nil {
		return step("decoding the process", err)
	}
	if s.Process == nil || len(s.Process.Args) == 0 {
		return step("decoding the process", fmt.Errorf("process.args is empty"))
	}
	if _, _, err := conn.Expect(initproto.KindCgroupReady); err != nil {
		return step("waiting for the cgroup", err)
	}
	if _, err := unix.Setsid(); err != nil {
		return step("setsid", err)
	}
	if s.Process.Terminal {
		if err := setupTerminal(conn, s.Process.ConsoleSize); err != nil {
			return step("setting up the terminal", err)
		}
	}
	if err := security.ApplyRlimits(s.Process.Rlimits); err != nil {
		return step("setting rlimits", err)
	}
	loadSeccomp := func() error { return nil }
	if s.Linux != nil && s.Linux.Seccomp != nil {
		l, err := security.PrepareSeccomp(s.Linux.Seccomp)
		if err != nil {
			return step("compiling the seccomp profile", err)
		}
		loadSeccomp = l
		if !s.Process.NoNewPrivileges {
			if err := l(); err != nil {
				return step("loading the seccomp profile", err)
			}
			loadSeccomp = func() error { return nil }
		}
	}
	if err := security.ChangeUser(s.Process.User, s.Process.Capabilities); err != nil {
		return step("changing user", err)
	}
	if err := enterCwd(s.Process.Cwd); err != nil {
		return step("entering the working directory", err)
	}
	path, err := lookPath(s.Process.Args[0], s.Process.Env)
	if err != nil {
		return step("finding the executable", err)
	}
	if s.Process.NoNewPrivileges {
		if err := security.SetNoNewPrivileges(); err != nil {
			return step("setting no_new_privs", err)
		}
	}
	if err := loadSeccomp(); err != nil {
		return step("loading the seccomp profile", err)
	}
	if err := unix.CloseRange(uint(3+cfg.PreserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return step("closing inherited fds", err)
	}
	if err := conn.Send(&initproto.Message{Kind: initproto.KindReady}); err != nil {
		return err
	}
	err = unix.Exec(path, s.Process.Args, s.Process.Env)
	return step("exec", execError(s.Process.Args[0], path, err))
}
