package containerinit

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/initproto"
	"github.com/hako-dev/hako/internal/validate"
)

// runExec prepares a process joining a running container (`hako exec`).
// The parent already joined every namespace for it; this sets up the
// process exactly like the container's own: terminal, rlimits, seccomp,
// user and capabilities, cwd, and execs.
func runExec(conn *initproto.Conn, cfg *initproto.Config) error {
	s, err := validate.Decode(cfg.Spec)
	if err != nil {
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
	var sc *specs.LinuxSeccomp
	if s.Linux != nil {
		sc = s.Linux.Seccomp
	}
	path, loadSeccomp, err := prepareProcess(s.Process, sc, cfg.Seccomp)
	if err != nil {
		return err
	}
	if err := lockDown(s.Process, loadSeccomp, cfg.PreserveFDs); err != nil {
		return err
	}
	if err := conn.Send(&initproto.Message{Kind: initproto.KindReady}); err != nil {
		return err
	}
	err = unix.Exec(path, s.Process.Args, s.Process.Env)
	return step("exec", execError(s.Process.Args[0], path, err))
}
